"""First-contact resolution and follow-up messages, for tickets with co-browse and without.

The population is the tickets resolved in the period. A ticket's *contact* is, with co-browse, the
end of its first session the customer shared and, without, the first public reply from support.
Follow-up messages are the requester's public replies after that contact; a ticket is resolved at
first contact when there are none. Tickets resolved without any contact are left out: they say
nothing about either way of helping. The mode filter narrows the co-browse side only.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, Subquery, Sum, When
from django.db.models.functions import Coalesce

from accounts.models import Role
from analytics.periods import Period
from cobrowse.models import CoBrowseSession
from tickets.models import Ticket, TicketComment

if TYPE_CHECKING:
    from analytics.dashboard import Filters


@dataclass(frozen=True)
class ContactFigures:
    tickets: int = 0
    first_contact: int = 0  # resolved with no follow-up message
    follow_ups: int = 0

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
    tickets = Ticket.objects.filter(resolved_at__gte=period.start, resolved_at__lt=period.end)
    if filters.agent:
        tickets = tickets.filter(assignee_id=filters.agent)
    if filters.category:
        tickets = tickets.filter(category=filters.category)
    if filters.account:
        tickets = tickets.filter(account_id=filters.account)
    shared = CoBrowseSession.objects.filter(ticket=OuterRef("pk"), started_at__isnull=False)
    if filters.mode:
        shared = shared.filter(mode=filters.mode)
    first_session_end = shared.filter(ended_at__isnull=False).order_by("ended_at").values("ended_at")[:1]
    first_reply = (
        TicketComment.objects.filter(
            ticket=OuterRef("pk"), is_internal=False, author__role__in=[Role.AGENT, Role.MANAGER]
        )
        .order_by("created_at")
        .values("created_at")[:1]
    )
    follow_ups = (
        TicketComment.objects.filter(
            ticket=OuterRef("pk"),
            is_internal=False,
            author=OuterRef("requester"),
            created_at__gt=OuterRef("contact_at"),
        )
        .order_by()
        .values("ticket")
        .annotate(n=Count("id"))
        .values("n")
    )
    rows = (
        tickets.annotate(
            cobrowse=Exists(shared),
            contact_at=Case(
                When(cobrowse=True, then=Subquery(first_session_end)),
                default=Subquery(first_reply),
            ),
        )
        .filter(contact_at__isnull=False)
        .annotate(follow_ups=Coalesce(Subquery(follow_ups, output_field=IntegerField()), 0))
        .order_by()
        .values("cobrowse")
        .annotate(
            tickets=Count("id"), first_contact=Count("id", filter=Q(follow_ups=0)), messages=Sum("follow_ups")
        )
    )
    found = {
        bool(row["cobrowse"]): ContactFigures(row["tickets"], row["first_contact"], row["messages"] or 0)
        for row in rows
    }
    none = ContactFigures()
    return Comparison(with_cobrowse=found.get(True, none), without=found.get(False, none))
