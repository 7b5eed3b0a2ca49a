"""Token-bearing URLs never reach a log: every link that grants access is scrubbed, and Django's
and uvicorn's loggers write only through the scrubbing handler."""

from __future__ import annotations

import io
import logging
import secrets

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.logging_filters import RedactPIIFilter, scrub
from consent.team import watch_path
from consent.tokens import join_path, new_token
from recordings.services import customer_link_path


def _links(user) -> dict[str, tuple[str, str]]:
    """name -> (a path as the app builds it, the secret part in it)."""
    join, watch, copy = new_token(), secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    uid, reset = urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)
    return {
        "join": (join_path(join), join),
        "watch": (watch_path(watch), watch),
        "copy": (customer_link_path(copy), copy),
        "copy-events": (reverse("recordings:customer_copy_events", args=[copy]), copy),
        "password-reset": (reverse("password_reset_confirm", args=[uid, reset]), reset),
    }


@pytest.mark.django_db
def test_every_token_bearing_path_is_scrubbed(customer):
    for name, (path, secret) in _links(customer).items():
        line = f'127.0.0.1:5000 - "GET {path}?x=1 HTTP/1.1" 404'
        scrubbed = scrub(line)
        assert secret not in scrubbed, name
        assert "[token]" in scrubbed, (name, scrubbed)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("https://shop.example/cart#tandem=g.abcDEF123_-x", "abcDEF123"),
        ("GET /api/x/?token=s3cr3tValue&page=2", "s3cr3tValue"),
        ("GET /callback?Grant=abc.def-ghi", "abc.def-ghi"),
        ("Authorization: Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "9944b09199c62bcf"),
    ],
)
def test_grants_query_tokens_and_api_credentials_are_scrubbed(text, secret):
    assert secret not in scrub(text)


def test_ordinary_paths_are_kept():
    for path in ("/agent/tickets/T-1001/", "/password-reset/sent/", "/watch/12/", "/portal/recordings/"):
        assert scrub(f"GET {path}") == f"GET {path}"


@pytest.mark.django_db
@pytest.mark.parametrize("logger_name", ["django.request", "uvicorn.access", "uvicorn.error"])
def test_django_and_uvicorn_loggers_write_only_through_the_scrubber(logger_name, customer):
    logger = logging.getLogger(logger_name)
    owner = logger
    while not owner.handlers and owner.propagate and owner.parent:
        owner = owner.parent
    assert not owner.propagate
    # pytest adds its own capturing handlers; every other handler must scrub.
    writers = [h for h in owner.handlers if not type(h).__module__.startswith("_pytest")]
    assert writers and all(any(isinstance(f, RedactPIIFilter) for f in h.filters) for h in writers)
    path, secret = _links(customer)["watch"]
    (handler,) = writers
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        logger.warning('%s - "GET %s HTTP/1.1" %d', "10.0.0.1:443", path, 404)
    finally:
        handler.setStream(previous)
    assert "/w/[token]/" in stream.getvalue() and secret not in stream.getvalue()
