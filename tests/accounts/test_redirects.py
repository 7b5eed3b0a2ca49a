"""safe_next: a form's ``next`` is followed only to this host, and never from HTTPS down to HTTP."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from accounts.redirects import safe_next


@pytest.mark.parametrize(
    ("target", "secure", "expected"),
    [
        ("/portal/tickets/T-1001/", False, "/portal/tickets/T-1001/"),
        ("/portal/tickets/T-1001/", True, "/portal/tickets/T-1001/"),
        ("https://testserver/portal/", True, "https://testserver/portal/"),
        ("http://testserver/portal/", False, "http://testserver/portal/"),
        ("http://testserver/portal/", True, "/fallback/"),  # no downgrade from HTTPS
        ("https://evil.example/", False, "/fallback/"),
        ("//evil.example/", False, "/fallback/"),
        ("/\\evil.example/", False, "/fallback/"),
        ("javascript:alert(1)", False, "/fallback/"),
        ("", False, "/fallback/"),
    ],
)
def test_only_same_host_targets_are_followed(target, secure, expected):
    request = RequestFactory().post("/x/", {"next": target}, secure=secure)
    assert safe_next(request, "/fallback/") == expected


def test_fallback_may_be_a_url_name_and_get_requests_read_the_query():
    request = RequestFactory().get("/x/", {"next": "https://evil.example/"})
    assert safe_next(request, "recordings:portal") == "/portal/recordings/"
    assert safe_next(RequestFactory().get("/x/", {"next": "/agent/"}), "home") == "/agent/"
