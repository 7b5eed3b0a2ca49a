"""The API's one exception handler: each kind of service error has one shape, in every app."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from accounts import api_errors


class _Custom(Exception):
    pass


@api_errors.translate(_Custom)
def _custom(exc: _Custom) -> api_errors.Refused:
    return api_errors.Refused("custom refusal", "custom", 418)


class _Coded(PermissionDenied):
    code = "own_request"


def _respond(exc: Exception):
    class Raising(APIView):
        permission_classes = [AllowAny]
        authentication_classes: list = []

        def get(self, request):
            raise exc

    return Raising.as_view()(APIRequestFactory().get("/"))


@pytest.mark.parametrize(
    ("exc", "status", "body"),
    [
        (
            ValidationError({"start_url": ["Enter a web address."], "__all__": ["Pick one."]}),
            400,
            {"start_url": ["Enter a web address."], "non_field_errors": ["Pick one."]},
        ),
        (ValidationError("Bad input.", code="bad"), 400, {"detail": "Bad input.", "code": "bad"}),
        (ValidationError("Not without a link."), 400, {"detail": "Not without a link.", "code": "invalid"}),
        (
            ValidationError("The session is not live.", code="not_live"),
            409,
            {"detail": "The session is not live.", "code": "not_live"},
        ),
        (PermissionDenied("Only managers approve."), 403, {"detail": "Only managers approve."}),
        (_Coded("Another manager must."), 403, {"detail": "Another manager must.", "code": "own_request"}),
        (_Custom(), 418, {"detail": "custom refusal", "code": "custom"}),
    ],
)
def test_each_service_error_has_one_shape(exc, status, body):
    response = _respond(exc)
    assert response.status_code == status
    assert response.data == body


def test_anything_else_is_left_to_drf():
    with pytest.raises(ZeroDivisionError):
        _respond(ZeroDivisionError())


def test_the_project_uses_it(settings):
    assert settings.REST_FRAMEWORK["EXCEPTION_HANDLER"] == "accounts.api_errors.exception_handler"
