"""Reads of what the live relay keeps outside the database (Redis)."""

from __future__ import annotations

import functools

import redis
from django.conf import settings

from live.relay_state import Quality, _key, as_text, parse_quality  # the relay owns the format


@functools.cache
def _redis(url: str) -> redis.Redis:
    """One synchronous client (and connection pool) per Redis URL, shared by the web threads."""
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=1, decode_responses=True)


def relay_qualities(session_ids: list[int]) -> dict[int, Quality]:
    """The last connection quality the relay stored for each session (one Redis round trip).

    Only a customer's page reports one; a session without a stored value is absent from the result,
    and so is every session when Redis cannot be reached (the page then shows none, never a guess).
    """
    if not session_ids:
        return {}
    ids = sorted(set(session_ids))
    try:
        values = _redis(settings.REDIS_URL).mget([_key(pk, "quality") for pk in ids])
    except redis.RedisError:
        return {}
    result = {}
    for pk, stored in zip(ids, values, strict=True):
        parsed = parse_quality(as_text(stored))
        if parsed is not None:
            result[pk] = parsed
    return result
