"""The reporting period of the manager pages: whole days in the desk's time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone

DEFAULT_DAYS = 30
MAX_DAYS = 366 * 3


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
