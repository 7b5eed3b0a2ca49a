"""One client-address rule: REMOTE_ADDR, or the Nth X-Forwarded-For entry from the right."""

import pytest
from django.test import RequestFactory

from accounts.client_ip import client_ip
from consent import ratelimit


def _request(remote="10.0.0.1", forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, None, "10.0.0.1"),
        (0, "6.6.6.6", "10.0.0.1"),  # no trusted proxy: the header is ignored
        (1, None, "10.0.0.1"),
        (1, "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # forged entry on the left is ignored
        (2, "6.6.6.6, 198.51.100.7, 10.0.0.2", "198.51.100.7"),
        (3, "198.51.100.7", "198.51.100.7"),  # fewer entries than proxies: the left-most
    ],
)
def test_client_ip(settings, proxies, forwarded, expected):
    settings.NUM_PROXIES = proxies
    assert client_ip(_request(forwarded=forwarded)) == expected


def test_missing_remote_addr_is_unknown(settings):
    settings.NUM_PROXIES = 0
    request = RequestFactory().get("/")
    request.META.pop("REMOTE_ADDR", None)
    assert client_ip(request) == "unknown"


def test_consent_rate_limit_uses_the_same_rule(settings):
    settings.NUM_PROXIES = 1
    assert ratelimit.client_ip(_request(forwarded="6.6.6.6, 198.51.100.7")) == "198.51.100.7"
    settings.NUM_PROXIES = 0
    assert ratelimit.client_ip(_request(forwarded="6.6.6.6, 198.51.100.7")) == "10.0.0.1"
