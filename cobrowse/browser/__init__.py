"""The URL guard of the server-side browser (``urlguard``), kept in the core as pure policy.

The browser itself (runner, egress proxy, viewer, API) is the ``browser`` app; see
``urlguard``'s docstring for why the rule stays here.
"""
