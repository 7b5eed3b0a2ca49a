"""Frame policy: dedupe, rate cap with a trailing frame, byte budget, quality following the slowest viewer."""

from __future__ import annotations

import itertools
import random

import pytest

from browser.framepolicy import (
    LEVELS,
    QUALITY_LADDER,
    FrameGate,
    FramePolicy,
    Verdict,
    frame_digest,
)

BUDGET = 300 * 1024
#: Frame size of the demo loan form at 1280x720 while someone types, by JPEG quality (bench figures).
FORM_KB = {60: 37.0, 50: 33.9, 40: 30.7, 35: 28.8, 45: 20.1, 30: 12.0}


def _run(
    policy: FramePolicy, source_fps: float, seconds: float, jitter, rng: random.Random | None = None
) -> list[float]:
    """Drive the policy as the runner's publish loop does: frames (all different) arrive at
    ``source_fps``, off the policy's grid by a fixed phase and ``rng`` noise; a held frame is flushed
    when its slot comes, late by ``jitter()`` (the loop's wake-up delay). Returns the send times."""
    noise = (lambda: rng.uniform(0, 0.004)) if rng else (lambda: 0.0)
    arrivals = sorted(
        i / source_fps + (0.0073 + noise() if i else 0.0) for i in range(int(seconds * source_fps))
    )
    sent: list[float] = []
    i, now, wake = 0, 0.0, float("inf")
    while i < len(arrivals):
        if wake < arrivals[i]:
            now, wake = wake, float("inf")
            if policy.flush(now) is not None:
                sent.append(now)
        else:
            now = arrivals[i]
            if policy.offer(f"frame {i}".encode(), now) is Verdict.SEND:
                sent.append(now)
            i += 1
        delay = policy.flush_delay(now)
        if delay != float("inf") and wake == float("inf"):
            wake = now + delay + jitter()
    return sent


def _max_in_window(times: list[float], window: float) -> int:
    """The most sends in any half-open window of ``window`` seconds."""
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


def test_identical_frames_are_skipped():
    policy = FramePolicy(max_fps=10)
    assert policy.offer(b"a", 0.0) is Verdict.SEND
    assert policy.offer(b"a", 1.0) is Verdict.UNCHANGED
    assert policy.offer(b"a", 2.0) is Verdict.UNCHANGED
    assert policy.offer(b"b", 3.0) is Verdict.SEND
    assert (policy.sent, policy.skipped_unchanged) == (2, 2)


def test_rate_is_capped_and_the_last_frame_is_flushed():
    policy = FramePolicy(max_fps=10)
    assert policy.offer(b"1", 0.00) is Verdict.SEND
    assert policy.offer(b"2", 0.03) is Verdict.DEFERRED
    assert policy.offer(b"3", 0.06) is Verdict.DEFERRED
    assert policy.flush(0.08) is None  # interval not over yet
    assert abs(policy.flush_delay(0.08) - 0.02) < 1e-9
    assert policy.flush(0.10) == b"3"  # the newest held frame, not the first
    assert policy.flush(0.30) is None
    assert policy.flush_delay(0.30) == float("inf")


def test_sixty_fps_input_gives_ten_fps():
    policy = FramePolicy(max_fps=10)
    sent = 0
    for i in range(600):  # 10 s at 60 fps, every frame different
        now = i / 60
        if policy.offer(f"frame {i}".encode(), now) is Verdict.SEND:
            sent += 1
        if policy.flush(now) is not None:
            sent += 1
    assert sent == 100


@pytest.mark.parametrize("mean_jitter", [0.002, 0.005, 0.015])
def test_a_late_publish_loop_still_delivers_the_cap(mean_jitter):
    """Measuring from the last send let every wake-up delay and every frame's phase push the next
    slot back (9.4-9.8 fps here at a 10 fps cap); slots on a fixed grid keep the rate. A strict
    1 s window still costs a little: a frame that went late holds back the one ten slots later."""
    rng = random.Random(7)
    policy = FramePolicy(max_fps=10)
    sent = _run(policy, 60, 60.0, lambda: rng.expovariate(1 / mean_jitter), rng)
    assert len(sent) >= 594  # at least 9.9 fps over 60 s
    assert _max_in_window(sent, 1.0 - 1e-6) <= 10
    assert min(b - a for a, b in itertools.pairwise(sent)) >= 0.05 - 1e-6


