"""``python manage.py rebuild_analytics``: every session and ticket fact from the raw rows."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from analytics import friction, rollup


class Command(BaseCommand):
    help = (
        "Recompute the manager pages' facts (analytics.SessionFact, analytics.TicketFact, "
        "analytics.FrictionDay) from the "
        "sessions, outcomes, survey answers, tickets and comments: after a bulk import, a restore, "
        "or the upgrade that introduced them."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        sessions, tickets = rollup.rebuild()
        self.stdout.write(
            f"{sessions} session facts and {tickets} ticket facts in {time.monotonic() - started:.1f} s."
        )
        started = time.monotonic()
        rows = friction.rebuild()
        elapsed = time.monotonic() - started
        self.stdout.write(f"{rows} form-friction rows (page and field per day) in {elapsed:.1f} s.")
