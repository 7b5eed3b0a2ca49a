"""The telephony integration's signature on a transcript request: HMAC-SHA256 over timestamp and body.

    X-Tandem-Timestamp: <unix seconds>
    X-Tandem-Signature: sha256=<hex of HMAC(secret, "<timestamp>." + raw body)>

The same scheme as the chat webhook Tandem sends (``consent/chat.py``), read the other way. The
timestamp is signed with the body, so a captured request cannot be replayed with a fresh one, and it
must be within :data:`TOLERANCE_SECONDS` of the server's clock. Any of several secrets may match
(``VOICE_WEBHOOK_SECRET`` is comma-separated), so a secret is rotated by adding the new one, moving
the integration over, then removing the old one. Pure functions: no settings, no request.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable

SIGNATURE_HEADER = "X-Tandem-Signature"
TIMESTAMP_HEADER = "X-Tandem-Timestamp"
#: How far the timestamp may be from the server's clock, either way (replays older than this fail).
TOLERANCE_SECONDS = 300


class SignatureRefused(Exception):
    """Why a request's signature is not accepted; the message is safe to show to the caller."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def secrets_from_setting(value: str | Iterable[str]) -> list[str]:
    """``VOICE_WEBHOOK_SECRET`` as a list: comma-separated text or a list, blanks dropped."""
    parts = value.split(",") if isinstance(value, str) else list(value)
    return [part.strip() for part in parts if part and part.strip()]


def verify(
    secrets: Iterable[str],
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> None:
    """Raise :class:`SignatureRefused` unless ``signature`` signs ``timestamp`` and ``body`` under one of
    ``secrets`` and the timestamp is recent. Every secret is compared (constant time, no early exit),
    so the time taken does not say which one matched."""
    if not signature:
        raise SignatureRefused(f"Sign the request: {SIGNATURE_HEADER} is missing.")
    if not timestamp:
        raise SignatureRefused(f"Sign the request: {TIMESTAMP_HEADER} is missing.")
    try:
        stamp = int(timestamp)
    except ValueError:
        raise SignatureRefused(f"{TIMESTAMP_HEADER} must be Unix seconds.") from None
    if abs((time.time() if now is None else now) - stamp) > tolerance:
        raise SignatureRefused(
            f"{TIMESTAMP_HEADER} is more than {tolerance} seconds from the server's clock."
        )
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(sign(secret, stamp, body).encode(), signature.encode())
    if not matched:
        raise SignatureRefused(f"{SIGNATURE_HEADER} does not match the body.")
