"""The audit chain's digests: unkeyed SHA-256 for rows that predate keying, HMAC for everything since.

``AUDIT_KEY`` lives in the environment, never in the database: a database writer can change rows but
cannot compute the HMAC of a changed row. Two sub-keys are derived from it (rows, anchors) so that a
row digest can never be replayed as an anchor MAC or the reverse.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from functools import lru_cache
from typing import Any

from django.conf import settings

from audit.models import AuditEvent, Scheme

GENESIS = "0" * 64


def _key() -> bytes:
    key = getattr(settings, "AUDIT_KEY", "")
    if not key:
        # settings.py refuses to start without one; this only guards code that swaps settings.
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("AUDIT_KEY is not set.")
    return key.encode() if isinstance(key, str) else bytes(key)


def _subkey(purpose: str) -> bytes:
    return _derive(_key(), purpose)


@lru_cache(maxsize=16)
def _derive(key: bytes, purpose: str) -> bytes:
    return hmac.new(key, f"tandem-audit/{purpose}/v1".encode(), hashlib.sha256).digest()


def key_id() -> str:
    """A short public fingerprint of AUDIT_KEY, written into anchors so a key change is named, not
    reported as tampering."""
    return _subkey("key-id").hex()[:12]


def canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()


def _row_payload(prev_hash: str, event: AuditEvent) -> dict[str, Any]:
    return {
        "prev": prev_hash,
        "at": event.created_at.isoformat(),
        "actor": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "details": event.details,
    }


def row_digest(prev_hash: str, event: AuditEvent) -> str:
    """The hash a row must carry under its own scheme."""
    payload = _row_payload(prev_hash, event)
    if event.scheme == Scheme.LEGACY:
        return hashlib.sha256(canonical(payload)).hexdigest()
    if event.scheme == Scheme.HMAC:
        payload["scheme"] = Scheme.HMAC.value
        return hmac.new(_subkey("row"), canonical(payload), hashlib.sha256).hexdigest()
    raise ValueError(f"unknown audit scheme {event.scheme!r}")


def anchor_mac(fields: dict[str, Any]) -> str:
    return hmac.new(_subkey("anchor"), canonical(fields), hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def pseudonym(value: str) -> str:
    """A stable, keyed stand-in for an identifier that must not appear in audit details or logs (a
    login name typed at a sign-in form): the same input correlates, nobody without AUDIT_KEY reverses it."""
    return hmac.new(_subkey("pseudonym"), value.strip().lower().encode(), hashlib.sha256).hexdigest()[:16]