def test_the_cap_holds_in_every_window_whatever_the_timing():
    for seed in range(20):
        rng = random.Random(seed)
        policy = FramePolicy(max_fps=10)
        jitter = lambda rng=rng: rng.choice([0, 0.001, 0.04, 0.2])  # noqa: E731
        sent = _run(policy, rng.choice([24, 30, 60, 144]), 20.0, jitter, rng)
        assert _max_in_window(sent, 1.0 - 1e-6) <= 10, seed
        assert min(b - a for a, b in itertools.pairwise(sent)) >= 0.05 - 1e-6, seed


def test_a_late_frame_keeps_the_next_slot_on_the_grid():
    policy = FramePolicy(max_fps=10)
    assert policy.offer(b"1", 0.00) is Verdict.SEND
    assert policy.offer(b"2", 0.13) is Verdict.SEND  # its slot was 0.10
    assert policy.offer(b"3", 0.20) is Verdict.SEND  # the next slot is 0.20, not 0.23
    assert policy.offer(b"4", 0.25) is Verdict.DEFERRED
    assert abs(policy.flush_delay(0.25) - 0.05) < 1e-9


def test_frames_are_never_closer_than_half_an_interval():
    policy = FramePolicy(max_fps=10)
    policy.offer(b"1", 0.00)
    assert policy.offer(b"2", 0.19) is Verdict.SEND  # late by 0.09 for the slot at 0.10
    assert policy.offer(b"3", 0.20) is Verdict.DEFERRED  # the 0.20 slot would be 10 ms later
    assert abs(policy.flush_delay(0.20) - 0.04) < 1e-9  # 0.24: half an interval after 0.19
    assert policy.flush(0.24) == b"3"
    assert policy.offer(b"4", 0.30) is Verdict.SEND  # back on the grid


def test_no_burst_after_a_quiet_spell():
    policy = FramePolicy(max_fps=10)
    policy.offer(b"1", 0.0)
    assert policy.offer(b"2", 5.0) is Verdict.SEND  # 49 slots missed: none is caught up
    assert policy.offer(b"3", 5.01) is Verdict.DEFERRED
    assert policy.offer(b"4", 5.05) is Verdict.DEFERRED
    assert policy.flush(5.09) is None
    assert policy.flush(5.10) == b"4"


def test_eleven_frames_never_share_a_second():
    """A frame late by 40 ms followed by nine on their slots: the eleventh waits for the window."""
    policy = FramePolicy(max_fps=10)
    policy.offer(b"0", 0.0)
    times = [0.14] + [k / 10 for k in range(2, 11)]
    for k, t in enumerate(times, start=1):
        assert policy.offer(f"{k}".encode(), t) is Verdict.SEND, t
    assert policy.offer(b"11", 1.10) is Verdict.DEFERRED  # 0.14 .. 1.10 would hold eleven
    assert abs(policy.flush_delay(1.10) - 0.04) < 1e-9
    assert policy.flush(1.14) == b"11"


def test_a_fractional_cap_keeps_its_rate():
    policy = FramePolicy(max_fps=7.5)
    sent = _run(policy, 60, 40.0, lambda: 0.003, random.Random(3))
    assert 295 <= len(sent) <= 301
    assert _max_in_window(sent, 8 / 7.5 - 1e-6) <= 8


def test_no_cap_sends_every_different_frame():
    policy = FramePolicy(max_fps=0)
    assert [policy.offer(f"{i}".encode(), i / 1000) for i in range(5)] == [Verdict.SEND] * 5


def test_pending_frame_identical_to_last_sent_is_not_resent():
    policy = FramePolicy(max_fps=10)
    policy.offer(b"x", 0.0)
    policy.offer(b"y", 0.01)
    assert policy.offer(b"x", 0.02) is Verdict.UNCHANGED  # back to what viewers already show
    assert policy.flush(0.5) is None


def test_forget_last_resends_after_restart():
    policy = FramePolicy()
    policy.offer(b"same", 0.0)
    policy.forget_last()
    assert policy.offer(b"same", 1.0) is Verdict.SEND


