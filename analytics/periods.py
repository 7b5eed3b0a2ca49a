"""The reporting period of the manager pages: whole days in the desk's time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone

DEFAULT_DAYS = 30
MAX_DAYS = 366 * 3
FIRST_MONTH = date(2000, 1, 1)  # no desk reports on earlier months; keeps dates far from year 1
_MONTH = re.compile(r"(\d{4})-(\d{2})")


class PeriodError(ValueError):
    """The period asked for is not a pair of dates, is reversed or too long."""


@dataclass(frozen=True)
class Period:
    first_day: date
    last_day: date  # inclusive

    @property
    def start(self) -> datetime:
        """Midnight opening the first day, in the desk's time zone."""
        return timezone.make_aware(datetime.combine(self.first_day, time.min))

    @property
    def end(self) -> datetime:
        """Midnight closing the last day (exclusive)."""
        return timezone.make_aware(datetime.combine(self.last_day + timedelta(days=1), time.min))

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @classmethod
    def default(cls, today: date | None = None) -> Period:
        """The last 30 days, today included."""
        today = today or timezone.localdate()
        return cls(today - timedelta(days=DEFAULT_DAYS - 1), today)

    @classmethod
    def parse(cls, params: Any, today: date | None = None) -> Period:
        """``?from=YYYY-MM-DD&to=YYYY-MM-DD`` (either may be left out)."""
        fallback = cls.default(today)
        try:
            first = date.fromisoformat(params["from"]) if params.get("from") else None
            last = date.fromisoformat(params["to"]) if params.get("to") else None
        except ValueError:
            raise PeriodError("Dates are written YYYY-MM-DD.") from None
        last = last or (first + timedelta(days=DEFAULT_DAYS - 1) if first else fallback.last_day)
        first = first or last - timedelta(days=DEFAULT_DAYS - 1)
        if first > last:
            raise PeriodError("The period must start on or before its last day.")
        if (last - first).days >= MAX_DAYS:
            raise PeriodError(f"A period is at most {MAX_DAYS} days.")
        return cls(first, last)

    @classmethod
    def month(cls, value: str, today: date | None = None) -> Period:
        """The calendar month ``YYYY-MM``: its first to its last day, in the desk's time zone.

        Refused: another format, a month that does not exist, before 2000, or one that has not
        started yet (a report on it would be empty, not wrong, but nobody means that).
        """
        match = _MONTH.fullmatch(value.strip())
        if match is None or not 1 <= int(match[2]) <= 12:
            raise PeriodError("A month is written YYYY-MM, for example 2026-10.")
        first = date(int(match[1]), int(match[2]), 1)
        if first < FIRST_MONTH:
            raise PeriodError(f"Months start from {FIRST_MONTH:%Y-%m}.")
        if first > (today or timezone.localdate()):
            raise PeriodError(f"{first:%Y-%m} has not started yet.")
        following = (first + timedelta(days=31)).replace(day=1)
        return cls(first, following - timedelta(days=1))

    @classmethod
    def last_month(cls, today: date | None = None) -> Period:
        """The calendar month before today's (the desk's today)."""
        end = (today or timezone.localdate()).replace(day=1) - timedelta(days=1)
        return cls(end.replace(day=1), end)

    def previous_month(self) -> Period:
        """The calendar month before the one this period starts in."""
        return Period.last_month(self.first_day)

    @property
    def label(self) -> str:
        """``YYYY-MM`` of the month the period starts in (a month's name in URLs and files)."""
        return f"{self.first_day:%Y-%m}"
