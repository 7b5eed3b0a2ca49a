"""Outgoing envelopes: what the server sends, and to whom it may send which type."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import orjson

from cobrowse.protocol.messages import AGENT, CUSTOMER, SERVER_TO_AGENT, SERVER_TO_CUSTOMER

RECIPIENT_TYPES = {CUSTOMER: SERVER_TO_CUSTOMER, AGENT: SERVER_TO_AGENT}


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def envelope(
    msg_type: str, data: Mapping[str, Any], seq: int, *, ts: int | None = None, to: str | None = None
) -> dict:
    """An outgoing envelope. With ``to``, refuse a type that role is never sent (a server bug)."""
    if to is not None and msg_type not in RECIPIENT_TYPES[to]:
        raise ValueError(f"type {msg_type!r} is never sent to {to}")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ValueError("seq must be a non-negative integer")
    return {"type": msg_type, "seq": seq, "ts": now_ms() if ts is None else ts, "data": dict(data)}


def encode(message: Mapping[str, Any]) -> str:
    """Serialize an envelope for ``send(text_data=...)``."""
    return orjson.dumps(message).decode()
