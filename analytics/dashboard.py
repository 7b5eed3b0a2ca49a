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
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
)

from accounts.models import User
from analytics import contact, quality, selectors
from analytics.models import SessionFact
from analytics.periods import Period
from cobrowse.models import ControlMode, Initiator
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


def sessions(period: Period, filters: Filters) -> QuerySet[SessionFact]:
    """The period's sessions under the filters, as facts (``analytics.rollup``): one narrow table."""
    qs = selectors.sessions_in(period)
    if filters.agent:
        qs = qs.filter(agent_id=filters.agent)
    if filters.category:
        qs = qs.filter(category=filters.category)
    if filters.account:
        qs = qs.filter(account_id=filters.account)
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


_RESOLVED = Count("pk", filter=Q(outcome="resolved"))
_WITH_OUTCOME = Count("pk", filter=~Q(outcome=""))


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
    quality: quality.QualityFigures = field(default_factory=quality.QualityFigures)
    contact: contact.Comparison = field(
        default_factory=lambda: contact.Comparison(contact.ContactFigures(), contact.ContactFigures())
    )

    # The disconnect figures are the live quality's, read where the summary shows them.
    @property
    def network_disconnects(self) -> int:
        return self.quality.network_disconnects

    @property
    def disconnect_rate(self) -> Decimal | None:
        return self.quality.disconnect_rate

    @property
    def disconnect_flag(self) -> bool:
        return self.quality.disconnect_flag


#: What one GROUP BY (mode, category, agent) pass keeps per group; totals and every table add them up.
_SUMMED = (
    "sessions", "customer", "ended", "duration_sum", "with_outcome", "resolved", "stars_sum", "answers",
)  # fmt: skip


def _group_aggregates() -> dict[str, Any]:
    bucket_cases = {
        f"bucket_{i}": Count(
            "pk",
            filter=Q(ended_at__isnull=False)
            & Q(**({"duration__gte": timedelta(minutes=lo)} if lo else {}))
            & Q(**({"duration__lt": timedelta(minutes=hi)} if hi else {})),
        )
        for i, (_label, lo, hi) in enumerate(BUCKETS)
    }
    return {
        "sessions": Count("pk"),
        "customer": Count("pk", filter=Q(initiated_by=Initiator.CUSTOMER)),
        "ended": Count("pk", filter=Q(ended_at__isnull=False)),
        "duration_sum": Sum("duration", filter=Q(ended_at__isnull=False)),
        "with_outcome": _WITH_OUTCOME,
        "resolved": _RESOLVED,
        "stars_sum": Sum("stars"),
        "answers": Count("stars"),
        **bucket_cases,
    }


def _add(rows: list[dict[str, Any]], names: tuple[str, ...]) -> dict[str, Any]:
    """The sum of the groups' parts (a missing duration or star sum stays None, as SQL's would)."""
    out: dict[str, Any] = {}
    for name in names:
        values = [row[name] for row in rows if row[name] is not None]
        out[name] = sum(values[1:], values[0]) if values else None
    for name in ("sessions", "customer", "ended", "with_outcome", "resolved", "answers"):
        out[name] = out.get(name) or 0
    return out


def _mean(part: dict[str, Any]) -> timedelta | None:
    return (
        part["duration_sum"] / part["ended"] if part["ended"] and part["duration_sum"] is not None else None
    )


def _stars_mean(part: dict[str, Any]) -> float | None:
    return part["stars_sum"] / part["answers"] if part["answers"] else None


#: The parts of :func:`build`: session figures and tables, agents' certification, live quality and
#: disconnects, first-contact resolution. A CSV of one table needs one part, not the whole page.
PARTS = frozenset({"sessions", "certification", "quality", "contact"})


def build(period: Period, filters: Filters, parts: frozenset[str] = PARTS) -> Dashboard:
    """Every session figure from one pass over the period's facts, grouped by (mode, category,
    agent) — at most a few thousand groups — then added up here for the totals and each table (live
    quality too, when both are asked for).
    Figures of the parts not asked for keep their empty defaults."""
    qs = sessions(period, filters)
    d = Dashboard()
    if "sessions" in parts:
        _session_figures(d, qs, with_quality="quality" in parts)
    if "certification" in parts:
        agents = selectors.agent_rows(None)  # the agents page's rules for "capable" and "pending"
        d.capable_agents = sum(1 for row in agents if row.capable)
        d.pending_certification = sum(1 for row in agents if row.pending)
    if "quality" in parts and "sessions" not in parts:
        d.quality = quality.period_figures(qs)
    if "contact" in parts:
        d.contact = contact.compare(period, filters)
    return d


def _session_figures(d: Dashboard, qs: QuerySet[SessionFact], *, with_quality: bool) -> None:
    buckets = tuple(f"bucket_{i}" for i in range(len(BUCKETS)))
    grouped = qs.annotate(duration=_DURATION).values("mode", "category", "agent_id")
    aggregates = {**_group_aggregates(), **(quality.AGGREGATES if with_quality else {})}
    groups: list[dict[str, Any]] = [dict(row) for row in grouped.annotate(**aggregates).order_by()]
    if with_quality:  # the same pass: live quality adds up over the groups
        d.quality = quality.figures_from(quality.combine(groups))
    totals = _add(groups, _SUMMED + buckets)
    d.total, d.avg_minutes = totals["sessions"], _minutes(_mean(totals))
    d.customer_initiated = totals["customer"]
    d.agent_initiated = d.total - d.customer_initiated
    d.buckets = [(label, totals[f"bucket_{i}"] or 0) for i, (label, _, _) in enumerate(BUCKETS)]
    d.with_outcome, d.resolved = totals["with_outcome"], totals["resolved"]
    d.resolved_rate = _rate(d.resolved, d.with_outcome)
    d.csat, d.csat_answers = _csat(_stars_mean(totals)), totals["answers"]
    d.modes = _grouped(groups, "mode", dict(ControlMode.choices), d.total)
    d.categories = _grouped(groups, "category", dict(Category.choices), d.total)
    d.agents = _agents(groups)
    d.active_agents = len({row["agent_id"] for row in d.agents})


def _by(groups: list[dict[str, Any]], key: str) -> list[tuple[Any, dict[str, Any]]]:
    """The groups added up per ``key``, most sessions first (ties by key)."""
    keyed: dict[Any, list[dict[str, Any]]] = {}
    for row in groups:
        keyed.setdefault(row[key], []).append(row)
    added = [(value, _add(rows, _SUMMED)) for value, rows in keyed.items()]
    return sorted(added, key=lambda pair: (-pair[1]["sessions"], pair[0]))


def _grouped(
    groups: list[dict[str, Any]], key: str, labels: dict[str, str], total: int
) -> list[dict[str, Any]]:
    return [
        {
            "key": value,
            "label": labels.get(value, value),
            "sessions": part["sessions"],
            "share": _rate(part["sessions"], total),
            "avg_minutes": _minutes(_mean(part)),
            "resolution_rate": _rate(part["resolved"], part["with_outcome"]),
        }
        for value, part in _by(groups, key)
    ]


def _agents(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = _by(groups, "agent_id")
    names = {
        user.pk: f"{user.first_name} {user.last_name}".strip() or user.username
        for user in User.objects.filter(pk__in=[agent_id for agent_id, _ in rows]).only(
            "first_name", "last_name", "username"
        )
    }
    return [
        {
            "agent_id": agent_id,
            "name": names.get(agent_id, ""),
            "sessions": part["sessions"],
            "resolution_rate": _rate(part["resolved"], part["with_outcome"]),
            "csat": _csat(_stars_mean(part)),
        }
        for agent_id, part in rows
    ]
