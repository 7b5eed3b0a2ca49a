"""The product's own 403, 404 and 500 pages, with DEBUG on as well as off.

With DEBUG off Django already renders ``403.html``, ``404.html`` and ``500.html`` through its
default handlers. With DEBUG on it shows its technical pages instead: a 404 lists every URL pattern
of the project (and a customer opening another customer's ticket gets a 404), a 500 shows settings
and local variables. This middleware answers those cases with the same default views
(``django.views.defaults``) that serve the product pages with DEBUG off, in every mode. With DEBUG off
it does nothing: Django's own handling is already the product's.

It sits after ``CommonMiddleware`` so that a path missing its slash is still redirected
(``APPEND_SLASH`` acts on the 404 this returns).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, get_resolver
from django.utils.log import log_response
from django.views import defaults

security_logger = logging.getLogger("django.security")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler404``: the product page, or under ``/api/`` the API's own error shape.

    A path no API pattern matches (an id that is not a number, say) is still an API answer: a
    client reading ``{"detail", "code"}`` must not get an HTML page.
    """
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)


class ProductErrorPagesMiddleware:
    """Render the product error pages where DEBUG would show Django's technical ones."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.DEBUG:
            # A path no pattern matches never reaches process_exception: Django turns the
            # Resolver404 into its technical page before any middleware sees an exception.
            try:
                get_resolver(getattr(request, "urlconf", None)).resolve(request.path_info)
            except Resolver404 as exc:
                return self._not_found(request, exc)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not settings.DEBUG:
            return None
        if isinstance(exception, Http404):
            return self._not_found(request, exception)
        if isinstance(exception, PermissionDenied):
            response: HttpResponse = defaults.permission_denied(request, exception)
            path = request.path
            log_response("Forbidden (Permission denied): %s", path, response=response, request=request)
            return response
        if isinstance(exception, SuspiciousOperation | BadRequest):
            if isinstance(exception, SuspiciousOperation):
                security_logger.error("%s: %s", type(exception).__name__, request.path)
            response = defaults.bad_request(request, exception)
            log_response("Bad request: %s", request.path, response=response, request=request)
            return response
        response = defaults.server_error(request)
        reason, path = response.reason_phrase, request.path
        log_response("%s: %s", reason, path, response=response, request=request, exception=exception)
        return response

    @staticmethod
    def _not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
        response = page_not_found(request, exception)
        log_response("Not Found: %s", request.path, response=response, request=request)
        return response