def test_quality_steps_down_for_a_slow_viewer_and_recovers():
    policy = FramePolicy(max_in_flight=3, step_down_every=1.0, recover_after=5.0)
    assert policy.level == LEVELS[0]
    policy.viewer_report("fast", lag=0, dropped=0, now=0.0)
    policy.viewer_report("slow", lag=3, dropped=4, now=0.0)
    assert policy.adapt(0.0) == LEVELS[1]
    assert policy.adapt(0.5) is None  # not twice within a second
    policy.viewer_report("slow", lag=3, dropped=2, now=1.2)
    assert policy.adapt(1.2) == LEVELS[2]
    policy.viewer_report("slow", lag=3, dropped=2, now=2.5)
    assert policy.adapt(2.5) is None  # already the smallest
    policy.viewer_report("slow", lag=0, dropped=0, now=3.0)
    assert policy.adapt(4.0) is None  # must keep up for recover_after first
    policy.viewer_report("slow", lag=0, dropped=0, now=7.6)
    policy.viewer_report("fast", lag=0, dropped=0, now=7.6)
    assert policy.adapt(7.6) == LEVELS[1]
    policy.viewer_report("slow", lag=0, dropped=0, now=12.7)
    policy.viewer_report("fast", lag=0, dropped=0, now=12.7)
    assert policy.adapt(12.7) == LEVELS[0]


def test_a_silent_viewer_stops_counting():
    policy = FramePolicy(viewer_expiry=5.0)
    policy.viewer_report("gone", lag=3, dropped=9, now=0.0)
    assert policy.viewers(1.0) == ["gone"]
    assert policy.viewers(6.0) == []
    policy.adapt(0.0)
    policy.viewer_left("gone")
    assert policy.viewers(0.0) == []


def test_gate_never_queues_more_than_max_in_flight():
    gate = FrameGate(max_in_flight=2)
    assert gate.offer("f1") == 1
    assert gate.offer("f2") == 2
    for i in range(3, 50):
        assert gate.offer(f"f{i}") is None  # held, replacing the previous held frame
    assert gate.in_flight == 2
    assert gate.report() == {"lag": 2, "dropped": 47}
    assert gate.report() == {"lag": 2, "dropped": 0}
    assert gate.ack(1) == (3, "f49")  # the newest picture goes as soon as there is room
    assert gate.ack(2) is None
    assert gate.ack(3) is None
    assert gate.in_flight == 0


def test_gate_ignores_bogus_acks():
    gate = FrameGate(max_in_flight=2)
    gate.offer("a")
    assert gate.ack(5) is None  # never sent
    assert gate.ack(0) is None
    assert gate.ack("1") is None  # type: ignore[arg-type]
    assert gate.acked == 0
    assert gate.ack(1) is None
    assert gate.ack(1) is None  # repeated
    assert gate.acked == 1


# --- byte budget ------------------------------------------------------------------------------


class _Stream:
    """Drive a policy as the runner does, with frames whose size depends on the quality the
    screencast runs at: frames (all different) arrive at ``source_fps``; a held frame is flushed at
    its slot; ``adapt`` runs every second (the runner's housekeeping) and a returned level restarts
    the screencast at once. Deterministic: sizes come from ``size_of(level, now)``."""

    def __init__(self, policy: FramePolicy, size_of, source_fps: float = 30.0) -> None:
        self.policy = policy
        self.size_of = size_of
        self.source_fps = source_fps
        self.now = 0.0
        self.n = 0
        self.sends: list[tuple[float, int]] = []  # (time, bytes)
        self.changes: list[tuple[float, int]] = []  # (time, JPEG quality), at full size
        self.levels: list[tuple[float, str]] = []
        self.offered: list[bytes] = []
        self.next_frame = 0.0
        self.next_adapt = 1.37  # once a second, off the frame grid

    def frame(self, now: float) -> bytes:
        self.n += 1
        size = int(self.size_of(self.policy.level, now))
        head = f"{self.n} ".encode()
        return head + b"x" * max(0, size - len(head))

    def run(self, seconds: float, still: bool = False) -> None:
        end = self.now + seconds
        step = 1 / self.source_fps
        self.next_frame = max(self.next_frame, self.now)
        while True:
            wake = self.now + self.policy.flush_delay(self.now)
            next_frame = float("inf") if still else self.next_frame
            t = min(next_frame, self.next_adapt, wake)
            if t > end:
                self.now = end
                if still:
                    self.next_frame = end
                return
            self.now = t
            if t == wake:
                data = self.policy.flush(t)
                if data is not None:
                    self.sends.append((t, len(data)))
            elif t == next_frame:
                data = self.frame(t)
                self.offered.append(data)
                if self.policy.offer(data, t) is Verdict.SEND:
                    self.sends.append((t, len(data)))
                self.next_frame = t + step
            else:
                level = self.policy.adapt(t)
                if level is not None:
                    self.policy.restarted(t)
                    self.levels.append((t, level.name))
                    if level.name == "high":
                        self.changes.append((t, level.quality))
                self.next_adapt = t + 1.0

    def rate(self, start: float, end: float) -> float:
        return sum(n for t, n in self.sends if start <= t < end) / (end - start)

    def fps(self, start: float, end: float) -> float:
        return sum(1 for t, _ in self.sends if start <= t < end) / (end - start)

    def worst_window(self, start: float, window: float = 2.0) -> float:
        """The most bytes per second over any ``window`` seconds (ending on a send) after ``start``;
        the window is short by the policy's float slack, as in :func:`_max_in_window`."""
        times = [(t, n) for t, n in self.sends if t >= start]
        best = 0.0
        for i, (t, _) in enumerate(times):
            total = sum(n for u, n in times[: i + 1] if u > t - window + 1e-6)
            best = max(best, total / window)
        return best


