"""The API's one translation of the services' exceptions into responses.

``REST_FRAMEWORK["EXCEPTION_HANDLER"]`` points here, so views let the services' exceptions
propagate instead of each app shaping its own errors. The shapes:

- a ``ValidationError`` with field errors → 400 ``{field: [messages]}`` (``__all__`` becomes
  ``non_field_errors``), as DRF's serializers answer;
- any other ``ValidationError`` → ``{"detail", "code"}``, 409 when the code says the request
  conflicts with the current state, 400 otherwise;
- a refusal that carries its own status and code (:class:`Refused`, or an app's exception
  registered with :func:`translate`) → ``{"detail", "code"}`` with that status;
- Django's ``PermissionDenied`` → 403 ``{"detail"}`` with its own message (DRF alone would replace
  it with a generic one), plus its ``code`` when it has one;
- an unreachable database (``OperationalError``, ``InterfaceError``: restarting, failing over) →
  503 ``{"detail", "code": "unavailable"}``, as pages outside DRF answer (config/unavailable.py);
Everything else is DRF's default handler (its own exceptions, ``Http404``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import InterfaceError, OperationalError
from rest_framework import exceptions, status
from rest_framework.exceptions import ErrorDetail
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

#: Codes of a ValidationError that mean "not now, given the current state" (409), not "bad input".
CONFLICT_CODES = frozenset(
    {
        "session_exists",
        "illegal_transition",
        "not_live",
        "not_pending",
        "request_pending",
        "not_invited",
        "ticket_closed",
    }
)

Translator = Callable[[Any], exceptions.APIException]
_translators: dict[type[BaseException], Translator] = {}


class Refused(exceptions.APIException):
    """A refusal rendered as ``{"detail", "code"}`` with its status."""

    def __init__(self, message: str, code: str, status_code: int) -> None:
        super().__init__()
        self.status_code = status_code
        self.detail = {"detail": ErrorDetail(message, code), "code": ErrorDetail(code, code)}


def translate(exc_type: type[BaseException]) -> Callable[[Translator], Translator]:
    """Register how an app's own exception type becomes an API error (most specific type wins)."""

    def register(translator: Translator) -> Translator:
        _translators[exc_type] = translator
        return translator

    return register


UNAVAILABLE = "The service is temporarily unavailable: try again in a moment."


def to_api_exception(exc: BaseException) -> BaseException:
    if isinstance(exc, OperationalError | InterfaceError):
        return Refused(UNAVAILABLE, "unavailable", status.HTTP_503_SERVICE_UNAVAILABLE)
    for klass in type(exc).__mro__:
        if klass in _translators:
            return _translators[klass](exc)
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return exceptions.ValidationError(
                {
                    (api_settings.NON_FIELD_ERRORS_KEY if field == "__all__" else field): messages
                    for field, messages in exc.message_dict.items()
                }
            )
        code = exc.code or "invalid"
        conflict = code in CONFLICT_CODES
        return Refused(
            " ".join(exc.messages),
            code,
            status.HTTP_409_CONFLICT if conflict else status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, PermissionDenied):
        refusal_code = getattr(exc, "code", None)
        if refusal_code:
            return Refused(str(exc) or "Not allowed.", str(refusal_code), status.HTTP_403_FORBIDDEN)
        return exceptions.PermissionDenied(str(exc) or None)
    return exc


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """``REST_FRAMEWORK["EXCEPTION_HANDLER"]``."""
    translated = to_api_exception(exc)
    return drf_exception_handler(translated if isinstance(translated, Exception) else exc, context)
