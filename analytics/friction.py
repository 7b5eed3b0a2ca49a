"""Form friction: where customers get stuck, by page and field, and where guidance is the wrong fix.

Definitions (docs/manager-pages.md): a page's sessions are the sessions that reported any signal on
it in the period; a field's intervention rate is the share of those sessions in which the agent aimed
guidance or an action at the field; above ``REDESIGN_RATE`` the field is flagged "redesign, don't
guide". A session completed after an intervention when, after its first intervention on the field,
the page reported no more stalls or validation errors on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from analytics.models import FrictionDay, FrictionDayDone, PageSignal
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


#: Today and this many days before it are always counted from the raw signals: a session that
#: started then may still be reporting (a session lasts at most its maximum and extensions, well
#: under a day). Older days are read from ``FrictionDay``, which the hourly timer recomputed for
#: the whole day after they ended.
RECENT_DAYS = 1
#: Older days without rows computed per timer pass (after an upgrade or an outage of the timer).
BACKFILL_DAYS = 62

Key = tuple[date, str, str]  # (day, page, field); field "" is the page's own row
FIGURES = (
    "page_sessions", "exit_intents", "stalled_sessions", "validation_errors", "intervened_sessions",
    "completed_after_intervention",
)  # fmt: skip


def signals_in(period: Period) -> QuerySet[PageSignal]:
    """Signals of the sessions that started in the period (as the dashboard counts sessions)."""
    return PageSignal.objects.filter(
        session__started_at__gte=period.start, session__started_at__lt=period.end
    )


def _signals_of_days(days: Iterable[date]) -> QuerySet[PageSignal]:
    """Signals of the sessions that started on these days, one range per run of consecutive days."""
    spans: list[list[date]] = []
    for day in sorted(days):
        if spans and day - spans[-1][1] == timedelta(days=1):
            spans[-1][1] = day
        else:
            spans.append([day, day])
    if not spans:
        return PageSignal.objects.none()
    ranges = Q()
    for first, last in spans:
        span = Period(first, last)
        ranges |= Q(session__started_at__gte=span.start, session__started_at__lt=span.end)
    return PageSignal.objects.filter(ranges)


def _start_day() -> TruncDate:
    return TruncDate("session__started_at", tzinfo=timezone.get_current_timezone())


def _figures(signals: QuerySet[PageSignal]) -> dict[Key, dict[str, int]]:
    """Each figure per (day the session started, page, field), counted in the database."""
    raw, signals = signals, signals.annotate(day=_start_day())
    found: dict[Key, dict[str, int]] = {}

    def put(key: Key, **figures: int) -> None:
        found.setdefault(key, dict.fromkeys(FIGURES, 0)).update(figures)

    pages = (
        signals.values_list("day", "page_url")
        .annotate(n=Count("session", distinct=True), exits=Count("id", filter=Q(kind="exit_intent")))
        .order_by()
    )
    for d, page, n, exits in pages:
        put((d, page, ""), page_sessions=n, exit_intents=exits)
    grouped = (
        signals.exclude(field="")
        .values_list("day", "page_url", "field")
        .annotate(
            stalled=Count("session", distinct=True, filter=Q(kind="stall")),
            errors=Count("id", filter=Q(kind="validation_error")),
            intervened=Count("session", distinct=True, filter=Q(kind="intervention")),
        )
        .order_by()
    )
    for d, page, field, stalled, errors, intervened in grouped:
        put(
            (d, page, field),
            stalled_sessions=stalled,
            validation_errors=errors,
            intervened_sessions=intervened,
        )
    for key, completed in _completed_after_intervention(raw).items():
        put(key, completed_after_intervention=completed)
    return found


def _completed_after_intervention(signals: QuerySet[PageSignal]) -> dict[Key, int]:
    """Per (day, page, field): sessions with no stall or validation error on it after their first
    intervention on it. Counted in the database: a session had trouble after its first intervention
    exactly when some trouble follows some intervention, so completed = intervened - troubled."""
    interventions = signals.filter(kind="intervention").exclude(field="").annotate(day=_start_day())
    trouble_after = PageSignal.objects.filter(
        session_id=OuterRef("session_id"),
        page_url=OuterRef("page_url"),
        field=OuterRef("field"),
        kind__in=TROUBLE,
        created_at__gt=OuterRef("created_at"),
    )
    rows = (
        interventions.values("day", "page_url", "field")
        .annotate(
            intervened=Count("session", distinct=True),
            troubled=Count("session", distinct=True, filter=Exists(trouble_after)),
        )
        .values_list("day", "page_url", "field", "intervened", "troubled")
        .order_by()
    )
    return {(d, page, field): intervened - troubled for d, page, field, intervened, troubled in rows}


def field_rows(period: Period) -> list[FieldRow]:
    """Every (page, field) with a signal in the period, worst intervention rate first.

    Days older than :data:`RECENT_DAYS` that the timer has computed are summed from ``FrictionDay``;
    the others are counted from the raw signals. Both count a session on the day it started."""
    today = timezone.localdate()
    days = [
        period.first_day + timedelta(days=n)
        for n in range((min(period.last_day, today) - period.first_day).days + 1)
    ]
    settled = today - timedelta(days=RECENT_DAYS)
    stored = set(
        FrictionDayDone.objects.filter(
            day__gte=period.first_day, day__lt=settled, day__lte=period.last_day
        ).values_list("day", flat=True)
    )
    totals: dict[tuple[str, str], dict[str, int]] = {}

    def add(page: str, field: str, figures: dict[str, int]) -> None:
        into = totals.setdefault((page, field), dict.fromkeys(FIGURES, 0))
        for name in FIGURES:
            into[name] += figures[name] or 0

    summed = (
        FrictionDay.objects.filter(day__in=sorted(stored))
        .values("page_url", "field")
        .annotate(**{name: Sum(name) for name in FIGURES})
        .order_by()
    )
    for row in summed:
        add(row["page_url"], row["field"], {name: row[name] for name in FIGURES})  # type: ignore[literal-required]
    for (_, page, field), figures in _figures(_signals_of_days(d for d in days if d not in stored)).items():
        add(page, field, figures)
    rows = [
        FieldRow(
            page_url=page,
            field=field,
            page_sessions=totals.get((page, ""), {}).get("page_sessions", 0),
            stalled_sessions=f["stalled_sessions"],
            validation_errors=f["validation_errors"],
            intervened_sessions=f["intervened_sessions"],
            completed_after_intervention=f["completed_after_intervention"],
            exit_intents=totals.get((page, ""), {}).get("exit_intents", 0),
        )
        for (page, field), f in totals.items()
        if field
    ]
    return sorted(rows, key=lambda r: (-r.intervention_rate, -r.stalled_sessions, r.page_url, r.field))


# --- the daily rows ----------------------------------------------------------------------------------


@transaction.atomic
def store_days(days: Iterable[date]) -> int:
    """Recompute and store these days' rows; returns how many rows were written."""
    days = sorted(set(days))
    if not days:
        return 0
    figures = _figures(_signals_of_days(days))
    FrictionDay.objects.filter(day__in=days).delete()
    FrictionDay.objects.bulk_create(
        [FrictionDay(day=d, page_url=page, field=field, **f) for (d, page, field), f in figures.items()],
        batch_size=2000,
    )
    now = timezone.now()
    FrictionDayDone.objects.bulk_create(
        [FrictionDayDone(day=d, computed_at=now) for d in days],
        update_conflicts=True,
        unique_fields=["day"],
        update_fields=["computed_at"],
    )
    return len(figures)