def _form(level, _now) -> float:
    """The demo form while someone types: its frame size at the screencast's quality."""
    return FORM_KB[level.quality] * 1000


def test_a_busy_form_settles_within_budget_at_full_size_and_full_rate():
    """37 KB a frame at 10 fps is 370 KB/s: the quality steps down at 1280x720 until it fits,
    and the frame rate stays at the cap (no frame is held for the budget)."""
    stream = _Stream(FramePolicy(max_fps=10, max_bytes_per_second=BUDGET), _form)
    stream.run(60.0)
    policy = stream.policy
    assert stream.rate(0.0, 2.0) > BUDGET  # the first seconds at q60 are over
    assert policy.level.quality < 60
    assert (policy.level.max_width, policy.level.max_height) == (1280, 720)
    assert [q for _, q in stream.changes] == sorted((q for _, q in stream.changes), reverse=True)
    settled = stream.changes[-1][0] + 2.0
    assert settled < 10.0  # two or three steps, at most one every 2 s
    assert stream.worst_window(settled) <= BUDGET
    assert stream.fps(settled, 60.0) >= 9.9
    assert policy.held_for_budget == 0


def test_a_rate_well_over_the_budget_goes_down_the_rungs_it_needs_in_one_change():
    """370 KB/s against a 300 KiB/s budget: one restart straight to the rung that fits, about
    2 s after the page got busy, not one rung every 2 s."""
    stream = _Stream(FramePolicy(max_fps=10, max_bytes_per_second=BUDGET), _form)
    stream.run(30.0)
    assert len(stream.changes) == 1
    (changed_at, quality) = stream.changes[0]
    assert quality in (40, 35) and changed_at <= 3.0
    assert stream.worst_window(changed_at + 2.0) <= BUDGET
    assert stream.fps(changed_at + 2.0, 30.0) >= 9.9


def test_a_ladder_without_known_sizes_steps_one_rung_at_a_time():
    sizes = {60: 37_000, 58: 36_000, 35: 28_800}
    policy = FramePolicy(max_fps=10, max_bytes_per_second=BUDGET, qualities=(60, 58, 35))
    stream = _Stream(policy, lambda level, _now: sizes[level.quality])
    stream.run(30.0)
    assert [q for _, q in stream.changes] == [58, 35]  # q58's size is unknown: one rung, then on


def test_the_budget_setting_is_what_the_quality_follows():
    """The same stream with a higher budget keeps a better quality; with no budget q60 throughout."""
    loose = _Stream(FramePolicy(max_fps=10, max_bytes_per_second=350 * 1000), _form)
    loose.run(30.0)
    assert loose.policy.level.quality == 50
    off = _Stream(FramePolicy(max_fps=10, max_bytes_per_second=0), _form)
    off.run(30.0)
    assert off.policy.level.quality == 60
    assert off.changes == []
    assert off.rate(5.0, 30.0) > BUDGET


def test_small_frames_step_the_quality_back_up():
    policy = FramePolicy(max_fps=10, max_bytes_per_second=BUDGET)
    stream = _Stream(policy, _form)
    stream.run(20.0)
    low = policy.level.quality
    assert low < 60
    stream.size_of = lambda level, _now: 8000 if level.quality < 60 else 12000  # 80-120 KB/s
    start = stream.now
    stream.run(60.0)
    ups = [(t, q) for t, q in stream.changes if t > start]
    assert [q for _, q in ups] == [q for q in QUALITY_LADDER if q > low][::-1]
    assert policy.level.quality == 60
    # one rung at a time, each after at least quality_up_after seconds comfortably under budget
    assert all(b[0] - a[0] >= policy.quality_up_after for a, b in itertools.pairwise([(start, 0), *ups]))


