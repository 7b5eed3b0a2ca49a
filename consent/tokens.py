"""Raw tokens for one-time links and grants, and the digests the database keeps instead.

The raw value exists only in memory and in what is handed to its holder; rows store sha256.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_token() -> str:
    """256 bits from the OS generator."""
    return secrets.token_urlsafe(32)


def join_path(raw_token: str) -> str:
    return f"/j/{raw_token}/"


def join_url(raw_token: str) -> str:
    base: str = settings.TANDEM_BASE_URL
    return base.rstrip("/") + join_path(raw_token)
