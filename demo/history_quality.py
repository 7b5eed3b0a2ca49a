"""Connection quality for the seeded sessions, as the relay would have reported it.

The relay measures one heartbeat round trip every few seconds. Drawing hundreds per session would
make seeding slow, so each session draws a dozen round trips from its network profile and each
stands for an equal share of the session's heartbeats: histogram and levels come from the same
draws, so they always add up to the same count. Most sessions are on a good network, some fair, a
few poor; a session that dropped its socket reconnected once, lost a little, and tends to be worse.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass

from analytics.models import SessionQuality
from cobrowse import page_signals
from cobrowse.models import CoBrowseSession
from live.consumers.customer import PING_INTERVAL_S, PONG_DEADLINE_S, quality_level

SAMPLES = 12
#: A heartbeat unanswered for PONG_DEADLINE_S counts as a drop, so no round trip takes longer.
LONGEST_MS = PONG_DEADLINE_S * 1000 - 500


@dataclass(frozen=True)
class Profile:
    median_ms: tuple[int, int]  # a session's typical round trip lies in this range
    spread: float  # sigma of the log-normal scatter around it
    spikes: float  # odds that a round trip is several times the typical one
    gap_odds: float  # odds that the session lost events at all


PROFILES = {
    "good": Profile((30, 110), 0.3, 0.02, 0.03),
    "fair": Profile((150, 320), 0.4, 0.05, 0.15),
    "poor": Profile((350, 750), 0.5, 0.1, 0.4),
}
STEADY = [("good", 80), ("fair", 15), ("poor", 5)]
DROPPED = [("good", 35), ("fair", 40), ("poor", 25)]
LEVEL_INDEX = {name: i for i, name in enumerate(page_signals.QUALITY_LEVELS)}


def seed_quality(rng: random.Random, sessions: list[CoBrowseSession], dropped: set[int]) -> int:
    """One ``SessionQuality`` row per session; ``dropped`` holds the ids with a network drop."""
    rows = [_measure(rng, session, session.pk in dropped) for session in sessions]
    SessionQuality.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def _measure(rng: random.Random, session: CoBrowseSession, dropped: bool) -> SessionQuality:
    weights = DROPPED if dropped else STEADY
    profile = PROFILES[rng.choices([n for n, _ in weights], [w for _, w in weights])[0]]
    assert session.started_at and session.ended_at  # seeded sessions all ended
    seconds = (session.ended_at - session.started_at).total_seconds()
    if dropped:
        seconds -= rng.uniform(4, 45)  # the page was away until it reconnected
    heartbeats = max(1, int(seconds // PING_INTERVAL_S))
    buckets = [0] * (len(page_signals.RTT_BOUNDS_MS) + 1)
    levels = [0, 0, 0]
    typical, top = rng.uniform(*profile.median_ms), 0
    for i in range(SAMPLES):
        share = heartbeats // SAMPLES + (1 if i < heartbeats % SAMPLES else 0)
        if not share:
            break
        rtt = typical * rng.lognormvariate(0, profile.spread)
        if rng.random() < profile.spikes:
            rtt *= rng.uniform(3, 8)
        ms = min(max(8, round(rtt)), LONGEST_MS)
        # As live.quality_meter counts: a round trip equal to a bound is in that bound's bucket.
        buckets[bisect.bisect_left(page_signals.RTT_BOUNDS_MS, ms)] += share
        levels[LEVEL_INDEX[quality_level(ms)]] += share
        top = max(top, ms)
    gaps = rng.randint(1, 3) if dropped else (rng.randint(1, 2) if rng.random() < profile.gap_odds else 0)
    lost = sum(rng.randint(1, 25) for _ in range(gaps))
    asked = 1 if rng.random() < 0.06 else 0  # the agent asked for a fresh view now and then
    return SessionQuality(
        session=session,
        connections=2 if dropped else 1,
        connected_seconds=round(seconds, 1),
        **dict(zip(SessionQuality.RTT_FIELDS, buckets, strict=True)),
        rtt_max_ms=top,
        good=levels[0],
        fair=levels[1],
        poor=levels[2],
        gaps=gaps,
        lost_events=lost,
        resyncs=gaps + asked,  # each gap is repaired by a resync
    )
