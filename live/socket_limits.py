"""The live sockets' own limits: how large a customer frame may be, and how often one address may
say ``hello`` (the grant check behind it costs database work and invites guessing).

Both are decided in the consumer before anything is parsed or looked up. The counters live in
Redis through the relay's asyncio client, so the check never leaves the event loop.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings

from cobrowse import protocol
from consent.ratelimit import parse_rate
from live import relay_state

logger = logging.getLogger(__name__)

#: Nothing the customer's page legitimately sends is larger: messages above the per-type limits
#: travel as ``part`` frames whose body is at most PART_BODY_MAX characters, and JSON escaping
#: makes one character at most six bytes (``\\uXXXX``). Frames up to here that break a per-type
#: limit get an ``error`` and are dropped like any invalid frame; anything larger closes the
#: socket with CLOSE_TOO_LARGE (the client is not the widget, or is broken beyond one bad frame).
CUSTOMER_FRAME_MAX = 6 * protocol.PART_BODY_MAX + 1024
CLOSE_TOO_LARGE = 1009  # RFC 6455: message too big
CLOSE_RATE_LIMITED = 4429


def frame_too_large(raw: str | bytes | None) -> bool:
    """A customer frame larger than anything legitimate (a length check, O(1): characters never
    outnumber UTF-8 bytes, so a string longer than the limit in characters is over it in bytes)."""
    return raw is not None and len(raw) > CUSTOMER_FRAME_MAX


def client_address(scope: dict) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def hello_allowed(scope: dict, socket: str) -> bool:
    """Count one ``hello`` from this client address; False once it is over the limit.

    ``socket`` is ``customer`` or ``watch``: each has its own counter. The address is hashed, so
    Redis holds no raw client addresses. If Redis cannot answer, the hello is let through (the
    grant check still runs) and a warning is logged: a Redis hiccup must not lock customers out.
    """
    limit, period = parse_rate(settings.COBROWSE_HELLO_RATE_LIMIT)
    digest = hashlib.sha256(client_address(scope).encode()).hexdigest()[:32]
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "tandem")
    key = f"{prefix}:ratelimit:hello:{socket}:{digest}"
    try:
        async with relay_state._client().pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, period, nx=True)
            count, _ = await pipe.execute()
    except Exception:
        logger.warning("could not count a %s hello; letting it through", socket)
        return True
    return int(count) <= limit
