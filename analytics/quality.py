"""Live quality of co-browse sessions, per period and per session, from ``SessionQuality`` rows.

Round trips are the relay's heartbeat between the server and the customer's page (every few
seconds), so they measure the path the live view travels. Percentiles come from the summed
histogram and are reported as the bucket's upper bound ("p99 ≤ 200 ms"); the top bucket reports
the largest round trip measured. Quality mix is the share of heartbeats at each level.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, F, IntegerField, Max, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from analytics.models import Disconnect, SessionFact, SessionQuality
from cobrowse import page_signals
from cobrowse.models import CoBrowseSession
from recordings.models import Recording

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


def period_figures(sessions: QuerySet[SessionFact]) -> QualityFigures:
    """The period's live quality over the given (already filtered) sessions."""
    f = QualityFigures()
    counts = sessions.aggregate(
        total=Count("pk"), consented=Count("pk", filter=Q(recording=True)), first=Min("pk"), last=Max("pk")
    )
    f.sessions, f.recording_consented = counts["total"], counts["consented"]
    # The period's session ids lie between its first and last: a redundant bound that lets the
    # per-session tables be read by a range of their session index instead of scanned whole.
    ids = Q(session_id__in=sessions.values("pk"), session_id__gte=counts["first"] or 0)
    ids &= Q(session_id__lte=counts["last"] or 0)
    rows = SessionQuality.objects.filter(ids)
    sums = rows.aggregate(
        measured=Count("session_id"),
        connections=Sum("connections"),
        max_ms=Max("rtt_max_ms"),
        with_gaps=Count("session_id", filter=Q(gaps__gt=0)),
        **{name: Sum(name) for name in (*SessionQuality.RTT_FIELDS, "good", "fair", "poor")},
        **{name: Sum(name) for name in ("gaps", "lost_events", "resyncs")},
    )
    buckets = [sums[name] or 0 for name in SessionQuality.RTT_FIELDS]
    f.measured, f.max_ms = sums["measured"], sums["max_ms"] or 0
    f.heartbeats = sum(buckets)
    f.p50_ms, f.p99_ms = percentile(buckets, 0.5, f.max_ms), percentile(buckets, 0.99, f.max_ms)
    levels = {name: sums[name] or 0 for name in page_signals.QUALITY_LEVELS}
    f.mix = [(name, _share(n, sum(levels.values()))) for name, n in levels.items()]
    f.resyncs, f.gaps, f.lost_events = sums["resyncs"] or 0, sums["gaps"] or 0, sums["lost_events"] or 0
    f.sessions_with_gaps = sums["with_gaps"]
    f.reconnects = (sums["connections"] or 0) - f.measured
    lost = Disconnect.objects.filter(ids).aggregate(
        all=Count("id"), network=Count("id", filter=Q(cause="network"))
    )
    f.disconnects, f.network_disconnects = lost["all"], lost["network"]
    f.disconnect_rate = _share(f.network_disconnects, f.sessions)
    f.disconnect_flag = f.disconnect_rate is not None and f.disconnect_rate > DISCONNECT_TARGET_PCT
    stored = Recording.objects.filter(ids).aggregate(
        n=Count("session_id"),
        complete=Count("session_id", filter=Q(complete=True)),
        bytes=Sum("bytes_stored"),
    )
    f.recordings, f.recordings_complete = stored["n"], stored["complete"]
    f.recording_bytes = stored["bytes"] or 0
    return f


@dataclass(frozen=True)
class SessionRow:
    session: CoBrowseSession
    quality: SessionQuality | None
    p50_ms: int | None
    p99_ms: int | None
    mix: dict[str, Decimal | None]
    disconnects: int
    recorded: bool


def session_rows(sessions: QuerySet[SessionFact]) -> QuerySet[CoBrowseSession]:
    """The sessions worst first: most events lost, most resyncs, most poor heartbeats, newest."""
    drops = (
        Disconnect.objects.filter(session=OuterRef("pk"), cause="network")
        .order_by()
        .values("session")
        .annotate(n=Count("id"))
        .values("n")
    )
    # A subquery rather than a join and GROUP BY: PostgreSQL counts the drops of the 50 sessions
    # shown (after the sort and limit), and the paginator's count needs no grouping.
    return (
        CoBrowseSession.objects.filter(pk__in=sessions.values("pk"))
        .select_related("ticket", "agent", "quality", "session_recording")
        .annotate(network_drops=Coalesce(Subquery(drops, output_field=IntegerField()), 0))
        .order_by(
            *(F(f"quality__{name}").desc(nulls_last=True) for name in ("lost_events", "resyncs", "poor")),
            "-started_at",
            "-id",
        )
    )


def session_row(session: CoBrowseSession) -> SessionRow:
    """One session's figures (``session`` from :func:`session_rows`)."""
    quality: SessionQuality | None = getattr(session, "quality", None)
    recorded = hasattr(session, "session_recording")
    if quality is None:
        return SessionRow(session, None, None, None, {}, getattr(session, "network_drops", 0), recorded)
    buckets = [getattr(quality, name) for name in SessionQuality.RTT_FIELDS]
    levels = {name: getattr(quality, name) for name in page_signals.QUALITY_LEVELS}
    return SessionRow(
        session=session,
        quality=quality,
        p50_ms=percentile(buckets, 0.5, quality.rtt_max_ms),
        p99_ms=percentile(buckets, 0.99, quality.rtt_max_ms),
        mix={name: _share(n, sum(levels.values())) for name, n in levels.items()},
        disconnects=getattr(session, "network_drops", 0),
        recorded=recorded,
    )
