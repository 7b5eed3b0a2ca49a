"""First-contact resolution and follow-up messages, for tickets with co-browse and without.

The population is the tickets resolved in the period. A ticket's *contact* is, with co-browse, the
end of its first session the customer shared and, without, the first public reply from support.
Follow-up messages are the requester's public replies after that contact; a ticket is resolved at
first contact when there are none. Tickets resolved without any contact are left out: they say
nothing about either way of helping. The mode filter narrows the co-browse side only.

CSAT, per ticket: with co-browse, the mean of its shared sessions' survey answers; without, the
requester's answer to the survey sent when the ticket was resolved (``tickets.satisfaction``; a
ticket with a shared session is not asked twice).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from django.db.models import Count, Q, Sum

from analytics.models import TicketFact
from analytics.periods import Period

if TYPE_CHECKING:
    from analytics.dashboard import Filters


@dataclass(frozen=True)
class ContactFigures:
    tickets: int = 0
    first_contact: int = 0  # resolved with no follow-up message
    follow_ups: int = 0
    csat_sum: Decimal = Decimal(0)  # sum of per-ticket stars
    csat_answers: int = 0  # tickets with an answer

    @property
    def csat(self) -> Decimal | None:
        if not self.csat_answers:
            return None
        return (self.csat_sum / self.csat_answers).quantize(Decimal("0.01"), ROUND_HALF_UP)

    @property
    def fcr_rate(self) -> Decimal | None:
        if not self.tickets:
            return None
        return (Decimal(self.first_contact) / self.tickets * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)

    @property
    def follow_ups_per_ticket(self) -> Decimal | None:
        if not self.tickets:
            return None
        return (Decimal(self.follow_ups) / self.tickets).quantize(Decimal("0.01"), ROUND_HALF_UP)


@dataclass(frozen=True)
class Comparison:
    with_cobrowse: ContactFigures
    without: ContactFigures


def compare(period: Period, filters: Filters) -> Comparison:
    """Both sides over ``TicketFact`` (``analytics.rollup`` computes each ticket's contact,
    follow-ups and stars from the raw rows)."""
    facts = TicketFact.objects.filter(
        resolved_at__gte=period.start, resolved_at__lt=period.end, contact_at__isnull=False
    )
    if filters.agent:
        facts = facts.filter(assignee_id=filters.agent)
    if filters.category:
        facts = facts.filter(category=filters.category)
    if filters.account:
        facts = facts.filter(account_id=filters.account)
    if filters.mode:
        facts = facts.filter(Q(cobrowse=False) | Q(modes__contains=f",{filters.mode},"))
    rows = (
        facts.order_by()
        .values("cobrowse")
        .annotate(
            tickets=Count("pk"),
            first_contact=Count("pk", filter=Q(follow_ups=0)),
            messages=Sum("follow_ups"),
            stars_sum=Sum("stars"),
            answers=Count("stars"),
        )
    )
    found = {
        bool(row["cobrowse"]): ContactFigures(
            row["tickets"],
            row["first_contact"],
            row["messages"] or 0,
            Decimal(str(row["stars_sum"] or 0)),
            row["answers"],
        )
        for row in rows
    }
    none = ContactFigures()
    return Comparison(with_cobrowse=found.get(True, none), without=found.get(False, none))
