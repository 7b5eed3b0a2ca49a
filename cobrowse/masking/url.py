"""URLs: credentials, secret-named query and fragment parameters, and patterns anywhere in them.

The widget applies the same rules (``maskUrl`` in ``masking.js``); the ``urls`` section of
``tests/masking_cases.json`` holds both to what must not survive and what must.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, unquote_plus, urlsplit, urlunsplit

from masking.patterns import MASK, redact_text

_SECRET_PARAM_WORDS = (
    "password",
    "passwd",
    "token",
    "secret",
    "cvv",
    "cvc",
    "ssn",
    "aadhaar",
    "aadhar",
    "iban",
    "card",
    "otp",
    "apikey",
    "api_key",
    "signature",
    "session",
    "grant",
)
_SECRET_PARAM_TOKENS = frozenset({"pass", "pwd", "pan", "pin", "sig", "sid", "code", "auth", "key", "csc"})
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def _secret_param(name: str) -> bool:
    """Whether a query parameter's name says its value is a secret (``access_token``, ``cardNumber``)."""
    lowered = name.lower()
    if any(word in lowered for word in _SECRET_PARAM_WORDS):
        return True
    return any(token in _SECRET_PARAM_TOKENS for token in _NON_ALNUM.split(lowered))


def _redact_component(raw: str, *, plus: bool = False) -> str:
    """Pattern-mask one URL component, looking through percent-encoding."""
    decoded = unquote_plus(raw) if plus else unquote(raw)
    redacted = redact_text(decoded)
    if redacted == decoded:
        return raw
    return quote(redacted, safe="/:@!$'()*,;=-._~")


def _redact_pairs(raw: str) -> str:
    pieces = []
    for piece in raw.split("&"):
        name, eq, value = piece.partition("=")
        if eq and value and _secret_param(unquote_plus(name)):
            value = MASK
        elif eq:
            value = _redact_component(value, plus=True)
        pieces.append(_redact_component(name, plus=True) + eq + value)
    return "&".join(pieces)


def redact_url(url: str) -> str:
    """Mask credentials, secret-named query parameters and patterns anywhere in a URL."""
    if not url or not isinstance(url, str):
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = MASK + "@" + netloc.rsplit("@", 1)[1]
    path = _redact_component(parts.path)
    query = _redact_pairs(parts.query) if parts.query else parts.query
    fragment = parts.fragment
    if fragment:
        fragment = _redact_pairs(fragment) if "=" in fragment else _redact_component(fragment)
    if (netloc, path, query, fragment) == (parts.netloc, parts.path, parts.query, parts.fragment):
        return url
    return urlunsplit((parts.scheme, netloc, path, query, fragment))
