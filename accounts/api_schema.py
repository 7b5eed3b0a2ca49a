"""The OpenAPI schema documents the error answers every API view can give, not only its successes.

One exception handler (:mod:`accounts.api_errors`) shapes the errors of every app, so the schema
can say which ones an operation may return from what the view is: a view that needs a signed-in
user answers 403 (and 401 when its first authenticator asks for credentials), one with a path
parameter 404 when the object is unknown or not the caller's, one that reads input 400, one that
reads a body 415 for a media type it has no parser for, a write on an object 409 when the object
is not in a state for it (``CONFLICT_CODES``), and a throttled view 429. A view's own
``extend_schema(responses=...)`` still wins for the codes it names.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import Direction, OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny

#: ``{"detail", "code"}``: every error but a validation error with field errors.
ERROR_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "required": ["detail"],
}
#: 400: ``{field: [messages]}`` from a serializer, or ``{"detail", "code"}``.
BAD_REQUEST_BODY: dict[str, Any] = {"type": "object", "additionalProperties": True}


class ApiErrorSerializer(serializers.Serializer):
    """``{"detail", "code"}`` (``accounts.api_errors``), for views that name their refusals."""

    detail = serializers.CharField()
    code = serializers.CharField(required=False)


def error(description: str) -> OpenApiResponse:
    """An error answer for ``extend_schema(responses={...})``."""
    return OpenApiResponse(ApiErrorSerializer, description=description)


DESCRIPTIONS = {
    "400": "Invalid input: {field: [messages]} or {detail, code}",
    "401": "No valid credentials",
    "403": "Not allowed: {detail, code?}",
    "404": "Unknown, or not visible to the caller",
    "409": "Not in a state for this: {detail, code}",
    "415": "A body in a media type the operation does not read",
    "429": "Too many requests",
}
#: A 400 for ``extend_schema(responses={...})``: field errors or ``{"detail", "code"}``.
INVALID = OpenApiResponse(OpenApiTypes.OBJECT, description=DESCRIPTIONS["400"])
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _error(code: str) -> dict[str, Any]:
    body = BAD_REQUEST_BODY if code == "400" else ERROR_BODY
    return {"description": DESCRIPTIONS[code], "content": {"application/json": {"schema": body}}}


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's schema, plus the error answers the view's shape implies."""

    def _get_response_bodies(self, direction: Direction = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._error_codes():
            responses.setdefault(code, _error(code))
        return responses

    def _error_codes(self) -> list[str]:
        codes = []
        has_path_parameter = "{" in self.path
        if self.method in UNSAFE or self._reads_query():
            codes.append("400")
        if self._needs_credentials():
            codes.append("403")
            if self._asks_for_credentials():
                codes.append("401")
        if has_path_parameter:
            codes.append("404")
        if has_path_parameter and self.method in UNSAFE:
            codes.append("409")
        if self.method in UNSAFE and self._get_request_body() is not None:
            codes.append("415")
        if getattr(self.view, "throttle_classes", None):
            codes.append("429")
        return codes

    def _reads_query(self) -> bool:
        return bool(
            self.get_override_parameters()
            or self._get_filter_parameters()
            or self._get_pagination_parameters()
        )

    def _needs_credentials(self) -> bool:
        return not all(isinstance(p, AllowAny) for p in self.view.get_permissions())

    def _asks_for_credentials(self) -> bool:
        """DRF answers 401 (not 403) when the first authenticator names a scheme to use."""
        authenticators = self.view.get_authenticators()
        if not authenticators:
            return False
        try:
            return bool(authenticators[0].authenticate_header(None))  # type: ignore[arg-type]
        except Exception:  # an authenticator that reads the request: assume it may ask
            return True
