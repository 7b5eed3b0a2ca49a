"""One customer socket's connection quality, counted in memory and reported once when it closes.

Counting costs the hot path nothing but an integer add; the report is a single database write per
connection, handed down through ``cobrowse.page_signals`` to whoever keeps it (the manager pages).
A process that dies loses the open connections' counts, never a session.
"""

from __future__ import annotations

import bisect
import time

from cobrowse import page_signals


class QualityMeter:
    def __init__(self, session_id: int) -> None:
        self.session_id = session_id
        self.started = time.monotonic()
        self.rtt_buckets = [0] * (len(page_signals.RTT_BOUNDS_MS) + 1)
        self.rtt_max_ms = 0
        self.levels = dict.fromkeys(page_signals.QUALITY_LEVELS, 0)
        self.gaps = 0
        self.lost_events = 0
        self.resyncs = 0

    def round_trip(self, rtt_ms: float, level: str) -> None:
        ms = max(0, round(rtt_ms))
        # A round trip equal to a bound belongs to that bound's bucket ("at most 25 ms").
        self.rtt_buckets[bisect.bisect_left(page_signals.RTT_BOUNDS_MS, ms)] += 1
        self.rtt_max_ms = max(self.rtt_max_ms, ms)
        if level in self.levels:
            self.levels[level] += 1

    def gap(self, lost: int) -> None:
        """Sequence numbers went missing between the page and the server; a resync repairs it."""
        self.gaps += 1
        self.lost_events += max(0, lost)
        self.resyncs += 1

    def resync(self) -> None:
        self.resyncs += 1

    def report(self) -> page_signals.ConnectionQuality:
        return page_signals.ConnectionQuality(
            session_id=self.session_id,
            seconds=round(time.monotonic() - self.started, 1),
            rtt_buckets=tuple(self.rtt_buckets),
            rtt_max_ms=self.rtt_max_ms,
            levels=(self.levels["good"], self.levels["fair"], self.levels["poor"]),
            gaps=self.gaps,
            lost_events=self.lost_events,
            resyncs=self.resyncs,
        )
