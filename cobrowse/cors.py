"""Cross-origin access for the widget's few HTTP calls (grant refresh, Stop sharing, the survey,
the signature check of ``Tandem.init`` under ``/api/widget/``).

The widget runs on the customer's own site and calls ``/api/cobrowse/...`` with an
``X-Tandem-Grant`` header. Only origins that some customer account lists (or the deployment's
``TANDEM_WIDGET_ORIGINS``) get CORS headers; no cookies are ever allowed cross-origin, so the
grant header (or a capability in the URL) is the only credential these calls carry.

Apps above the core whose URLs the widget also calls register them with :func:`allow_widget_path`
from their ``AppConfig.ready`` (the survey's answer, in outcomes): this module never names them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

#: The widget's own namespaces: the session API and the calls made before any session (identify).
WIDGET_PATH_PREFIXES = ("/api/cobrowse/", "/api/widget/")
_CACHE_KEY = "cors:widget-origins"
_CACHE_SECONDS = 60
_extra_paths: list[re.Pattern[str]] = []


def allow_widget_path(pattern: str) -> None:
    """Let the widget call paths matching ``pattern`` (a regular expression, matched in full)."""
    if all(p.pattern != pattern for p in _extra_paths):
        _extra_paths.append(re.compile(pattern))


def is_widget_path(path: str) -> bool:
    return path.startswith(WIDGET_PATH_PREFIXES) or any(p.fullmatch(path) for p in _extra_paths)


def widget_origins() -> frozenset[str]:
    """Every origin a customer account allows, plus the configured ones (cached for a minute)."""
    cached = cache.get(_CACHE_KEY)
    if cached is not None:
        return frozenset(cached)
    from accounts.models import CustomerAccount
    from cobrowse.policy import origin_of

    origins = {o.rstrip("/").lower() for o in settings.TANDEM_WIDGET_ORIGINS}
    for listed in CustomerAccount.objects.values_list("allowed_origins", flat=True):
        for origin in listed or []:
            origins.add(origin_of(origin) or origin.rstrip("/").lower())
    origins.discard("")
    cache.set(_CACHE_KEY, sorted(origins), _CACHE_SECONDS)
    return frozenset(origins)


class WidgetCorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        origin = request.headers.get("Origin", "")
        applies = is_widget_path(request.path) and origin and origin.rstrip("/").lower() in widget_origins()
        if applies and request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Methods"] = "GET, POST, DELETE, OPTIONS"
            response["Access-Control-Allow-Headers"] = "Content-Type, X-Tandem-Grant"
            response["Access-Control-Max-Age"] = "600"
        else:
            response = self.get_response(request)
        if applies:
            response["Access-Control-Allow-Origin"] = origin
            response["Vary"] = "Origin"
        return response