def _first_day() -> date | None:
    first = PageSignal.objects.aggregate(first=Min("session__started_at"))["first"]
    return timezone.localdate(first) if first else None


def refresh_recent() -> int:
    """The timer's pass: the recent days up to yesterday, and a batch of older days never computed."""
    today = timezone.localdate()
    first = _first_day()
    if first is None:
        return 0
    recent = [today - timedelta(days=n) for n in range(1, RECENT_DAYS + 2)]
    done = set(FrictionDayDone.objects.filter(day__lt=recent[-1]).values_list("day", flat=True))
    older: list[date] = []
    day = recent[-1] - timedelta(days=1)
    while day >= first and len(older) < BACKFILL_DAYS:
        if day not in done:
            older.append(day)
        day -= timedelta(days=1)
    return store_days([d for d in recent if d >= first] + older)


def rebuild() -> int:
    """Every day from the first session with signals to yesterday (after a bulk import)."""
    first, today = _first_day(), timezone.localdate()
    if first is None:
        return 0
    return store_days(first + timedelta(days=n) for n in range((today - first).days))


def sessions_behind(period: Period, page_url: str, field: str, kind: str) -> QuerySet[PageSignal]:
    """The signals behind one figure of the table (one click from it)."""
    qs = signals_in(period).filter(page_url=page_url, kind=kind)
    if field:
        qs = qs.filter(field=field)
    return qs.select_related("session__ticket", "session__agent").order_by("-created_at")
