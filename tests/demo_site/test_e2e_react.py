"""The demo site's React page (``/react``) in real Chromium: ``<TandemProvider>`` starts the widget
(it adds the loader itself), ``<TandemIndicator/>`` says idle, the page's Get help button (on
``useTandemSession().start``) is the prompt's Get help; with a co-browse link the indicator follows
the consent card, Allow, and the page's own Stop sharing. The page is served with a ``script-src``
policy without ``'unsafe-inline'`` or ``'unsafe-eval'`` (a violation would be a console error);
axe finds nothing serious."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from cobrowse.models import CoBrowseSession, SessionState
from tests.a11y import assert_accessible
from tests.cobrowse.test_e2e_device_consent import _agent_decides_on_the_link, _setup
from tests.cobrowse.test_e2e_live import session_state, wait_until
from tests.live_server import CONSENT_CARD_FOCUSED, answer_consent_card

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("built_bundles"),
]

HEAR_HELP = """
window.__help = [];
document.addEventListener("tandem:help-requested", (e) => window.__help.push(e.detail));
"""
INDICATOR = "#tandem-indicator [role=status]"


def open_react_page(browser, demo_site: str, hash_: str = ""):
    """/react in a fresh context, collecting console errors (a CSP violation is one) and requests."""
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.add_init_script(HEAR_HELP)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    with page.expect_response(f"{demo_site}/react") as served:
        page.goto(f"{demo_site}/react{hash_}")
    policy = served.value.headers["content-security-policy"]
    assert "script-src 'self' http://" in policy and "unsafe" not in policy
    return context, page, errors, requests


def indicator(page) -> tuple[str, str]:
    node = page.locator(INDICATOR)
    return node.get_attribute("data-tandem-state") or "", node.inner_text()


def test_the_react_page_starts_the_widget_and_get_help_asks(browser, live_server_asgi, demo_site):
    base = live_server_asgi.url
    context, page, errors, requests = open_react_page(browser, demo_site)
    try:
        page.wait_for_selector(INDICATOR, timeout=10000)
        assert indicator(page) == ("idle", "Help is available")
        assert page.get_attribute(INDICATOR, "aria-live") == "polite"
        # The provider added the loader (the page has no snippet), which took the queued options
        # and, with help on, loaded the triggers.
        page.wait_for_function("() => !!window.TandemTriggers", timeout=10000)
        tandem_paths = [urlsplit(u).path for u in requests if u.startswith(base)]
        assert tandem_paths == ["/static/dist/tandem-loader.js", "/static/dist/tandem-triggers.js"]
        assert page.evaluate("() => window.Tandem.options.site") == "acme-home-loans"
        assert (
            page.evaluate("() => document.querySelectorAll('script[src$=\"tandem-loader.js\"]').length") == 1
        )
        assert_accessible(page, name="the React page, idle")

        page.fill("#contact-name", "Priya Raman")
        page.click("#get-help")
        page.wait_for_function("() => window.__help.length === 1")
        assert page.evaluate("window.__help[0]") == {"trigger": "button", "field": "", "completion": 50}
        page.wait_for_function(
            f"() => document.querySelector('{INDICATOR}').dataset.tandemState === 'asking'"
        )
        assert indicator(page)[1] == "Waiting for your answer before anything is shared"
        assert page.is_disabled("#get-help")  # asking once is enough
        assert errors == []
    finally:
        context.close()


def test_the_indicator_follows_a_co_browse_link_through_allow_and_the_page_own_stop(
    browser, live_server_asgi, demo_site
):
    base = live_server_asgi.url
    session, token, _ticket = _setup(demo_site, "react")
    pasted = _agent_decides_on_the_link(browser, base, token)
    grant_hash = "#" + pasted.split("#", 1)[1]
    context, page, errors, _requests = open_react_page(browser, demo_site, grant_hash)
    try:
        page.wait_for_function(CONSENT_CARD_FOCUSED, timeout=10000)
        page.wait_for_function(
            f"() => document.querySelector('{INDICATOR}').dataset.tandemState === 'asking'"
        )

        answer_consent_card(page)
        page.wait_for_selector("[data-tandem=badge]", state="attached", timeout=10000)
        page.wait_for_function(
            f"() => document.querySelector('{INDICATOR}').dataset.tandemState === 'sharing'"
        )
        assert indicator(page)[1] == "Sharing this page with support"
        wait_until(page, lambda: session_state(session.pk) == SessionState.ACTIVE, message="active")
        assert_accessible(page, name="the React page, sharing")

        page.click("#stop-sharing")  # the React app's own button, not the badge's
        page.wait_for_function(f"() => document.querySelector('{INDICATOR}').dataset.tandemState === 'ended'")
        assert indicator(page)[1] == "Sharing has ended — nothing more is sent"
        wait_until(page, lambda: session_state(session.pk) == SessionState.REVOKED, message="revoked")
        assert CoBrowseSession.objects.get(pk=session.pk).end_reason
        assert errors == []
    finally:
        context.close()
