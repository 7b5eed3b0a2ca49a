"""A 503 instead of a 500 while the database is unreachable (restarting, failing over).

An unreachable database is not a bug of the request: the page says to try again in a moment
(``503.html``) and the API answers its one error shape ``{"detail", "code": "unavailable"}``, both
with ``Retry-After``. Connections recover by themselves once the database is back (the pool
checks a connection before handing it out, ``DATABASES[...]["OPTIONS"]["pool"]["check"]``).

Two ways in: :class:`DatabaseUnavailableMiddleware` for what a view raises (with DEBUG on too, ahead
of the product error pages), and :func:`server_error` (``handler500``) for what Django turns into
a 500 anywhere else, such as a middleware reading the session. DRF views answer through
``accounts.api_errors``, which translates the same errors.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.views import defaults

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
DETAIL = "The service is temporarily unavailable: try again in a moment."


def database_unavailable(exception: BaseException | None) -> bool:
    """A lost or refused database connection (a pool timeout is an OperationalError too)."""
    return isinstance(exception, OperationalError | InterfaceError)


def unavailable_response(request: HttpRequest) -> HttpResponse:
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": DETAIL, "code": "unavailable"}, status=503)
    else:
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """A view that failed because the database is unreachable answers 503, never a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not database_unavailable(exception):
            return None
        logger.warning("database unavailable: 503 for %s %s", request.method, request.path)
        return unavailable_response(request)


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """``handler500``: the 503 when the error being handled is an unreachable database."""
    if database_unavailable(sys.exc_info()[1]):
        return unavailable_response(request)
    return defaults.server_error(request, template_name)
