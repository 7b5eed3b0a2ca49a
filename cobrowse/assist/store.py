"""Where a session's latest page context is kept: one Redis key per session, with a time to live.

The relay writes it on every ``page`` message from its event loop, so the write goes through an
asyncio client (like :mod:`live.relay_state`, which this layer may not import) and never queues
behind Django's sync thread. Readers (views, tasks, the voice integration) are sync. The value is
JSON: what was stored is already redacted, and JSON cannot smuggle objects in the way pickle could.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from typing import Any

import orjson
import redis
import redis.asyncio as aioredis
from django.conf import settings

_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
    weakref.WeakKeyDictionary()
)
_sync_client: redis.Redis | None = None
_sync_lock = threading.Lock()


def page_key(session_id: int) -> str:
    """The session's key, under the deployment's cache prefix (tests and workers each have their own)."""
    return f"{settings.CACHES['default'].get('KEY_PREFIX', 'tandem')}:assist:{int(session_id)}:page"


def ttl_seconds() -> int:
    return int(getattr(settings, "ASSIST_CONTEXT_TTL_SECONDS", 3600))


def _async_client() -> aioredis.Redis:
    """One client per event loop (a client is bound to the loop that created its connections)."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        client = aioredis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
        _async_clients[loop] = client
    return client


def _client() -> redis.Redis:
    global _sync_client
    with _sync_lock:
        if _sync_client is None:
            _sync_client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
        return _sync_client


def _encode(page: dict[str, Any]) -> bytes:
    return orjson.dumps({"page": page, "at_ms": int(time.time() * 1000)})


def _decode(raw: bytes | str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        stored = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    page = stored.get("page") if isinstance(stored, dict) else None
    return page if isinstance(page, dict) else None


async def save_page(session_id: int, page: dict[str, Any]) -> None:
    """Keep ``page`` as the session's latest (one SET with its expiry)."""
    await _async_client().set(page_key(session_id), _encode(page), ex=ttl_seconds())


def save_page_sync(session_id: int, page: dict[str, Any]) -> None:
    """:func:`save_page` for sync callers (commands, tasks, tests)."""
    _client().set(page_key(session_id), _encode(page), ex=ttl_seconds())


def load_page(session_id: int) -> dict[str, Any] | None:
    """The session's latest page context, or None when none was seen (or it expired)."""
    return _decode(_client().get(page_key(session_id)))


def forget_page(session_id: int) -> None:
    _client().delete(page_key(session_id))
