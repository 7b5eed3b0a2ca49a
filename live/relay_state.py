"""What the relay remembers across reconnects, kept in Redis through an asyncio client.

The relay's hot path must not queue behind Django's single sync thread: each customer frame used
to write its sequence number through ``database_sync_to_async`` and the cache, ~0.8 ms of wall time
on one shared thread per process. Here the consumer keeps the number in memory and writes it at
most every ``SEQ_FLUSH_SECONDS`` (and on disconnect) without leaving the event loop.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import TypedDict

import redis.asyncio as aioredis
from django.conf import settings

SEQ_FLUSH_SECONDS = 1.0
STATE_TTL_SECONDS = 6 * 3600
HANDOVER_TTL_SECONDS = 10  # a hand-over nobody waited for any more is gone soon after

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = weakref.WeakKeyDictionary()


class Quality(TypedDict):
    """A connection quality the customer's page announced: its level and round trip."""

    level: str
    rtt_ms: int | None


def parse_quality(stored: str | None) -> Quality | None:
    """``"<level>:<rtt ms>"`` as stored; None for nothing (or anything else) stored."""
    if not stored or ":" not in stored:
        return None
    level, _, rtt = stored.partition(":")
    return {"level": level, "rtt_ms": int(rtt) if rtt.isdigit() else None}


def as_text(value: bytes | str | None) -> str | None:
    """The clients decode responses (``decode_responses=True``); redis-py's types still say bytes."""
    return value.decode() if isinstance(value, bytes) else value


def _client() -> aioredis.Redis:
    """One client per event loop (a client is bound to the loop that created its connections)."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = aioredis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, decode_responses=True)
        _clients[loop] = client
    return client


def _key(session_id: int, what: str) -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', 'tandem')}:relay:{int(session_id)}:{what}"


async def last_seq(session_id: int, page_id: str) -> int:
    """The last seq the server accepted from this page load (-1 for a page it has not seen)."""
    stored = await _client().hgetall(_key(session_id, "seq"))
    if not stored or stored.get("page_id") != page_id:
        return -1
    return int(stored.get("seq", -1))


async def save_seq(session_id: int, page_id: str, seq: int) -> None:
    key = _key(session_id, "seq")
    async with _client().pipeline(transaction=True) as pipe:
        pipe.hset(key, mapping={"page_id": page_id, "seq": seq})
        pipe.expire(key, STATE_TTL_SECONDS)
        await pipe.execute()


#: Deletes the session's socket mark only if it is still this socket's; 1 when it was.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""


async def claim_socket(session_id: int, socket_id: str) -> str | None:
    """This socket is now the page's connection to the session; returns the one it took over from.

    A dropped network does not close the server's end at once: the page reconnects on a new socket
    while the old one waits for its heartbeat to fail. Only the current socket's close may say the
    page is reconnecting (:func:`release_socket`).
    """
    stored = await _client().set(_key(session_id, "socket"), socket_id, ex=STATE_TTL_SECONDS, get=True)
    previous = as_text(stored) if isinstance(stored, str | bytes) else None
    return previous if previous and previous != socket_id else None


async def hand_over(session_id: int, to_socket: str) -> None:
    """The superseded socket has stored its last seq: the socket that took over may read it."""
    key = _key(session_id, f"handover:{to_socket}")
    async with _client().pipeline(transaction=True) as pipe:
        pipe.rpush(key, "1")
        pipe.expire(key, HANDOVER_TTL_SECONDS)
        await pipe.execute()


async def wait_for_handover(session_id: int, socket_id: str, timeout: float) -> bool:
    """Wait (at most ``timeout`` seconds) until the superseded socket said :func:`hand_over`."""
    return await _client().blpop([_key(session_id, f"handover:{socket_id}")], timeout=timeout) is not None


async def release_socket(session_id: int, socket_id: str) -> bool:
    """The socket closed: True if it was still the page's current one (and is no more)."""
    return bool(await _client().eval(_RELEASE, 1, _key(session_id, "socket"), socket_id))


async def set_presence(session_id: int, presence: str) -> None:
    await _client().set(_key(session_id, "presence"), presence, ex=STATE_TTL_SECONDS)


async def presence(session_id: int) -> str:
    return as_text(await _client().get(_key(session_id, "presence"))) or "disconnected"


async def set_quality(session_id: int, level: str, rtt_ms: int) -> None:
    await _client().set(_key(session_id, "quality"), f"{level}:{int(rtt_ms)}", ex=STATE_TTL_SECONDS)


async def quality(session_id: int) -> Quality | None:
    """The last quality announced for the session, for viewers who join in between."""
    return parse_quality(as_text(await _client().get(_key(session_id, "quality"))))