def test_a_stream_near_the_budget_does_not_oscillate():
    """Frames that put q50 just over the budget and q40 just under it (with noise): two steps down,
    then the quality stays; 97 % of the budget is far from the 70 % a step up needs."""
    rng = random.Random(11)
    per_frame = {60: 33_000, 50: 31_300, 40: 29_800, 35: 28_000}  # q50 102 %, q40 97 % at 10 fps

    def size_of(level, _now):
        return per_frame[level.quality] * rng.uniform(0.98, 1.02)

    stream = _Stream(FramePolicy(max_fps=10, max_bytes_per_second=BUDGET), size_of)
    stream.run(300.0)
    assert [q for _, q in stream.changes] == [50, 40]
    assert stream.worst_window(stream.changes[-1][0] + 2.0) <= BUDGET * 1.03  # noise on frame sizes
    assert stream.fps(10.0, 300.0) >= 9.9


def test_a_step_up_that_does_not_hold_backs_off():
    """A page whose frames are 2.5 times bigger at q60 than at q50 (150 % of the budget against
    60 %): each step up is undone at once, so the wait before the next one doubles (up to 60 s) and
    the changes thin out instead of flapping every few seconds."""
    per_frame = {60: 46_000, 50: 18_400}

    stream = _Stream(
        FramePolicy(max_fps=10, max_bytes_per_second=BUDGET, qualities=(60, 50)),
        lambda level, _now: per_frame[level.quality],
    )
    stream.run(600.0)
    ups = [t for t, q in stream.changes if q == 60]
    gaps = [b - a for a, b in itertools.pairwise(ups)]
    assert len(ups) <= 14  # a fixed 5 s wait would step up every ~9 s: 60+ times
    assert gaps[-1] >= 60.0
    assert all(b >= a - 1.0 for a, b in itertools.pairwise(gaps))  # the gaps never shrink
    assert stream.rate(0.0, 600.0) <= BUDGET


def test_a_lagging_viewer_still_gets_smaller_frames_whatever_the_budget():
    """The size ladder wins: a viewer falling behind gets 960x540 q45 even while the budget has the
    quality ladder at a low rung, which neither moves nor applies until full size is back."""
    policy = FramePolicy(max_fps=10, max_bytes_per_second=BUDGET)
    stream = _Stream(policy, _form)
    stream.run(20.0)
    rung = policy.quality_rung
    assert rung > 0
    policy.viewer_report("slow", lag=3, dropped=5, now=stream.now)
    assert policy.adapt(stream.now) == LEVELS[1]
    policy.restarted(stream.now)
    stream.size_of = lambda level, _now: 60_000  # over budget at any size
    for _ in range(10):  # the slow viewer stays behind
        policy.viewer_report("slow", lag=3, dropped=1, now=stream.now)
        stream.run(1.0)
    assert policy.level == LEVELS[2]
    assert policy.quality_rung == rung
    assert stream.worst_window(stream.now - 6.0) <= BUDGET  # held at the smallest size
    stream.size_of = _form
    for _ in range(15):
        policy.viewer_report("slow", lag=0, dropped=0, now=stream.now)
        stream.run(1.0)
    assert policy.level_index == 0
    assert policy.level.quality == QUALITY_LADDER[rung]  # back at full size, at the rung it had


def test_a_still_page_sends_nothing():
    policy = FramePolicy(max_fps=10, max_bytes_per_second=BUDGET)
    stream = _Stream(policy, _form)
    stream.run(60.0, still=True)
    assert stream.sends == []
    assert stream.changes == stream.levels == []
    assert policy.bytes_per_second(stream.now) == 0


def test_a_page_that_goes_still_goes_back_to_the_best_quality_at_once_then_sends_nothing():
    """After typing, a still page returns to q60 in one change (the runner's restart sends the
    current picture once, at the better quality), then nothing more is sent."""
    policy = FramePolicy(max_fps=10, max_bytes_per_second=BUDGET)
    stream = _Stream(policy, _form)
    stream.run(20.0)
    assert policy.quality_rung >= 2
    before = len(stream.changes)
    stream.run(0.5, still=True)  # the trailing frame goes at its slot
    sent = len(stream.sends)
    stream.run(60.0, still=True)
    assert len(stream.sends) == sent  # nothing more in the still minute
    assert [q for _, q in stream.changes[before:]] == [60]
    assert stream.changes[-1][0] < 20.0 + 10.0
    stream.run(60.0, still=True)
    assert len(stream.changes) == before + 1 and len(stream.levels) == len(stream.changes)


