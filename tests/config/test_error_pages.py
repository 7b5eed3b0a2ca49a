"""The product's 403, 404 and 500 pages with DEBUG on and off: never Django's technical pages, which
list every URL pattern (404) or settings and local variables (500)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import make_account, make_ticket, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.config.error_urls")]

TECHNICAL = ("Using the URLconf defined in", "Django tried these URL patterns", "Traceback", "DEBUG = True")


def _assert_product_page(response, status: int, heading: str) -> None:
    body = response.content.decode()
    assert response.status_code == status
    assert heading in body, body[:500]
    assert not [marker for marker in TECHNICAL if marker in body]
    assert "test-errors" not in body and "api/schema" not in body


@pytest.fixture(params=[True, False], ids=["debug", "no-debug"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def test_another_customers_ticket_is_the_product_404(debug, customer):
    stranger = make_user("stranger", role="customer", account=make_account("Globex"))
    ticket = make_ticket(stranger)
    client = Client()
    client.force_login(customer)
    response = client.get(f"/portal/tickets/{ticket.number}/")
    _assert_product_page(response, 404, "Page not found")


def test_an_unknown_path_is_the_product_404_and_a_missing_slash_still_redirects(debug, customer):
    client = Client()
    _assert_product_page(client.get("/no/such/page/"), 404, "Page not found")
    assert client.get("/portal").status_code == 301


def test_permission_denied_is_the_product_403(debug):
    _assert_product_page(Client().get("/test-errors/forbidden/"), 403, "have access to this page")


def test_an_unhandled_error_is_the_product_500(debug):
    response = Client(raise_request_exception=False).get("/test-errors/broken/")
    _assert_product_page(response, 500, "Something went wrong")


def test_the_api_keeps_its_json_errors(debug, customer):
    client = Client()
    client.force_login(customer)
    response = client.get("/api/tickets/999999/")
    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")


def test_an_api_path_no_pattern_matches_is_a_json_404(debug, customer):
    """An id that is not a number matches no API route: still the API's error shape, not a page
    (found by the API fuzzer: the schema documents JSON bodies only)."""
    client = Client()
    client.force_login(customer)
    response = client.get("/api/cobrowse/sessions/not-a-number/")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_favicon_points_at_the_mark():
    response = Client().get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("img/tandem-mark.svg")
    assert Client().get(response["Location"]).status_code == 200
