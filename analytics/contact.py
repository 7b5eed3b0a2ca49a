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

from django.db.models import (
    Avg,
    Case,
    Count,
    Exists,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    When,
)
from django.db.models.functions import Cast, Coalesce

from accounts.models import Role
from analytics.periods import Period
from cobrowse.models import CoBrowseSession
from outcomes.models import SurveyResponse
from tickets.models import Ticket, TicketComment

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
    answered = SurveyResponse.objects.filter(session__ticket=OuterRef("pk"), session__started_at__isnull=False)
    if filters.mode:
        answered = answered.filter(session__mode=filters.mode)
    session_stars = (
        answered
        .order_by()
        .values("session__ticket")
        .annotate(mean=Avg("stars"))
        .values("mean")
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
        .annotate(
            follow_ups=Coalesce(Subquery(follow_ups, output_field=IntegerField()), 0),
            stars=Case(
                When(cobrowse=True, then=Subquery(session_stars, output_field=FloatField())),
                default=Cast("satisfaction__stars", FloatField()),
            ),
        )
        .order_by()
        .values("cobrowse")
        .annotate(
            tickets=Count("id"),
            first_contact=Count("id", filter=Q(follow_ups=0)),
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
