"""Content-Security-Policy: one policy for every Tandem page, a stricter one where customer content
is rebuilt (the live console, a team member's watch page, recording replays, the screencast viewer).

django-csp 4 writes the header; this middleware only chooses the policy by the URL's name, so the
views stay unaware of it. The policies themselves are in settings (``CONTENT_SECURITY_POLICY`` and
``TANDEM_CSP_STRICT``), read on every response.

Why the strict pages allow inline *styles*: rrweb rebuilds the customer's page inside an
``about:blank`` iframe, which inherits this page's policy, and the customer's styles become inline
``<style>`` elements and ``style`` attributes there. Scripts stay ``'self'`` only (the replay iframe
is sandboxed without scripts anyway), and images, fonts and styles come only from Tandem itself and
``TANDEM_CSP_REPLAY_SOURCES``. Tandem's own URLs inside replayed content are neutralised before
rrweb sees them (frontend/replay/tandem_urls.js): a policy cannot tell Tandem's images from those of
a customer page served over the same scheme.
"""

from __future__ import annotations

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

# URL names (namespace:name) of the pages that rebuild customer content.
STRICT_VIEWS = frozenset(
    {
        "console:live",
        "consent:watch",
        "recordings:detail",
        "recordings:customer_copy",
        "browser-viewer",
    }
)


# Pages whose form posts end on the customer's own page: the consent screen, and the portal ticket
# and "You are sharing" pages with Resume sharing.
REDIRECTING_FORMS = frozenset({"consent:join", "tickets:portal_ticket", "cobrowse:sharing"})


def _sources(*values: str) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def page_overrides(view_name: str) -> dict[str, list[str]] | None:
    """Directives that replace the site-wide ones on this page, or None for the site-wide policy."""
    replay = list(settings.TANDEM_CSP_REPLAY_SOURCES)
    if view_name in STRICT_VIEWS:
        return {key: list(value) for key, value in settings.TANDEM_CSP_STRICT.items()} | {
            # data: everywhere: what a blocked Tandem URL becomes (frontend/replay/tandem_urls.js).
            "style-src": _sources("'self'", "'unsafe-inline'", "data:", *replay),
            "img-src": _sources("'self'", "data:", "blob:", *replay),
            "font-src": _sources("'self'", "data:", *replay),
            "media-src": _sources("data:", *replay),
        }
    if view_name in REDIRECTING_FORMS:
        # Consenting, and Resume sharing, redirect the form post to the customer's own page
        # (form-action applies to it).
        return {"form-action": _sources("'self'", *replay)}
    if view_name == "api-docs":
        # Swagger UI (static files, its script split out) sets inline styles.
        return {"style-src": ["'self'", "'unsafe-inline'"]}
    return None


class TandemCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, with the page's own overrides merged over the site-wide policy."""

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        match = getattr(request, "resolver_match", None)
        overrides = page_overrides(match.view_name) if match is not None and not report_only else None
        if overrides:
            parts.replace = {**overrides, **(parts.replace or {})}  # a view's own decorator wins
        return parts
