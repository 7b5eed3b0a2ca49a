"""What the benchmarks' COPY seeds share: weighted picks, the ticket categories' mix, and streaming a
table's rows into PostgreSQL with COPY (``bench/dashboard_seed.py``, ``bench/desk_seed.py``)."""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, models

from tickets.models import Category

DAY = 86_400.0


class Weighted:
    """A fast weighted pick (one ``random()`` and a bisect instead of ``random.choices``)."""

    def __init__(self, pairs: Sequence[tuple[Any, float]]) -> None:
        self.values = [v for v, _ in pairs]
        self.cumulative = list(itertools.accumulate(w for _, w in pairs))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random) -> Any:
        return self.values[bisect.bisect_right(self.cumulative, rng.random() * self.total)]


CATEGORIES = Weighted(
    [
        (Category.ACCOUNT_CONFIGURATION, 5),
        (Category.INTEGRATION_SETUP, 3),
        (Category.DEBUGGING_ERRORS, 4),
        (Category.PRODUCT_ONBOARDING, 4),
        (Category.SSO_AUTHENTICATION, 2),
        (Category.REPORT_CONFIGURATION, 2),
        (Category.BILLING, 3),
        (Category.OTHER, 1),
    ]
)


@dataclass(frozen=True)
class Table:
    """A table to COPY: its model, the columns in order, and the rows of a planned world."""

    model: type[models.Model]
    columns: tuple[str, ...]
    rows: Callable[[Any], Iterable[Sequence[Any]]]


def copy_rows(table: Table, world: Any) -> int:
    """Stream one table's rows with COPY; returns how many."""
    name = table.model._meta.db_table
    columns = ", ".join(connection.ops.quote_name(c) for c in table.columns)
    n = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor
        with raw.copy(f"COPY {connection.ops.quote_name(name)} ({columns}) FROM STDIN") as copy:
            for row in table.rows(world):
                copy.write_row(row)
                n += 1
    return n
