"""Frame policy: dedupe, rate cap with a trailing frame, quality following the slowest viewer."""

from __future__ import annotations

from cobrowse.browser.framepolicy import LEVELS, FrameGate, FramePolicy, Verdict


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


def test_sixty_fps_input_gives_at_most_ten_fps():
    policy = FramePolicy(max_fps=10)
    sent = 0
    for i in range(600):  # 10 s at 60 fps, every frame different
        now = i / 60
        if policy.offer(f"frame {i}".encode(), now) is Verdict.SEND:
            sent += 1
        if policy.flush(now) is not None:
            sent += 1
    assert 90 <= sent <= 101


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
