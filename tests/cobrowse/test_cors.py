import pytest
from django.core.cache import cache

from tests.factories import make_account

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _origins():
    make_account("Acme Home Loans", allowed_origins=["https://app.acme.example"])
    cache.delete("cors:widget-origins")


def test_preflight_from_an_account_origin_is_allowed(client):
    response = client.options(
        "/api/cobrowse/grants/refresh/",
        HTTP_ORIGIN="https://app.acme.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-tandem-grant",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "https://app.acme.example"
    assert "X-Tandem-Grant" in response["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in response


def test_unknown_origin_gets_no_cors_headers(client):
    response = client.options(
        "/api/cobrowse/grants/refresh/",
        HTTP_ORIGIN="https://evil.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert "Access-Control-Allow-Origin" not in response


def test_other_api_paths_never_get_cors_headers(client):
    response = client.get("/api/tickets/", HTTP_ORIGIN="https://app.acme.example")
    assert "Access-Control-Allow-Origin" not in response
