"""An unreachable database is a 503 (page or API shape), never a 500; other errors stay 500s."""

from __future__ import annotations

import json

from django.db import OperationalError
from django.test import RequestFactory

from config.unavailable import DatabaseUnavailableMiddleware, server_error


def _raised(exc: Exception, path: str):
    request = RequestFactory().get(path)
    try:
        raise exc
    except Exception:
        return server_error(request)  # as Django calls handler500: inside the except block


def test_a_page_gets_the_503_page_and_the_api_its_error_shape():
    page = _raised(OperationalError("connection refused"), "/agent/")
    assert page.status_code == 503 and page["Retry-After"]
    assert b"Temporarily unavailable" in page.content
    api = _raised(OperationalError("couldn't get a connection"), "/api/tickets/")
    assert api.status_code == 503
    assert json.loads(api.content)["code"] == "unavailable"


def test_any_other_error_is_still_the_500_page():
    assert _raised(ValueError("bug"), "/agent/").status_code == 500
    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    assert middleware.process_exception(RequestFactory().get("/agent/"), ValueError("bug")) is None
    answer = middleware.process_exception(RequestFactory().get("/api/x/"), OperationalError("gone"))
    assert answer is not None and answer.status_code == 503


def test_a_drf_view_answers_the_same_shape():
    from accounts.api_errors import to_api_exception

    refused = to_api_exception(OperationalError("the database is restarting"))
    assert refused.status_code == 503
    assert refused.detail["code"] == "unavailable"
