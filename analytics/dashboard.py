"""The manager dashboard's figures for a period and filters, aggregated in the database.

A session counts in the period when its customer's page (or server-side browser) first connected in
it. Duration runs from that first connection to the end. "Resolved" is the outcome the agent recorded
(outcomes.SessionOutcome); a session without a recorded outcome is "no outcome yet" and is left out
of resolution rates, so a rate never counts a missing answer as a failure. CSAT is the mean of the
customers' survey answers (outcomes.SurveyResponse). A session is customer-initiated when it
answered the customer's own request for a screen share. First-contact resolution and follow-up
messages compare tickets with and without co-browse (analytics.contact); live quality and
recordings come from analytics.quality.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
)

from analytics import contact, quality, selectors
from analytics.periods import Period
from cobrowse.models import CoBrowseSession, ControlMode, Initiator
from tickets.models import Category

DISCONNECT_TARGET = quality.DISCONNECT_TARGET_PCT / 100
BUCKETS = (("< 5 min", 0, 5), ("5–10 min", 5, 10), ("10–20 min", 10, 20), ("> 20 min", 20, None))  # noqa: RUF001
_DURATION = ExpressionWrapper(F("ended_at") - F("started_at"), output_field=DurationField())


@dataclass(frozen=True)
class Filters:
    agent: int | None = None
    category: str = ""
    account: int | None = None
    mode: str = ""

    @classmethod
    def parse(cls, params: Any) -> Filters:
        def number(name: str) -> int | None:
            raw = str(params.get(name) or "").strip()
            if not raw:
                return None
            if not raw.isdecimal():
                raise ValueError(f"{name} must be a number.")
            return int(raw)

        category, mode = str(params.get("category") or ""), str(params.get("mode") or "")
        if category and category not in Category.values:
            raise ValueError("Unknown category.")
        if mode and mode not in ControlMode.values:
            raise ValueError("Unknown mode.")
        return cls(agent=number("agent"), category=category, account=number("account"), mode=mode)


def sessions(period: Period, filters: Filters) -> QuerySet[CoBrowseSession]:
    qs = selectors.sessions_in(period)
    if filters.agent:
        qs = qs.filter(agent_id=filters.agent)
    if filters.category:
        qs = qs.filter(ticket__category=filters.category)
    if filters.account:
        qs = qs.filter(ticket__account_id=filters.account)
    if filters.mode:
        qs = qs.filter(mode=filters.mode)
    return qs


def _rate(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / whole * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _minutes(span: timedelta | None) -> Decimal | None:
    if span is None:
        return None
    return (Decimal(span.total_seconds()) / 60).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _csat(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


_RESOLVED = Count("id", filter=Q(outcome__outcome="resolved"))
_WITH_OUTCOME = Count("id", filter=Q(outcome__isnull=False))


@dataclass
class Dashboard:
    total: int = 0
    agent_initiated: int = 0
    customer_initiated: int = 0
    avg_minutes: Decimal | None = None
    buckets: list[tuple[str, int]] = field(default_factory=list)
    with_outcome: int = 0
    resolved: int = 0
    resolved_rate: Decimal | None = None
    csat: Decimal | None = None
    csat_answers: int = 0
    modes: list[dict[str, Any]] = field(default_factory=list)
    categories: list[dict[str, Any]] = field(default_factory=list)
    agents: list[dict[str, Any]] = field(default_factory=list)
    capable_agents: int = 0
    active_agents: int = 0
    pending_certification: int = 0
    disconnects: int = 0
    network_disconnects: int = 0
    disconnect_rate: Decimal | None = None
    disconnect_flag: bool = False
    quality: quality.QualityFigures = field(default_factory=quality.QualityFigures)
    contact: contact.Comparison = field(
        default_factory=lambda: contact.Comparison(contact.ContactFigures(), contact.ContactFigures())
    )


def build(period: Period, filters: Filters) -> Dashboard:
    qs = sessions(period, filters)
    d = Dashboard()
    bucket_cases = {
        f"bucket_{i}": Count(
            "id",
            filter=Q(ended_at__isnull=False)
            & Q(**({"duration__gte": timedelta(minutes=lo)} if lo else {}))
            & Q(**({"duration__lt": timedelta(minutes=hi)} if hi else {})),
        )
        for i, (_label, lo, hi) in enumerate(BUCKETS)
    }
    totals = qs.annotate(duration=_DURATION).aggregate(
        total=Count("id"),
        customer_initiated=Count("id", filter=Q(initiated_by=Initiator.CUSTOMER)),
        mean=Avg("duration", filter=Q(ended_at__isnull=False)),
        with_outcome=_WITH_OUTCOME,
        resolved=_RESOLVED,
        csat=Avg("survey_response__stars"),
        csat_answers=Count("survey_response"),
        **bucket_cases,
    )
    d.total, d.avg_minutes = totals["total"], _minutes(totals["mean"])
    d.customer_initiated = totals["customer_initiated"]
    d.agent_initiated = d.total - d.customer_initiated
    d.buckets = [(label, totals[f"bucket_{i}"]) for i, (label, _, _) in enumerate(BUCKETS)]
    d.with_outcome, d.resolved = totals["with_outcome"], totals["resolved"]
    d.resolved_rate = _rate(d.resolved, d.with_outcome)
    d.csat, d.csat_answers = _csat(totals["csat"]), totals["csat_answers"]
    d.modes = _grouped(qs, "mode", dict(ControlMode.choices), d.total)
    d.categories = _grouped(qs, "ticket__category", dict(Category.choices), d.total)
    d.agents = _agents(qs)
    agents = selectors.agent_rows(period)  # the agents page's rules for "capable" and "pending"
    d.capable_agents = sum(1 for row in agents if row.capable)
    d.pending_certification = sum(1 for row in agents if row.pending)
    d.active_agents = len({row["agent_id"] for row in d.agents})
    d.quality = quality.period_figures(qs)
    d.disconnects, d.network_disconnects = d.quality.disconnects, d.quality.network_disconnects
    d.disconnect_rate, d.disconnect_flag = d.quality.disconnect_rate, d.quality.disconnect_flag
    d.contact = contact.compare(period, filters)
    return d


def _grouped(
    qs: QuerySet[CoBrowseSession], key: str, labels: dict[str, str], total: int
) -> list[dict[str, Any]]:
    rows = (
        qs.annotate(duration=_DURATION)
        .values(key)
        .annotate(
            sessions=Count("id"),
            mean=Avg("duration", filter=Q(ended_at__isnull=False)),
            resolved=_RESOLVED,
            with_outcome=_WITH_OUTCOME,
        )
        .order_by("-sessions", key)
    )
    return [
        {
            "key": row[key],
            "label": labels.get(row[key], row[key]),
            "sessions": row["sessions"],
            "share": _rate(row["sessions"], total),
            "avg_minutes": _minutes(row["mean"]),
            "resolution_rate": _rate(row["resolved"], row["with_outcome"]),
        }
        for row in rows
    ]


def _agents(qs: QuerySet[CoBrowseSession]) -> list[dict[str, Any]]:
    rows = (
        qs.values("agent_id", "agent__first_name", "agent__last_name", "agent__username")
        .annotate(
            sessions=Count("id"),
            resolved=_RESOLVED,
            with_outcome=_WITH_OUTCOME,
            csat=Avg("survey_response__stars"),
        )
        .order_by("-sessions", "agent_id")
    )
    return [
        {
            "agent_id": row["agent_id"],
            "name": f"{row['agent__first_name']} {row['agent__last_name']}".strip() or row["agent__username"],
            "sessions": row["sessions"],
            "resolution_rate": _rate(row["resolved"], row["with_outcome"]),
            "csat": _csat(row["csat"]),
        }
        for row in rows
    ]
