"""What the relay learns about the customer's page — friction signals, disconnects and the quality
of each connection — handed to whoever keeps them.

The relay (``live``) sits above this app and the analytics app above the relay: the relay reports
here and analytics subscribes in its ``AppConfig.ready()``, so neither imports the other. Reports
carry codes, field ids and a page address without its query, never what the customer typed. A
subscriber that fails is logged and skipped: friction analytics must never break a live session.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

#: Close codes of the customer's socket and what they say about why it closed.
DISCONNECT_CAUSES = {
    1000: "closed",  # the page stopped sharing or navigated away cleanly
    1001: "page_left",  # tab closed, reload or navigation
    1006: "network",  # dropped without a close frame: the network or the browser process
    1009: "too_large",
    1011: "server_error",
    1012: "server_restart",
    4000: "ended",
    4401: "refused",
    4403: "refused",
    4408: "network",  # no pong within the server's heartbeat: how a dropped network shows up there
    4409: "replaced",
    4410: "refused",
    4429: "rate_limited",
}


@dataclass(frozen=True)
class PageSignal:
    session_id: int
    kind: str  # protocol.SIGNAL_KINDS
    page_url: str  # scheme, host and path: no query, no fragment
    field: str  # the field's id or name as the widget reports it; "" for the page
    detail: str  # a short code or text the widget sent (already redacted)


@dataclass(frozen=True)
class Disconnect:
    session_id: int
    code: int
    cause: str


#: Upper bounds (ms) of the round-trip histogram of a connection; one more bucket holds the rest.
RTT_BOUNDS_MS = (25, 50, 100, 200, 400, 800, 1600)
QUALITY_LEVELS = ("good", "fair", "poor")


@dataclass(frozen=True)
class ConnectionQuality:
    """What one customer socket measured, reported when it closes.

    Round trips are the relay's heartbeat (server → page → server), one every few seconds, kept as
    a histogram so that a session's and a period's percentiles can be added up from connections.
    """

    session_id: int
    seconds: float  # how long the socket was up after the page said hello
    rtt_buckets: tuple[int, ...]  # len(RTT_BOUNDS_MS) + 1 counts
    rtt_max_ms: int
    levels: tuple[int, int, int]  # heartbeats measured good, fair, poor
    gaps: int  # sequence ranges lost between the page and the server
    lost_events: int  # sequence numbers in those ranges
    resyncs: int  # full snapshots asked for to repair the view (after a gap or by the agent)


_signal_handlers: list[Callable[[PageSignal], object]] = []
_disconnect_handlers: list[Callable[[Disconnect], object]] = []
_quality_handlers: list[Callable[[ConnectionQuality], object]] = []


def on_signal(handler: Callable[[PageSignal], object]) -> None:
    if handler not in _signal_handlers:
        _signal_handlers.append(handler)


def on_disconnect(handler: Callable[[Disconnect], object]) -> None:
    if handler not in _disconnect_handlers:
        _disconnect_handlers.append(handler)


def on_quality(handler: Callable[[ConnectionQuality], object]) -> None:
    if handler not in _quality_handlers:
        _quality_handlers.append(handler)


def listening() -> bool:
    """Whether anyone keeps signals (the relay then skips the database hop altogether)."""
    return bool(_signal_handlers or _disconnect_handlers or _quality_handlers)


def page_address(url: str) -> str:
    """The page as friction is grouped by: scheme, host and path."""
    parts = urlsplit(url or "")
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}{parts.path}"[:500]


def disconnect_cause(code: int | None) -> str:
    if code is None:
        return "unknown"
    return DISCONNECT_CAUSES.get(code, "other")


def _deliver(handlers: list[Callable[[Any], object]], report: Any, what: str) -> None:
    for handler in list(handlers):
        try:
            handler(report)
        except Exception:
            logger.warning("a %s subscriber failed (session %s)", what, report.session_id, exc_info=True)


def report_signal(signal: PageSignal) -> None:
    _deliver(_signal_handlers, signal, "page-signal")


def report_disconnect(disconnect: Disconnect) -> None:
    _deliver(_disconnect_handlers, disconnect, "disconnect")


def report_quality(quality: ConnectionQuality) -> None:
    _deliver(_quality_handlers, quality, "connection-quality")
