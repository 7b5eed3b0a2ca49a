"""Live quality of co-browse sessions, per period and per session, from ``SessionQuality`` rows.

Round trips are the relay's heartbeat between the server and the customer's page (every few
seconds), so they measure the path the live view travels. Percentiles come from the summed
histogram and are reported as the bucket's upper bound ("p99 ≤ 200 ms"); the top bucket reports
the largest round trip measured. Quality mix is the share of heartbeats at each level.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, F, Max, Q, QuerySet, Sum

from analytics.models import SessionFact, SessionQuality
from cobrowse import page_signals
from cobrowse.models import CoBrowseSession

#: Disconnects over this share of sessions are flagged (network drops per session).
DISCONNECT_TARGET_PCT = Decimal(5)


def percentile(counts: Sequence[int], q: float, max_ms: int) -> int | None:
    """The upper bound (ms) of the bucket holding the q-th quantile; None without measurements."""
    total = sum(counts)
    if not total:
        return None
    rank = max(1, math.ceil(Decimal(total) * Decimal(str(q))))
    seen = 0
    for bound, n in zip((*page_signals.RTT_BOUNDS_MS, None), counts, strict=True):
        seen += n
        if seen >= rank:
            return max_ms if bound is None else min(bound, max_ms) if max_ms else bound
    return max_ms


def _share(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / whole * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass
class QualityFigures:
    sessions: int = 0  # sessions in the period and filters
    measured: int = 0  # of which a customer socket reported quality
    heartbeats: int = 0
    p50_ms: int | None = None
    p99_ms: int | None = None
    max_ms: int = 0
    mix: list[tuple[str, Decimal | None]] = field(default_factory=list)
    resyncs: int = 0
    gaps: int = 0
    lost_events: int = 0
    sessions_with_gaps: int = 0
    reconnects: int = 0  # connections beyond the first, summed over sessions
    disconnects: int = 0  # every cause
    network_disconnects: int = 0
    disconnect_rate: Decimal | None = None
    disconnect_flag: bool = False
    recording_consented: int = 0
    recordings: int = 0
    recordings_complete: int = 0
    recording_bytes: int = 0


_SUMMED = (*SessionFact.QUALITY_FIELDS, "disconnects", "network_drops", "recording_bytes")

#: What :func:`figures_from` needs, as aggregates over facts. Every one adds up across groups
#: (sums and counts; ``max`` takes the largest), so the dashboard asks for them in its own grouped
#: pass over the period instead of scanning it once more (:func:`combine`).
AGGREGATES: dict[str, Any] = {
    "total": Count("pk"),
    "consented": Count("pk", filter=Q(recording=True)),
    "measured": Count("connections"),  # null: no customer socket reported
    "max": Max("rtt_max_ms"),
    "with_gaps": Count("pk", filter=Q(gaps__gt=0)),
    "recordings": Count("recorded"),
    "complete": Count("pk", filter=Q(recording_complete=True)),
    **{f"sum_{name}": Sum(name) for name in _SUMMED},
}


def combine(groups: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The :data:`AGGREGATES` of several groups added up into the whole's."""
    out: dict[str, Any] = dict.fromkeys(AGGREGATES)
    for row in groups:
        for name in AGGREGATES:
            value = row[name]
            if value is None:
                continue
            current = out[name]
            out[name] = (
                value if current is None else max(current, value) if name == "max" else current + value
            )
    return out


def period_figures(sessions: QuerySet[SessionFact]) -> QualityFigures:
    """The period's live quality over the given (already filtered) sessions: one pass over their
    facts, which carry each session's quality, disconnects and recording (``analytics.rollup``)."""
    return figures_from(sessions.aggregate(**AGGREGATES))


def figures_from(sums: dict[str, Any]) -> QualityFigures:
    f = QualityFigures()
    total = {name: sums[f"sum_{name}"] or 0 for name in _SUMMED}
    f.sessions, f.recording_consented = sums["total"] or 0, sums["consented"] or 0
    buckets = [total[name] for name in SessionQuality.RTT_FIELDS]
    f.measured, f.max_ms = sums["measured"] or 0, sums["max"] or 0
    f.heartbeats = sum(buckets)
    f.p50_ms, f.p99_ms = percentile(buckets, 0.5, f.max_ms), percentile(buckets, 0.99, f.max_ms)
    levels = {name: total[name] for name in page_signals.QUALITY_LEVELS}
    f.mix = [(name, _share(n, sum(levels.values()))) for name, n in levels.items()]
    f.resyncs, f.gaps, f.lost_events = total["resyncs"], total["gaps"], total["lost_events"]
    f.sessions_with_gaps = sums["with_gaps"] or 0
    f.reconnects = total["connections"] - f.measured
    f.disconnects, f.network_disconnects = total["disconnects"], total["network_drops"]
    f.disconnect_rate = _share(f.network_disconnects, f.sessions)
    f.disconnect_flag = f.disconnect_rate is not None and f.disconnect_rate > DISCONNECT_TARGET_PCT
    f.recordings, f.recordings_complete = sums["recordings"] or 0, sums["complete"] or 0
    f.recording_bytes = total["recording_bytes"]
    return f


@dataclass(frozen=True)
class SessionRow:
    session: CoBrowseSession
    quality: SessionFact | None  # the session's facts, when a customer socket reported quality
    p50_ms: int | None
    p99_ms: int | None
    mix: dict[str, Decimal | None]
    disconnects: int
    recorded: bool


def session_rows(sessions: QuerySet[SessionFact]) -> QuerySet[SessionFact]:
    """The sessions worst first: most events lost, most resyncs, most poor heartbeats, newest.

    Facts only: sort a page's worth first, then load those sessions (:func:`rows_for`), so the
    database sorts a year of narrow rows rather than joining every one to its ticket and agent."""
    return sessions.order_by(
        *(F(name).desc(nulls_last=True) for name in ("lost_events", "resyncs", "poor")),
        "-started_at",
        "-pk",
    )


def rows_for(facts: QuerySet[SessionFact]) -> list[SessionRow]:
    """The rows of a slice of :func:`session_rows` (a page), in its order."""
    ids = list(facts.values_list("pk", flat=True))
    loaded = SessionFact.objects.select_related("session__ticket", "session__agent").in_bulk(ids)
    return [session_row(loaded[pk]) for pk in ids]


def session_row(fact: SessionFact) -> SessionRow:
    """One session's figures (``fact`` from :func:`session_rows`)."""
    drops, recorded = fact.network_drops or 0, bool(fact.recorded)
    if fact.connections is None:
        return SessionRow(fact.session, None, None, None, {}, drops, recorded)
    buckets = [getattr(fact, name) or 0 for name in SessionQuality.RTT_FIELDS]
    levels = {name: getattr(fact, name) or 0 for name in page_signals.QUALITY_LEVELS}
    max_ms = fact.rtt_max_ms or 0
    return SessionRow(
        session=fact.session,
        quality=fact,
        p50_ms=percentile(buckets, 0.5, max_ms),
        p99_ms=percentile(buckets, 0.99, max_ms),
        mix={name: _share(n, sum(levels.values())) for name, n in levels.items()},
        disconnects=drops,
        recorded=recorded,
    )
