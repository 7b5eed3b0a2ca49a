"""Reads for the manager pages: figures computed from the database for a period, never typed in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Avg,
    BooleanField,
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncDate

from accounts import permissions
from accounts.models import AgentLevel, Certification, Role, User
from analytics.models import Disconnect, SessionFact
from analytics.periods import Period
from outcomes.models import Outcome


def sessions_in(period: Period) -> QuerySet[SessionFact]:
    """Sessions that ran in the period (the customer's page or browser connected in it), as facts."""
    return SessionFact.objects.filter(started_at__gte=period.start, started_at__lt=period.end)


@dataclass(frozen=True)
class ProgrammeFigures:
    sessions: int
    avg_minutes: Decimal
    resolved_sessions: int
    enterprise_customers: int


def programme_figures(period: Period) -> ProgrammeFigures:
    """What the ROI calculator starts from, measured over the period.

    Resolved sessions: sessions whose agent recorded the outcome "resolved", as the dashboard counts
    them (a session without a recorded outcome is not counted). Enterprise customers: customer
    accounts with a session in the period.
    """
    duration = ExpressionWrapper(F("ended_at") - F("started_at"), output_field=DurationField())
    figures = sessions_in(period).aggregate(
        n=Count("pk"),
        mean=Avg(duration, filter=Q(ended_at__isnull=False)),
        resolved=Count("pk", filter=Q(outcome=Outcome.RESOLVED)),
        accounts=Count("account", distinct=True),
    )
    mean = figures["mean"]
    minutes = Decimal(mean.total_seconds()) / 60 if mean else Decimal(0)
    return ProgrammeFigures(
        sessions=figures["n"],
        avg_minutes=minutes.quantize(Decimal("0.1")),
        resolved_sessions=figures["resolved"],
        enterprise_customers=figures["accounts"],
    )


def roi_defaults(period: Period) -> dict[str, Decimal]:
    """Every ROI input prefilled: the period's measured figures, the rest from ``ROI_DEFAULTS``."""
    figures = programme_figures(period)
    defaults = {name: Decimal(value) for name, value in settings.ROI_DEFAULTS.items()}
    defaults.update(
        sessions=Decimal(figures.sessions),
        avg_minutes=figures.avg_minutes,
        resolved_sessions=Decimal(figures.resolved_sessions),
        enterprise_customers=Decimal(figures.enterprise_customers),
    )
    return defaults


@dataclass(frozen=True)
class AgentRow:
    agent: User
    certification: Certification | None  # the active one
    capable: bool  # may co-browse now (accounts.permissions.can_use_cobrowse)
    pending: bool  # an L1 agent who may not co-browse until certified
    sessions: int  # sessions they ran in the period


def agent_rows(period: Period | None) -> list[AgentRow]:
    """Every active agent with their certification and the sessions they ran in the period
    (``None``: no period, every count 0 — for a caller that wants the certification states alone
    without counting a year of sessions)."""
    agents = list(
        User.objects.filter(role=Role.AGENT, is_active=True).order_by("agent_level", "first_name", "username")
    )
    active = {
        c.agent_id: c
        for c in Certification.objects.filter(agent__in=agents, revoked_at__isnull=True).select_related(
            "certified_by"
        )
    }
    counts: dict[int, int] = {}
    if period is not None:
        counts = dict(
            sessions_in(period)
            .filter(agent__in=agents)
            .values_list("agent")
            .annotate(n=Count("pk"))
            .values_list("agent", "n")
        )
    rows = []
    for agent in agents:
        capable = permissions.can_use_cobrowse(agent)
        pending = agent.agent_level == AgentLevel.L1 and not capable
        rows.append(AgentRow(agent, active.get(agent.pk), capable, pending, counts.get(agent.pk, 0)))
    return rows


def certification_history(agent: User) -> list[Certification]:
    return list(agent.certifications.select_related("certified_by", "revoked_by"))


# --- the monthly report ------------------------------------------------------------------------------

#: Disconnect causes that are a normal end, not a connection failure (cobrowse.page_signals).
NORMAL_CLOSES = ("closed", "page_left", "ended")


def daily_sessions(period: Period) -> list[tuple[date, int]]:
    """Sessions per day of the period (the desk's days), every day listed, zero included."""
    counts = dict(
        sessions_in(period)
        .annotate(day=TruncDate("started_at"))
        .values_list("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    days = (period.first_day + timedelta(days=i) for i in range(period.days))
    return [(day, counts.get(day, 0)) for day in days]


@dataclass(frozen=True)
class Cohort:
    sessions: int
    with_outcome: int
    resolved: int
    csat_total: int  # sum of the survey stars
    csat_answers: int


def sessions_by_certification(period: Period) -> dict[bool, Cohort]:
    """The period's sessions split by whether their agent held a co-browse certification then.

    Held: a certification record dated on or before the session's day (the desk's) and not revoked
    before the session started, so a later revocation does not rewrite history.
    """
    # Each record is a span of time: from the midnight (desk time) opening its day to its revocation.
    # A session is certified when its start falls in a span of its agent's: one CASE over the
    # records (a few per agent), evaluated per row, instead of a subquery per session.
    spans = Q()
    for agent_id, certified_on, revoked_at in Certification.objects.filter(
        certified_on__lte=period.last_day
    ).values_list("agent_id", "certified_on", "revoked_at"):
        span = Q(agent_id=agent_id, started_at__gte=Period(certified_on, certified_on).start)
        spans |= span & Q(started_at__lt=revoked_at) if revoked_at else span
    certified = (
        Case(When(spans, then=Value(True)), default=Value(False), output_field=BooleanField())
        if spans
        else Value(False, output_field=BooleanField())
    )
    rows = (
        sessions_in(period)
        .annotate(certified=certified)
        .values("certified")
        .annotate(
            sessions=Count("pk"),
            with_outcome=Count("pk", filter=~Q(outcome="")),
            resolved=Count("pk", filter=Q(outcome="resolved")),
            csat_total=Sum("stars"),
            csat_answers=Count("stars"),
        )
        .order_by()
    )
    found = {
        bool(row["certified"]): Cohort(
            row["sessions"], row["with_outcome"], row["resolved"], row["csat_total"] or 0, row["csat_answers"]
        )
        for row in rows
    }
    return {held_it: found.get(held_it, Cohort(0, 0, 0, 0, 0)) for held_it in (True, False)}


def certified_in(period: Period) -> int:
    """Certifications dated in the period (revoked since or not)."""
    return Certification.objects.filter(
        certified_on__gte=period.first_day, certified_on__lte=period.last_day
    ).count()


def failure_causes(period: Period) -> list[tuple[str, int]]:
    """Connection failures of the period's sessions by cause, most frequent first (normal ends left
    out: see ``NORMAL_CLOSES``)."""
    rows = (
        Disconnect.objects.filter(session_id__in=sessions_in(period).values("pk"))
        .exclude(cause__in=NORMAL_CLOSES)
        .values_list("cause")
        .annotate(n=Count("id"))
        .order_by("-n", "cause")
        .values_list("cause", "n")
    )
    return list(rows)


def report_recipients() -> list[str]:
    """Addresses the monthly report is mailed to: every active manager who has one."""
    managers = User.objects.filter(role=Role.MANAGER, is_active=True).exclude(email="").order_by("pk")
    return list(managers.values_list("email", flat=True))
