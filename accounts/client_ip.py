"""The client's address, one rule for every throttle and record (login lockouts, join links, consent).

``X-Forwarded-For`` is written by whoever sends the request, so it is trusted only as far as the
deployment says: ``NUM_PROXIES`` reverse proxies in front of the web processes, each appending the
address it received the connection from. With 0 (the default) the address is ``REMOTE_ADDR``, which
uvicorn itself sets from the header only for peers in ``FORWARDED_ALLOW_IPS`` (see docs/logins.md).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

UNKNOWN = "unknown"


def client_ip(request: HttpRequest) -> str:
    """``REMOTE_ADDR`` when ``NUM_PROXIES`` is 0, else the Nth ``X-Forwarded-For`` entry from the right.

    Entries to the left of that one were supplied by the client and are ignored: prepending forged
    addresses changes nothing.
    """
    meta = getattr(request, "META", {})
    remote = meta.get("REMOTE_ADDR", "") or UNKNOWN
    proxies = int(getattr(settings, "NUM_PROXIES", 0) or 0)
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if not forwarded:
        return remote
    return forwarded[-min(proxies, len(forwarded))]
