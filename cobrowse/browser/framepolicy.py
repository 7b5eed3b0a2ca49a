"""Which screencast frames reach which viewer, and at what quality. Pure: no I/O, no clocks.

Two halves, both fed the current time by their caller:

- :class:`FramePolicy` (one per browser session, in the runner) drops frames identical to the last
  one sent, caps the rate (a frame arriving too early is held as the *pending* frame and flushed
  when its slot comes, so the last picture before the page goes still is never lost), and picks the
  quality level from what the viewers report.

The rate cap schedules by deadline: frame slots lie on a grid ``1 / max_fps`` apart, and a frame
sent a little after its slot (event-loop jitter, a paint arriving between slots) does not push the
following slots back, so an animated page gets the full rate instead of drifting below it. Three
bounds keep the grid honest:

- after a quiet spell (the sender missed a whole slot) the grid restarts at the next frame: missed
  slots are never caught up in a burst;
- two frames are never closer than half an interval;
- never more than ``ceil(max_fps)`` frames in any ``ceil(max_fps) / max_fps`` seconds (for an
  integer cap: never more than ``max_fps`` frames in any 1 s window), to within ``SLOT_EPSILON``.

That last bound has a small price: a frame that went out late holds back the one ten slots after
it, so with a publisher that wakes a few milliseconds late an animated page gets 9.9+ fps rather
than exactly 10 (docs/benchmarks-screencast.md).
- :class:`FrameGate` (one per viewer socket) lets at most ``max_in_flight`` frames go unacknowledged;
  while the viewer is behind, newer frames replace the one held back, so a slow viewer gets fewer
  frames and never a growing queue, and it always ends on the newest picture.
"""

from __future__ import annotations

import hashlib
import math
from collections import deque
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


#: Slack when comparing a time with a slot (float rounding of the grid, never a real allowance).
SLOT_EPSILON = 1e-6
#: Two frames are never closer than this share of the interval.
MIN_GAP_SHARE = 0.5


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
    _next_slot: float | None = None  # the next slot on the grid
    _not_before: float = float("-inf")  # half an interval after the last send
    _recent: deque[float] = field(default_factory=deque)  # the last ceil(max_fps) send times
    _pending: bytes | None = None
    _viewers: dict[str, _ViewerReport] = field(default_factory=dict)
    _last_step_at: float = float("-inf")
    _behind_at: float = float("-inf")

    @property
    def interval(self) -> float:
        return 1.0 / self.max_fps if self.max_fps > 0 else 0.0

    @property
    def window_frames(self) -> int:
        """At most this many frames in any :attr:`window` seconds (``max_fps`` and 1 s for integer caps)."""
        return max(1, math.ceil(self.max_fps - SLOT_EPSILON)) if self.max_fps > 0 else 0

    @property
    def window(self) -> float:
        return self.window_frames * self.interval

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
        if now < self._allowed_at() - SLOT_EPSILON:
            self.deferred += 1
            self._pending = data
            return Verdict.DEFERRED
        self._mark_sent(data, digest, now)
        return Verdict.SEND

    def flush(self, now: float) -> bytes | None:
        """The pending frame, once its slot has come (the caller publishes it), else None."""
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
        delay = self._allowed_at() - now
        return 0.0 if delay <= SLOT_EPSILON else delay

    def forget_last(self) -> None:
        """After a restart (new level, new context) the next frame is sent even if identical."""
        self._last_digest = None

    def _allowed_at(self) -> float:
        """The earliest time the next frame may go: its slot, the minimum gap and the window bound."""
        if self._next_slot is None or self.interval <= 0:
            return float("-inf")
        allowed = max(self._next_slot, self._not_before)
        if len(self._recent) >= self.window_frames:
            allowed = max(allowed, self._recent[0] + self.window)
        return allowed

    def _mark_sent(self, data: bytes, digest: bytes, now: float) -> None:
        if self.interval > 0:
            # The slot this frame fills: the one it was waiting for, unless the sender missed a
            # whole slot (quiet page, first frame): then the grid restarts here, with no catch-up.
            slot = self._next_slot
            if slot is None or now - slot >= self.interval:
                slot = now
            self._next_slot = slot + self.interval
            self._not_before = now + MIN_GAP_SHARE * self.interval
            self._recent.append(now)
            while len(self._recent) > self.window_frames:
                self._recent.popleft()
        self._last_digest = digest
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
