"""The dashboard's charts: four series for Chart.js, each one GROUP BY in the database.

The sessions are ``dashboard.sessions(period, filters)``, the same queryset as the tables, so a chart
never disagrees with the figures beside it (and an agent's page, whose filter is always the agent,
charts only their own sessions). Days are desk days: a session counts on the date its first
connection fell on in the desk's time zone, the rule the period itself follows. Every day (or week)
of the period is present, zeros included, so gaps show as gaps rather than being skipped. Each series
carries a one-sentence summary (the canvas's accessible name) and, where no table on the page already
holds its figures, ``rows`` for the table that stands in for the picture.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db.models import Case, Count, DurationField, ExpressionWrapper, F, IntegerField, Q, Sum, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from analytics import dashboard
from analytics.periods import Period
from cobrowse.models import MODE_ORDER, ControlMode

#: Up to this many days the CSAT trend is drawn per day; longer periods per week (Monday first).
CSAT_DAILY_UP_TO = 31

_DURATION = ExpressionWrapper(F("ended_at") - F("started_at"), output_field=DurationField())


def series(period: Period, filters: dashboard.Filters) -> dict[str, Any]:
    """Sessions per day, mode mix, length buckets and the CSAT trend for the period and filters.

    All four from one pass over the period's facts grouped by (desk day, mode, length bucket): at
    most a few thousand rows, added up here per series (a year is ~590,000 sessions at the scale of
    ``bench/dashboard.py``; four passes cost four scans)."""
    rows = _rows(period, filters)
    return {
        "days": _per_day(period, rows),
        "modes": _modes(rows),
        "durations": _durations(rows),
        "csat": _csat(period, rows),
    }


def _rows(period: Period, filters: dashboard.Filters) -> list[dict[str, Any]]:
    """Sessions and survey answers per (desk day, final mode, length bucket); the bucket is None
    for a session that has not ended."""
    whens = [
        When(
            Q(**({"duration__gte": timedelta(minutes=lo)} if lo else {}))
            & Q(**({"duration__lt": timedelta(minutes=hi)} if hi else {})),
            then=i,
        )
        for i, (_label, lo, hi) in enumerate(dashboard.BUCKETS)
    ]
    grouped = (
        dashboard.sessions(period, filters)
        .annotate(duration=_DURATION)
        .annotate(
            day=TruncDate("started_at", tzinfo=timezone.get_current_timezone()),
            bucket=Case(When(ended_at__isnull=True, then=None), *whens, output_field=IntegerField()),
        )
        .values("day", "mode", "bucket")
        .annotate(n=Count("pk"), stars_sum=Sum("stars"), answers=Count("stars"))
        .order_by()
    )
    return [dict(row) for row in grouped]


def _short(day: date) -> str:
    return f"{day.day} {day:%b}"


def _long(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def _per_day(period: Period, rows: list[dict[str, Any]]) -> dict[str, Any]:
    counts: dict[date, int] = {}
    for row in rows:
        counts[row["day"]] = counts.get(row["day"], 0) + row["n"]
    days = [period.first_day + timedelta(days=i) for i in range(period.days)]
    values = [counts.get(day, 0) for day in days]
    total = sum(values)
    if total:
        busiest = max(range(len(days)), key=lambda i: (values[i], -i))  # the first of equal days
        summary = (
            f"Sessions per day, {_long(period.first_day)} to {_long(period.last_day)}: {total} sessions, "
            f"{sum(1 for v in values if not v)} days without any; the busiest day was "
            f"{_long(days[busiest])} with {values[busiest]}."
        )
    else:
        summary = f"Sessions per day, {_long(period.first_day)} to {_long(period.last_day)}: none."
    return {
        "dates": [day.isoformat() for day in days],
        "labels": [_short(day) for day in days],
        "sessions": values,
        "rows": [(f"{day:%a} {_long(day)}", n) for day, n in zip(days, values, strict=True)],
        "summary": summary,
    }


def _modes(rows: list[dict[str, Any]]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["mode"]] = counts.get(row["mode"], 0) + row["n"]
    labels = dict(ControlMode.choices)
    keys = [mode for mode in MODE_ORDER if mode in labels]
    values = [counts.get(mode, 0) for mode in keys]
    total = sum(values)
    parts = [f"{labels[k]} {v} ({round(v * 100 / total)} %)" for k, v in zip(keys, values, strict=True) if v]
    shares = ", ".join(parts) or "none"
    return {
        "keys": keys,
        "labels": [labels[k] for k in keys],
        "sessions": values,
        "summary": f"Sessions by final mode: {shares}.",
    }


def _durations(rows: list[dict[str, Any]]) -> dict[str, Any]:
    counts: dict[int, int] = {}
    for row in rows:
        if row["bucket"] is not None:
            counts[row["bucket"]] = counts.get(row["bucket"], 0) + row["n"]
    labels = [label for label, _lo, _hi in dashboard.BUCKETS]
    values = [counts.get(i, 0) for i in range(len(labels))]
    parts = ", ".join(f"{label}: {n}" for label, n in zip(labels, values, strict=True))
    return {
        "labels": labels,
        "sessions": values,
        "summary": f"Ended sessions by length: {parts if sum(values) else 'none'}.",
    }


def _csat(period: Period, rows: list[dict[str, Any]]) -> dict[str, Any]:
    daily = period.days <= CSAT_DAILY_UP_TO
    sums: dict[date, tuple[int, int]] = {}  # slot (the day, or the Monday of its week): stars, answers
    for row in rows:
        if not row["answers"]:
            continue
        slot = row["day"] if daily else row["day"] - timedelta(days=row["day"].weekday())
        stars, n = sums.get(slot, (0, 0))
        sums[slot] = (stars + row["stars_sum"], n + row["answers"])
    found = {slot: (stars / n, n) for slot, (stars, n) in sums.items()}
    step = timedelta(days=1 if daily else 7)
    slot = period.first_day if daily else period.first_day - timedelta(days=period.first_day.weekday())
    slots: list[date] = []
    while slot <= period.last_day:
        slots.append(slot)
        slot += step
    means: list[float | None] = []
    answers: list[int] = []
    for start in slots:
        mean, n = found.get(start, (None, 0))
        means.append(None if mean is None else round(float(mean), 2))
        answers.append(n)
    unit = "day" if daily else "week"
    total = sum(answers)
    if total:
        shown = [(s, m) for s, m in zip(slots, means, strict=True) if m is not None]
        low = min(shown, key=lambda p: p[1])
        high = max(shown, key=lambda p: p[1])
        prefix = "" if daily else "the week of "
        summary = (
            f"Mean survey stars (1 to 5) per {unit} from {total} answers: highest {high[1]} on "
            f"{prefix}{_long(high[0])}, lowest {low[1]} on {prefix}{_long(low[0])}; "
            f"{sum(1 for m in means if m is None)} {unit}s without answers are left blank."
        )
    else:
        summary = f"Mean survey stars per {unit}: no answers in the period."
    return {
        "unit": unit,
        "dates": [s.isoformat() for s in slots],
        "labels": [_short(s) if daily else f"w/c {_short(s)}" for s in slots],
        "mean": means,
        "answers": answers,
        "rows": [(_long(s), m, n) for s, m, n in zip(slots, means, answers, strict=True)],
        "summary": summary,
    }
