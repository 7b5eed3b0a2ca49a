"""Form friction: where customers get stuck, by page and field, and where guidance is the wrong fix.

Definitions (docs/manager-pages.md): a page's sessions are the sessions that reported any signal on
it in the period; a field's intervention rate is the share of those sessions in which the agent aimed
guidance or an action at the field; above ``REDESIGN_RATE`` the field is flagged "redesign, don't
guide". A session completed after an intervention when, after its first intervention on the field,
the page reported no more stalls or validation errors on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from analytics.models import PageSignal
from analytics.periods import Period

REDESIGN_RATE = Decimal("0.30")
TROUBLE = ("stall", "validation_error")


@dataclass(frozen=True)
class FieldRow:
    page_url: str
    field: str
    page_sessions: int
    stalled_sessions: int
    validation_errors: int
    intervened_sessions: int
    completed_after_intervention: int
    exit_intents: int  # on the page, for context

    @property
    def intervention_rate(self) -> Decimal:
        if not self.page_sessions:
            return Decimal(0)
        return (Decimal(self.intervened_sessions) / self.page_sessions).quantize(Decimal("0.001"))

    @property
    def redesign(self) -> bool:
        return self.intervention_rate > REDESIGN_RATE


def signals_in(period: Period) -> QuerySet[PageSignal]:
    return PageSignal.objects.filter(created_at__gte=period.start, created_at__lt=period.end)


def field_rows(period: Period) -> list[FieldRow]:
    """Every (page, field) with a signal in the period, worst intervention rate first."""
    signals = signals_in(period)
    page_sessions = dict(
        signals.values_list("page_url")
        .annotate(n=Count("session", distinct=True))
        .values_list("page_url", "n")
    )
    exits = dict(
        signals.filter(kind="exit_intent")
        .values_list("page_url")
        .annotate(n=Count("id"))
        .values_list("page_url", "n")
    )
    grouped = (
        signals.exclude(field="")
        .values("page_url", "field")
        .annotate(
            stalled=Count("session", distinct=True, filter=Q(kind="stall")),
            errors=Count("id", filter=Q(kind="validation_error")),
            intervened=Count("session", distinct=True, filter=Q(kind="intervention")),
        )
    )
    completed = _completed_after_intervention(signals)
    rows = [
        FieldRow(
            page_url=g["page_url"],
            field=g["field"],
            page_sessions=page_sessions.get(g["page_url"], 0),
            stalled_sessions=g["stalled"],
            validation_errors=g["errors"],
            intervened_sessions=g["intervened"],
            completed_after_intervention=completed.get((g["page_url"], g["field"]), 0),
            exit_intents=exits.get(g["page_url"], 0),
        )
        for g in grouped
    ]
    return sorted(rows, key=lambda r: (-r.intervention_rate, -r.stalled_sessions, r.page_url, r.field))


def _completed_after_intervention(signals: QuerySet[PageSignal]) -> dict[tuple[str, str], int]:
    """Per (page, field): sessions with no stall or validation error on it after their first
    intervention on it. Counted in the database: a session had trouble after its first intervention
    exactly when some trouble follows some intervention, so completed = intervened - troubled."""
    interventions = signals.filter(kind="intervention").exclude(field="")
    trouble_after = signals.filter(
        session_id=OuterRef("session_id"),
        page_url=OuterRef("page_url"),
        field=OuterRef("field"),
        kind__in=TROUBLE,
        created_at__gt=OuterRef("created_at"),
    )
    rows = (
        interventions.values("page_url", "field")
        .annotate(
            intervened=Count("session", distinct=True),
            troubled=Count("session", distinct=True, filter=Exists(trouble_after)),
        )
        .values_list("page_url", "field", "intervened", "troubled")
    )
    return {(page, field): intervened - troubled for page, field, intervened, troubled in rows}


def sessions_behind(period: Period, page_url: str, field: str, kind: str) -> QuerySet[PageSignal]:
    """The signals behind one figure of the table (one click from it)."""
    qs = signals_in(period).filter(page_url=page_url, kind=kind)
    if field:
        qs = qs.filter(field=field)
    return qs.select_related("session__ticket", "session__agent").order_by("-created_at")
