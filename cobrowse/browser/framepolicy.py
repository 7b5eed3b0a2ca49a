"""Which screencast frames reach which viewer, and at what quality. Pure: no I/O, no clocks.

Two halves, both fed the current time by their caller:

- :class:`FramePolicy` (one per browser session, in the runner) drops frames identical to the last
  one sent, caps the rate (a frame arriving too early is held as the *pending* frame and flushed
  when the interval is over, so the last picture before the page goes still is never lost), and
  picks the quality level from what the viewers report.
- :class:`FrameGate` (one per viewer socket) lets at most ``max_in_flight`` frames go unacknowledged;
  while the viewer is behind, newer frames replace the one held back, so a slow viewer gets fewer
  frames and never a growing queue, and it always ends on the newest picture.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True)
class QualityLevel:
    name: str
    quality: int  # JPEG quality for Page.startScreencast
    max_width: int
    max_height: int


#: From best to smallest. The runner restarts the screencast when the level changes.
LEVELS: tuple[QualityLevel, ...] = (
    QualityLevel("high", 60, 1280, 720),
    QualityLevel("medium", 45, 960, 540),
    QualityLevel("low", 30, 640, 360),
)


class Verdict(StrEnum):
    SEND = "send"
    UNCHANGED = "unchanged"  # identical to the last frame sent
    DEFERRED = "deferred"  # too early: kept as the pending frame


def frame_digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


@dataclass
class _ViewerReport:
    lag: int
    dropped: int
    at: float


@dataclass
class FramePolicy:
    """Per-session frame decisions: dedupe, rate cap with a trailing frame, quality adaptation."""

    max_fps: float = 10.0
    levels: tuple[QualityLevel, ...] = LEVELS
    max_in_flight: int = 3
    step_down_every: float = 1.0  # at most one step down per this many seconds
    recover_after: float = 5.0  # all viewers keeping up this long: one step up
    viewer_expiry: float = 5.0  # a viewer silent this long no longer counts

    level_index: int = 0
    sent: int = 0
    skipped_unchanged: int = 0
    deferred: int = 0
    bytes_sent: int = 0
    _last_digest: bytes | None = None
    _last_sent_at: float | None = None
    _pending: bytes | None = None
    _viewers: dict[str, _ViewerReport] = field(default_factory=dict)
    _last_step_at: float = float("-inf")
    _behind_at: float = float("-inf")

    @property
    def interval(self) -> float:
        return 1.0 / self.max_fps if self.max_fps > 0 else 0.0

    @property
    def level(self) -> QualityLevel:
        return self.levels[self.level_index]

    # --- frames -----------------------------------------------------------------------------

    def offer(self, data: bytes, now: float) -> Verdict:
        """Judge a frame from the screencast; on ``SEND`` the caller publishes it."""
        digest = frame_digest(data)
        if digest == self._last_digest:
            self.skipped_unchanged += 1
            self._pending = None  # the viewers already show this picture
            return Verdict.UNCHANGED
        if self._last_sent_at is not None and now - self._last_sent_at < self.interval:
            self.deferred += 1
            self._pending = data
            return Verdict.DEFERRED
        self._mark_sent(data, digest, now)
        return Verdict.SEND

    def flush(self, now: float) -> bytes | None:
        """The pending frame, once the interval allows it (the caller publishes it), else None."""
        if self._pending is None or self.flush_delay(now) > 0:
            return None
        data, self._pending = self._pending, None
        digest = frame_digest(data)
        if digest == self._last_digest:
            return None
        self._mark_sent(data, digest, now)
        return data

    def flush_delay(self, now: float) -> float:
        """Seconds until the pending frame may go (0: now); ``inf`` when nothing is pending."""
        if self._pending is None:
            return float("inf")
        if self._last_sent_at is None:
            return 0.0
        return max(0.0, self._last_sent_at + self.interval - now)

    def forget_last(self) -> None:
        """After a restart (new level, new context) the next frame is sent even if identical."""
        self._last_digest = None

    def _mark_sent(self, data: bytes, digest: bytes, now: float) -> None:
        self._last_digest = digest
        self._last_sent_at = now
        self.sent += 1
        self.bytes_sent += len(data)

    # --- viewers and quality ----------------------------------------------------------------

    def viewer_report(self, viewer: str, *, lag: int, dropped: int, now: float) -> None:
        """A viewer's gate reports how many frames are unacknowledged and how many it held back."""
        self._viewers[viewer] = _ViewerReport(max(0, int(lag)), max(0, int(dropped)), now)
        if dropped > 0 or lag >= self.max_in_flight:
            self._behind_at = now

    def viewer_left(self, viewer: str) -> None:
        self._viewers.pop(viewer, None)

    def viewers(self, now: float) -> list[str]:
        return [v for v, r in self._viewers.items() if now - r.at <= self.viewer_expiry]

    def adapt(self, now: float) -> QualityLevel | None:
        """The new level when it should change now, else None. Follows the slowest viewer."""
        for viewer, report in list(self._viewers.items()):
            if now - report.at > self.viewer_expiry:
                del self._viewers[viewer]
        slowest_behind = any(r.dropped > 0 or r.lag >= self.max_in_flight for r in self._viewers.values())
        if slowest_behind and now - self._last_step_at >= self.step_down_every:
            if self.level_index < len(self.levels) - 1:
                self.level_index += 1
                self._last_step_at = now
                return self.level
            return None
        keeping_up = not slowest_behind and now - self._behind_at >= self.recover_after
        if keeping_up and self.level_index > 0 and now - self._last_step_at >= self.recover_after:
            self.level_index -= 1
            self._last_step_at = now
            return self.level
        return None


@dataclass
class FrameGate:
    """Per viewer: frames are numbered 1, 2, … in the order sent; the viewer acks the last number."""

    max_in_flight: int = 3
    sent: int = 0
    acked: int = 0
    dropped: int = 0  # held back or replaced since the last report
    dropped_total: int = 0
    _held: object | None = None

    @property
    def in_flight(self) -> int:
        return self.sent - self.acked

    def offer(self, frame: object) -> int | None:
        """The number to send this frame under, or None when held back (replacing any held one)."""
        if self.in_flight >= self.max_in_flight:
            self.dropped += 1
            self.dropped_total += 1
            self._held = frame
            return None
        self.sent += 1
        return self.sent

    def ack(self, number: int) -> tuple[int, object] | None:
        """Record an acknowledgement; returns (number, frame) for a held frame that may go now."""
        if not isinstance(number, int) or not self.acked < number <= self.sent:
            return None  # stale, repeated or invented: ignore
        self.acked = number
        if self._held is not None and self.in_flight < self.max_in_flight:
            frame, self._held = self._held, None
            self.sent += 1
            return self.sent, frame
        return None

    def report(self) -> dict[str, int]:
        """Lag and drops since the last report (for the runner's :meth:`FramePolicy.viewer_report`)."""
        report = {"lag": self.in_flight, "dropped": self.dropped}
        self.dropped = 0
        return report
