"""Site-wide views that belong to no app."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.views.decorators.http import require_safe


@require_safe
def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers, bookmarks and link previews ask for /favicon.ico whatever a page's <link rel=icon>
    says; without an answer every such request logged a 404. It is Tandem's mark (SVG)."""
    return HttpResponsePermanentRedirect(static("img/tandem-mark.svg"))
