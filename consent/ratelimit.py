"""Per-client-address rate limit for the join links (Django cache; Redis in production)."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

# The one client-address rule (NUM_PROXIES), shared with the login lockout.
from accounts.client_ip import client_ip as client_ip

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"20/m"`` → (20, 60)."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[(period or "m")[0].lower()]


def hit(request: HttpRequest, scope: str = "join", rate: str = "") -> bool:
    """Count one request; False once the client is over the limit for the current window.

    ``rate`` ("count/period") defaults to ``COBROWSE_JOIN_RATE_LIMIT``.
    """
    # The address is hashed so that the cache holds no raw client addresses.
    digest = hashlib.sha256(client_ip(request).encode()).hexdigest()[:32]
    return hit_key(f"{scope}:{digest}", rate or settings.COBROWSE_JOIN_RATE_LIMIT)


def hit_key(name: str, rate: str) -> bool:
    """Count one use of ``name`` (a scope and an id, never personal data); False once over ``rate``."""
    limit, period = parse_rate(rate)
    key = f"ratelimit:{name}"
    cache.add(key, 0, timeout=period)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=period)
        count = 1
    return count <= limit
