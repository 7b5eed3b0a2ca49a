"""The server-side browser: Chromium driven by Playwright for pages the customer cannot instrument.

Egress control: ``cobrowse.browser.urlguard`` decides what may be reached (pure URL and address
policy, kept in the core so forms and API serializers anywhere can use it), ``egress_proxy`` is the
browser's only way out and enforces that decision on every request and resolved address, and
``launch`` holds the Playwright options that leave the proxy as the only way out (docs/egress.md).
"""
