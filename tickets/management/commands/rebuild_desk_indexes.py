"""``python manage.py rebuild_desk_indexes``: the desk's derived data, recomputed from the tickets.

Each step is a name and a function returning what it did; add a step to ``STEPS`` and the command
runs it in order (``--step NAME`` runs only the named ones).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from tickets import counts, search
from tickets.models import QueueCount, Ticket, TicketComment, TicketEvent


def _queue_counts() -> str:
    return str(counts.rebuild())


def _search_vectors() -> str:
    if connection.vendor != "postgresql":
        return "not used on this database"
    return f"{search.rebuild()} tickets' search vectors rewritten"


def _statistics() -> str:
    """Fresh planner statistics after a bulk load, so the partial indexes are chosen."""
    tables = [model._meta.db_table for model in (Ticket, TicketComment, TicketEvent, QueueCount)]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    return f"analyzed {', '.join(tables)}"


#: (name, step) in the order they run.
STEPS: list[tuple[str, Callable[[], str]]] = [
    ("queue counts", _queue_counts),
    ("search vectors", _search_vectors),
    ("statistics", _statistics),
]


class Command(BaseCommand):
    help = (
        "Recompute the desk's derived data from the tickets (the queue's counters, the search "
        "vectors, the planner's statistics): after a bulk import, a restore, or a write that "
        "bypassed tickets.services."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--step",
            action="append",
            choices=[name for name, _ in STEPS],
            help="Run only this step (repeatable). Default: every step.",
        )

    def handle(self, *args: Any, step: list[str] | None = None, **options: Any) -> None:
        chosen = [(name, run) for name, run in STEPS if not step or name in step]
        if not chosen:
            raise CommandError("No step to run.")
        started = time.monotonic()
        for name, run in chosen:
            began = time.monotonic()
            outcome = run()
            self.stdout.write(f"{name}: {outcome} ({(time.monotonic() - began) * 1000:.0f} ms)")
        self.stdout.write(self.style.SUCCESS(f"Done in {time.monotonic() - started:.1f} s."))
