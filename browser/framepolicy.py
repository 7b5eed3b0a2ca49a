"""Which screencast frames reach which viewer, and at what quality. Pure: no I/O, no clocks.

Two halves, both fed the current time by their caller:

- :class:`FramePolicy` (one per browser session, in the runner) drops frames identical to the last
  one sent, caps the rate (a frame arriving too early is held as the *pending* frame and flushed
  when its slot comes, so the last picture before the page goes still is never lost), keeps each
  viewer within a byte budget, and picks the quality level from what the viewers report.

Two ladders pick what Chromium is asked for, each with its own reason:

- the **size ladder** (:data:`LEVELS`: 1280x720 q60, 960x540 q45, 640x360 q30) follows the slowest
  viewer: a viewer that falls behind gets smaller frames. It takes precedence: while it is below
  full size the quality ladder neither moves nor applies.
- the **quality ladder** (:data:`QUALITY_LADDER`: q60, q50, q40, q35 at full size) keeps the bytes
  sent within ``max_bytes_per_second`` while the page changes. The rate is measured, not projected:
  the bytes actually sent over the last ``budget_window`` seconds (mean frame size times the frames
  actually sent; times ``max_fps`` instead would lower the quality of a page that changes once a
  second and never fill the budget). Above the budget the quality steps down one rung; it steps back
  up one rung after the rate stayed below ``quality_up_share`` of the budget for
  ``quality_up_after`` seconds (straight to the top when the page is still: nothing is sent). At
  most one change per ``quality_every`` seconds, and never before a whole window has been measured
  at the current quality. Hysteresis: adjacent rungs differ by less than 10 % in frame size and the
  up-threshold is 30 % under the budget, so a step up cannot by itself push the rate over; for pages
  where it does, each step up undone at once doubles the wait before the next (up to
  ``quality_up_max_wait``).
- below the last rung (or at a smaller size) the budget is kept by holding frames: a token bucket
  (filled at ``max_bytes_per_second``, ``budget_burst`` seconds deep) paces frames evenly, and no frame
  goes that would take the last ``budget_window`` seconds over budget. A held frame is the pending
  frame (the newest replaces it, never a queue). Only a large, busy page gets there, and its frame
  rate then drops below ``max_fps``, evenly spaced rather than in bursts; a page that fits keeps a
  full bucket, so the publisher's wake-up jitter does not cost it frames.

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
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Generic, TypeVar


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


#: JPEG qualities at full size (``LEVELS[0]``) for the byte budget, best first. Sizes of a 1280x720
#: frame of the demo loan form while someone types (docs/benchmarks-screencast.md): q60 37.0 KB,
#: q50 33.9, q40 30.7, q35 28.8, q30 27.1. q35 is the floor: the first rung within 300 KB/s at 10 fps
#: on that text-heavy form, with text still readable; q30 would save 6 % more at the price of visible
#: ringing around letters, so past q35 the policy holds frames instead.
QUALITY_LADDER: tuple[int, ...] = (60, 50, 40, 35)
#: A frame's size at each rung as a share of its size at q60, measured on the demo form at 1280x720
#: (37.0, 33.9, 30.7 and 28.8 KB): a rate well over the budget goes down as many rungs as it needs
#: in one change instead of one rung every few seconds.
QUALITY_SIZE_SHARE: dict[int, float] = {60: 1.0, 50: 0.916, 40: 0.83, 35: 0.778}
#: Per viewer while the page changes (the ``BROWSER_SCREENCAST_MAX_BYTES_PER_SECOND`` default).
DEFAULT_MAX_BYTES_PER_SECOND = 300 * 1024


class Verdict(StrEnum):
    SEND = "send"
    UNCHANGED = "unchanged"  # identical to the last frame sent
    DEFERRED = "deferred"  # too early, or over the byte budget: kept as the pending frame


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
    """Per-session frame decisions: dedupe, rate cap with a trailing frame, byte budget, quality."""

    max_fps: float = 10.0
    levels: tuple[QualityLevel, ...] = LEVELS
    max_in_flight: int = 3
    step_down_every: float = 1.0  # size ladder: at most one step down per this many seconds
    recover_after: float = 5.0  # size ladder: all viewers keeping up this long: one step up
    viewer_expiry: float = 5.0  # a viewer silent this long no longer counts
    max_bytes_per_second: float = DEFAULT_MAX_BYTES_PER_SECOND  # per viewer; 0: no budget
    qualities: tuple[int, ...] = QUALITY_LADDER
    budget_window: float = 2.0  # the bytes sent are measured over this many seconds
    quality_every: float = 2.0  # at most one quality change per this many seconds
    quality_up_share: float = 0.7  # a step up needs the rate below this share of the budget …
    quality_up_after: float = 5.0  # … for this long (doubled after a step up that did not hold)
    quality_up_max_wait: float = 60.0
    budget_burst: float = 0.2  # holding: the token bucket's depth, in seconds of budget

    level_index: int = 0  # the size ladder
    quality_rung: int = 0  # the quality ladder (applies at level_index 0 only)
    sent: int = 0
    skipped_unchanged: int = 0
    deferred: int = 0
    held_for_budget: int = 0  # frames held because sending them would exceed the budget
    bytes_sent: int = 0
    _last_digest: bytes | None = None
    _next_slot: float | None = None  # the next slot on the grid
    _not_before: float = float("-inf")  # half an interval after the last send
    _recent: deque[float] = field(default_factory=deque)  # the last ceil(max_fps) send times
    _pending: bytes | None = None
    _viewers: dict[str, _ViewerReport] = field(default_factory=dict)
    _last_step_at: float = float("-inf")
    _behind_at: float = float("-inf")
    _sends: deque[tuple[float, int]] = field(default_factory=deque)  # (time, bytes) in the window
    _changed_at: float = float("-inf")  # the last level or quality change, or screencast restart
    _quality_changed_at: float = float("-inf")
    _last_quality_step: int = 0  # +1 up, -1 down
    _under_since: float | None = None
    _up_wait: float = 0.0
    _tokens: float | None = None  # the token bucket (bytes, < 0: debt) at _tokens_at; None: full
    _tokens_at: float = 0.0

    def __post_init__(self) -> None:
        self._up_wait = self.quality_up_after

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
        """What the screencast should run at: the size ladder's level, at full size with the quality
        ladder's JPEG quality."""
        level = self.levels[self.level_index]
        if self.level_index == 0:
            quality = min(level.quality, self.qualities[self.quality_rung])
            if quality != level.quality:
                return replace(level, quality=quality)
        return level

    @property
    def holding(self) -> bool:
        """The budget is kept by holding frames: no quality rung is left (or a smaller size rules)."""
        return self.max_bytes_per_second > 0 and (
            self.level_index > 0 or self.quality_rung >= len(self.qualities) - 1
        )

    @property
    def _depth(self) -> float:
        return self.max_bytes_per_second * self.budget_burst

    def bytes_per_second(self, now: float) -> float:
        """Bytes sent over the last ``budget_window`` seconds, per second."""
        return sum(n for t, n in self._sends if t > now - self.budget_window) / self.budget_window

    def mean_frame_bytes(self, now: float) -> float:
        """The mean size of the frames sent over the last ``budget_window`` seconds (0: none)."""
        sizes = [n for t, n in self._sends if t > now - self.budget_window]
        return sum(sizes) / len(sizes) if sizes else 0.0

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
        if now < self._budget_allowed_at(len(data)) - SLOT_EPSILON:
            self.held_for_budget += 1
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
        delay = max(self._allowed_at(), self._budget_allowed_at(len(self._pending))) - now
        return 0.0 if delay <= SLOT_EPSILON else delay

    def forget_last(self) -> None:
        """After a restart (new level, new context) the next frame is sent even if identical."""
        self._last_digest = None

    def restarted(self, now: float) -> None:
        """The screencast is being restarted (new level or quality, new context). Chromium sends the
        current picture at once (within ~30 ms, measured), so a held frame, captured at the old
        settings, is dropped rather than sent as a second copy of that picture; the next frame goes
        even if identical; the quality ladder waits for a whole window at the new settings."""
        self._pending = None
        self._last_digest = None
        self._changed_at = now
        self._under_since = None

    def _allowed_at(self) -> float:
        """The earliest time the next frame may go: its slot, the minimum gap and the window bound."""
        if self._next_slot is None or self.interval <= 0:
            return float("-inf")
        allowed = max(self._next_slot, self._not_before)
        if len(self._recent) >= self.window_frames:
            allowed = max(allowed, self._recent[0] + self.window)
        return allowed

    def _budget_allowed_at(self, size: int) -> float:
        """While :attr:`holding`: the earliest time a frame of ``size`` bytes may go: when the token
        bucket holds it (or is full, for a frame bigger than the bucket) and it keeps the last
        ``budget_window`` seconds within the budget (a frame bigger than the whole window's budget
        goes once the window is empty). Otherwise no limit."""
        if not self.holding:
            return float("-inf")
        allowed = float("-inf")
        if self._tokens is not None:
            need = min(size, self._depth)
            if self._tokens < need:
                allowed = self._tokens_at + (need - self._tokens) / self.max_bytes_per_second
        room = self.max_bytes_per_second * self.budget_window
        total = sum(n for _, n in self._sends)
        for t, n in self._sends:  # oldest first: each leaves the window budget_window after it went
            if total + size <= room:
                break
            total -= n
            allowed = max(allowed, t + self.budget_window)
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
        self._sends.append((now, len(data)))
        if self.max_bytes_per_second > 0:
            tokens = self._depth if self._tokens is None else self._tokens
            tokens = min(self._depth, tokens + (now - self._tokens_at) * self.max_bytes_per_second)
            # A frame bigger than what is left goes into debt (paid back before the next one goes);
            # older debt, run up while not holding, is forgotten.
            self._tokens = max(0.0, tokens) - len(data)
            self._tokens_at = now
        while self._sends and self._sends[0][0] <= now - self.budget_window:
            self._sends.popleft()
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
        """The new level when it should change now, else None (the caller restarts the screencast
        and calls :meth:`restarted`). The size ladder first (the slowest viewer), then the budget."""
        level = self._adapt_size(now)
        if level is None:
            level = self._adapt_quality(now)
        if level is not None:
            self._changed_at = now
            self._under_since = None
        return level

    def _adapt_size(self, now: float) -> QualityLevel | None:
        """Size ladder: follows the slowest viewer."""
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

    def _adapt_quality(self, now: float) -> QualityLevel | None:
        """Quality ladder: keeps the bytes sent within the budget at full size."""
        if self.max_bytes_per_second <= 0:
            return None
        if self.level_index > 0:  # a viewer is behind: the size ladder rules, full size is not measured
            self._under_since = None
            return None
        if now - self._changed_at < max(self.budget_window, self.quality_every):
            return None  # the window still holds frames from before the last change
        budget = self.max_bytes_per_second
        rate = self.bytes_per_second(now)
        if rate == 0:
            self._up_wait = self.quality_up_after  # a still page: earlier back-off no longer applies
        if rate > budget:
            self._under_since = None
            if self.quality_rung >= len(self.qualities) - 1:
                return None  # the floor: frames are held instead
            if self._last_quality_step > 0 and now - self._quality_changed_at < self._up_wait:
                self._up_wait = min(2 * self._up_wait, self.quality_up_max_wait)  # that step up did not hold
            return self._step_quality(self._rungs_down(rate, budget), now)
        if rate >= self.quality_up_share * budget:
            self._under_since = None
            return None
        if self._under_since is None:
            self._under_since = now
        if self.quality_rung > 0 and now - self._under_since >= self._up_wait:
            # A still page goes back to the best quality at once: nothing is being sent, so one
            # restart (one fresh picture) instead of one per rung.
            return self._step_quality(-self.quality_rung if rate == 0 else -1, now)
        return None

    def _rungs_down(self, rate: float, budget: float) -> int:
        """How many rungs down the projected rate fits the budget (the floor at most); one rung
        when the ladder's qualities are not in :data:`QUALITY_SIZE_SHARE`."""
        current = self.qualities[self.quality_rung]
        for rung in range(self.quality_rung + 1, len(self.qualities)):
            quality = self.qualities[rung]
            if current not in QUALITY_SIZE_SHARE or quality not in QUALITY_SIZE_SHARE:
                return 1
            if rate * QUALITY_SIZE_SHARE[quality] / QUALITY_SIZE_SHARE[current] <= budget:
                return rung - self.quality_rung
        return len(self.qualities) - 1 - self.quality_rung

    def _step_quality(self, rungs: int, now: float) -> QualityLevel:
        self.quality_rung += rungs
        self._last_quality_step = 1 if rungs < 0 else -1  # +1: the quality went up
        self._quality_changed_at = now
        return self.level


#: What a gate holds back: whatever the viewer socket sends as one frame.
FrameT = TypeVar("FrameT")


@dataclass
class FrameGate(Generic[FrameT]):
    """Per viewer: frames are numbered 1, 2, … in the order sent; the viewer acks the last number."""

    max_in_flight: int = 3
    sent: int = 0
    acked: int = 0
    dropped: int = 0  # held back or replaced since the last report
    dropped_total: int = 0
    _held: FrameT | None = None

    @property
    def in_flight(self) -> int:
        return self.sent - self.acked

    def offer(self, frame: FrameT) -> int | None:
        """The number to send this frame under, or None when held back (replacing any held one)."""
        if self.in_flight >= self.max_in_flight:
            self.dropped += 1
            self.dropped_total += 1
            self._held = frame
            return None
        self.sent += 1
        return self.sent

    def ack(self, number: int) -> tuple[int, FrameT] | None:
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
