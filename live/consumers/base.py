"""What every live socket shares: numbered envelopes, a dispatch without a thread hop per
message, how long a socket may wait before its first frame, and the origin header."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import orjson
from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from cobrowse import protocol

logger = logging.getLogger(__name__)

#: What a call to Redis raises when the server is away or does not answer in time.
REDIS_ERRORS = (RedisConnectionError, RedisTimeoutError)


#: Close code of a socket whose Redis (channel layer, cache, relay state) failed under it: "service
#: restart", on which the pages reconnect; their hello then brings a fresh snapshot (docs/faults.md).
CLOSE_REDIS_LOST = 1012

#: How long a socket authenticated by its first frame (``hello``) may stay silent before it closes.
HELLO_TIMEOUT_S = 10


def header(scope: dict, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


class EnvelopeSender:
    """Numbers outgoing envelopes per socket, and dispatches without a thread hop per message."""

    async def dispatch(self, message: dict) -> None:
        """Like Channels' dispatch, minus its ``aclose_old_connections()`` before every handler.

        That call hops to the single sync thread for each frame and each group message (two per
        relayed batch), which serialised the whole relay behind one thread. These consumers touch
        the database only through ``database_sync_to_async``, which closes stale connections itself.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        try:
            await handler(message)
        except REDIS_ERRORS:
            # Redis went away under this socket. What it relayed meanwhile is lost (pub/sub keeps
            # nothing), so the socket does not carry on as if nothing happened: it closes with a
            # code the pages reconnect on, and their reconnect resynchronises. The layer itself
            # re-subscribes its groups once Redis is back (redis-py's pub/sub on reconnect).
            if message["type"] == "websocket.disconnect":
                raise StopConsumer from None  # going anyway: what it could not tidy expires
            logger.warning("Redis unreachable: closing a %s socket to reconnect", type(self).__name__)
            await self.close(code=CLOSE_REDIS_LOST)

    seq = 0
    closed = False

    if TYPE_CHECKING:
        # The consumer's own (Channels' AsyncWebsocketConsumer, which ships no types).
        async def send(
            self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
        ) -> None: ...

        async def close(self, code: int | bool | None = None, reason: str | None = None) -> None: ...

    async def send_envelope(self, msg_type: str, data: dict[str, Any]) -> None:
        if self.closed:  # frames still queued when the socket went away are dropped, not sent
            return
        message = protocol.envelope(msg_type, data, self.seq)
        self.seq += 1
        await self.send(text_data=protocol.encode(message))

    async def send_error(self, code: str, message: str, field: str | None = None) -> None:
        await self.send_envelope("error", protocol.ProtocolError(code, message, field).as_data())


#: A hello that carries only a grant is small; anything larger is refused before it is parsed.
MAX_GRANT_HELLO = 1024


def hello_grant(raw: str | bytes | None, *, ask: str = "Send hello with your grant first.") -> str:
    """The grant from a socket's first frame, ``{"type": "hello", ..., "data": {"grant": "..."}}``.

    The one parser for sockets whose first frame only authenticates them (a team member's watch
    socket). The customer's page says more in its hello (page, address, last seq) and is read by
    the protocol's schema instead. Raises :class:`~cobrowse.protocol.ProtocolError`.
    """
    if raw is None or len(raw) > MAX_GRANT_HELLO:
        raise protocol.ProtocolError("too_large", f"hello must be at most {MAX_GRANT_HELLO} bytes")
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise protocol.ProtocolError("bad_json", "frame is not valid JSON") from None
    if not isinstance(message, dict) or message.get("type") != "hello":
        raise protocol.ProtocolError("not_ready", ask, "type")
    data = message.get("data")
    grant = data.get("grant") if isinstance(data, dict) else None
    if not isinstance(grant, str) or not 0 < len(grant) <= 200:
        raise protocol.ProtocolError("missing_field", "data.grant is required", "data.grant")
    return grant
