"""What the relay remembers across reconnects, kept in Redis through an asyncio client.

The relay's hot path must not queue behind Django's single sync thread: each customer frame used
to write its sequence number through ``database_sync_to_async`` and the cache, ~0.8 ms of wall time
on one shared thread per process. Here the consumer writes it through an asyncio client without
leaving the event loop, once per relayed frame and before relaying it: a web node killed outright
runs no disconnect handler, and a number written later (say once a second) would be behind what the
agents already have, so the page's next hello would resend, and the agents apply again, frames
relayed in that last second.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import TypedDict

import redis.asyncio as aioredis
from django.conf import settings

STATE_TTL_SECONDS = 6 * 3600
PRESENCE_LEASE_SECONDS = 12  # three of the customer socket's 4 s pings
SEQ_EXPIRY_REFRESH_SECONDS = 60  # how often a socket renews the seq's expiry while it relays

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
    """The last seq accepted from this page load (one round trip; the two fields change together)."""
    key = _key(session_id, "seq")
    async with _client().pipeline(transaction=True) as pipe:
        pipe.hset(key, mapping={"page_id": page_id, "seq": seq})
        pipe.expire(key, STATE_TTL_SECONDS)
        await pipe.execute()


async def note_seq(session_id: int, page_id: str, seq: int) -> None:
    """:func:`save_seq` without refreshing the expiry: one command, for every relayed frame
    (about half the client's CPU of the pipeline); the consumer calls :func:`save_seq` now and then."""
    await _client().hset(_key(session_id, "seq"), mapping={"page_id": page_id, "seq": seq})


async def set_presence(session_id: int, presence: str, ttl: int = STATE_TTL_SECONDS) -> None:
    """The customer's presence as staff are told it; "connected" is a lease of
    :data:`PRESENCE_LEASE_SECONDS` that the customer's socket renews with every ping, so the
    presence of a page whose web node died (no disconnect handler ran) lapses instead of staying."""
    await _client().set(_key(session_id, "presence"), presence, ex=ttl)


async def presence(session_id: int) -> str:
    return as_text(await _client().get(_key(session_id, "presence"))) or "disconnected"


async def set_quality(session_id: int, level: str, rtt_ms: int) -> None:
    await _client().set(_key(session_id, "quality"), f"{level}:{int(rtt_ms)}", ex=STATE_TTL_SECONDS)


async def quality(session_id: int) -> Quality | None:
    """The last quality announced for the session, for viewers who join in between."""
    return parse_quality(as_text(await _client().get(_key(session_id, "quality"))))


# --- the seat: which customer socket shares ---------------------------------------------------------
#
# Two tabs of one browser can hold the same grant (a duplicated tab, a link opened from the page),
# and one tab's next page says hello before its old page's close is handled. The seat says which
# socket shares: "<tab id> <channel name>", renewed by that socket's heartbeat, so a holder that died
# without a close (a killed server) frees it within SEAT_TTL_MS. Each operation is one Lua script:
# two hellos racing cannot both win.

SEAT_TTL_MS = 15_000  # several heartbeats (PING_INTERVAL_S): a live holder never lets it lapse

# KEYS[1] seat; ARGV: tab id ("" = a page without one: takes the seat), channel, ttl ms.
# Returns {won, previous channel or ""}: a free seat, the same tab or no tab id wins.
_CLAIM = """
local held = redis.call('GET', KEYS[1])
if held then
  local tab, channel = string.match(held, '^(%S*) (%S+)$')
  if ARGV[1] ~= '' and tab ~= ARGV[1] then return {0, channel} end
  redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'PX', ARGV[3])
  if channel == ARGV[2] then return {1, ''} end
  return {1, channel}
end
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'PX', ARGV[3])
return {1, ''}
"""

# Takes the seat whoever holds it; returns the previous holder's channel or "".
_TAKE = """
local held = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'PX', ARGV[3])
if not held then return '' end
local channel = string.match(held, ' (%S+)$')
if channel == ARGV[2] then return '' end
return channel
"""

# The holder's heartbeat: renews its seat (or takes it back if it lapsed with nobody else on it).
# Returns 1 while this channel holds the seat, 0 once another does.
_RENEW = """
local held = redis.call('GET', KEYS[1])
if held and string.match(held, ' (%S+)$') ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'PX', ARGV[3])
return 1
"""

# A socket closes: frees the seat if it is this channel's. Returns 1 unless another channel holds it.
_RELEASE = """
local held = redis.call('GET', KEYS[1])
if not held then return 1 end
if string.match(held, ' (%S+)$') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
"""


class SeatClaim(TypedDict):
    """The answer to a hello: whether this socket shares, and whose socket it replaced."""

    won: bool
    previous: str


async def claim_seat(session_id: int, tab_id: str, channel: str) -> SeatClaim:
    """A hello: the seat if it is free, already this tab's, or ``tab_id`` is empty."""
    won, previous = await _client().eval(_CLAIM, 1, _key(session_id, "seat"), tab_id, channel, SEAT_TTL_MS)
    return {"won": bool(won), "previous": as_text(previous) or ""}


async def take_seat(session_id: int, tab_id: str, channel: str) -> str:
    """The customer chose to share this tab instead: the previous holder's channel (or "")."""
    previous = await _client().eval(_TAKE, 1, _key(session_id, "seat"), tab_id, channel, SEAT_TTL_MS)
    return as_text(previous) or ""


async def renew_seat(session_id: int, tab_id: str, channel: str) -> bool:
    """False once another socket holds the seat."""
    return bool(await _client().eval(_RENEW, 1, _key(session_id, "seat"), tab_id, channel, SEAT_TTL_MS))


async def release_seat(session_id: int, channel: str) -> bool:
    """Frees the seat if this channel holds it; False when another socket holds it (its close must
    not disturb the session)."""
    return bool(await _client().eval(_RELEASE, 1, _key(session_id, "seat"), channel))


async def seat_holder(session_id: int) -> str | None:
    """The holder's channel name, or None for a free seat."""
    held = as_text(await _client().get(_key(session_id, "seat")))
    return held.rpartition(" ")[2] if held else None