def test_a_page_too_big_for_the_lowest_quality_holds_frames():
    """At q35 a frame of 60 KB at 10 fps is 600 KB/s: frames are held so the budget holds in
    every 2 s window; fps drops to what fits; the newest frame is held, never a queue, and the
    last picture still goes out once the page is still."""
    policy = FramePolicy(max_fps=10, max_bytes_per_second=BUDGET)
    stream = _Stream(policy, lambda level, _now: 60_000)
    stream.run(30.0)
    assert policy.level.quality == QUALITY_LADDER[-1]
    assert policy.held_for_budget > 0
    settled = stream.changes[-1][0] + 2.0
    assert stream.worst_window(settled) <= BUDGET
    assert 4.5 <= stream.fps(settled, 30.0) < 5.5  # 307 KB/s of 60 KB frames
    times = [t for t, _ in stream.sends if t >= settled]
    assert max(b - a for a, b in itertools.pairwise(times)) < 0.3  # evenly (0.2 s), not in bursts
    stream.run(5.0, still=True)
    assert stream.sends[-1][1] == 60_000
    assert policy.flush_delay(stream.now) == float("inf")  # nothing left held
    last_sent = [d for d in stream.offered if len(d) == 60_000][-1]
    assert policy._last_digest == frame_digest(last_sent)


def test_held_frames_wait_for_the_bucket_and_the_window():
    """At the floor, 10000 B/s: a token bucket 0.2 s deep (2000 B) and a 2 s window (20000 B). A
    frame waits until the bucket holds it (a frame bigger than the bucket runs it into debt, paid
    back before the next one) and until the window has room."""
    policy = FramePolicy(max_fps=10, max_bytes_per_second=10_000, quality_rung=len(QUALITY_LADDER) - 1)
    assert policy.offer(b"a" * 1500, 0.0) is Verdict.SEND  # bucket 2000 -> 500
    assert policy.offer(b"b" * 1500, 0.1) is Verdict.SEND  # 1500 in the bucket: just enough
    assert policy.offer(b"c" * 4000, 0.2) is Verdict.DEFERRED  # 1000 in the bucket
    assert abs(policy.flush_delay(0.2) - 0.1) < 1e-9  # a full bucket at 0.3
    assert policy.flush(0.3) == b"c" * 4000  # 2000 in debt
    assert policy.offer(b"d" * 1000, 0.4) is Verdict.DEFERRED
    assert abs(policy.flush_delay(0.4) - 0.2) < 1e-9  # debt paid and 1000 more at 0.6
    assert policy.flush(0.6) == b"d" * 1000  # 8000 B in the window
    assert policy.offer(b"e" * 12_000, 1.5) is Verdict.SEND  # the window is exactly full: 20000 B
    assert policy.offer(b"f" * 3000, 1.7) is Verdict.DEFERRED
    assert abs(policy.flush_delay(1.7) - 1.0) < 1e-9  # the bucket: 10000 in debt, 2000 more at 2.7
    assert policy.flush(2.7) == b"f" * 3000
    assert policy.offer(b"g" * 7000, 2.8) is Verdict.DEFERRED  # the bucket would allow it at 3.0 ...
    assert abs(policy.flush_delay(2.8) - 0.7) < 1e-9  # ... the window only once "e" has left, at 3.5
    assert policy.held_for_budget == 4


def test_no_frame_is_held_for_the_budget_above_the_lowest_quality():
    """Above the floor the quality ladder does the work; holding frames would hide the overrun."""
    policy = FramePolicy(max_fps=10, max_bytes_per_second=1000)
    assert policy.offer(b"a" * 5000, 0.0) is Verdict.SEND
    assert policy.offer(b"b" * 5000, 0.1) is Verdict.SEND


def test_a_restart_drops_the_held_frame_and_resends():
    """Chromium sends the current picture when the screencast restarts: the frame held from before
    (old quality) is not sent as a second copy, and the fresh one goes even if identical."""
    policy = FramePolicy(max_fps=10)
    policy.offer(b"same", 0.0)
    assert policy.offer(b"old quality", 0.05) is Verdict.DEFERRED
    policy.restarted(0.06)
    assert policy.flush_delay(0.06) == float("inf")
    assert policy.offer(b"same", 0.10) is Verdict.SEND
