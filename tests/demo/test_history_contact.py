"""Seeded history feeds first-contact resolution: messages around the sessions, and tickets answered
by message alone on the same days, which need clearly more rounds."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Min
from django.utils import timezone

from analytics import contact, dashboard
from analytics.periods import Period
from cobrowse.models import CoBrowseSession
from outcomes.models import Outcome
from tickets.models import Status, Ticket, TicketComment

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--history", "7", stdout=out)
    return out.getvalue()


def test_with_cobrowse_resolves_more_at_first_contact():
    _seed()
    figures = contact.compare(Period.default(), dashboard.Filters())
    with_, without = figures.with_cobrowse, figures.without
    assert with_.tickets > 50 and without.tickets > 50
    assert 0.6 < without.tickets / with_.tickets < 1.4  # about as many on each side
    assert with_.fcr_rate > without.fcr_rate + 10
    assert 60 <= with_.fcr_rate <= 80 and 40 <= without.fcr_rate <= 60
    assert with_.follow_ups_per_ticket < without.follow_ups_per_ticket
    assert dashboard.build(Period.default(), dashboard.Filters()).contact == figures


def test_cobrowse_tickets_open_with_the_customers_message_and_follow_ups_come_after():
    _seed()
    sessions = CoBrowseSession.objects.select_related("ticket", "outcome")
    first = dict(
        TicketComment.objects.values("ticket").annotate(at=Min("created_at")).values_list("ticket", "at")
    )
    for session in sessions:
        opening = TicketComment.objects.filter(ticket=session.ticket).order_by("created_at").first()
        assert opening.author_id == session.ticket.requester_id and not opening.is_internal
        assert first[session.ticket_id] < session.started_at
        after = TicketComment.objects.filter(
            ticket=session.ticket, author=session.ticket.requester, created_at__gt=session.ended_at
        ).count()
        if session.outcome.outcome == Outcome.RESOLVED:
            assert after <= 1
        else:
            assert after <= 3
    unsettled = sessions.exclude(outcome__outcome=Outcome.RESOLVED)
    # Follow-ups the call back settled are resolved later; escalations wait for L2.
    assert Ticket.objects.filter(cobrowse_sessions__in=unsettled, status=Status.RESOLVED).exists()
    assert not Ticket.objects.filter(
        cobrowse_sessions__outcome__outcome=Outcome.ESCALATED, resolved_at__isnull=False
    ).exists()


def test_tickets_without_cobrowse_are_seeded_answered_and_dated_in_the_past():
    _seed()
    without = Ticket.objects.filter(description__startswith="[seeded history]", cobrowse_sessions=None)
    assert without.exists()
    for ticket in without.prefetch_related("comments__author"):
        comments = list(ticket.comments.all())
        assert comments[0].author_id == ticket.requester_id and comments[0].created_at == ticket.created_at
        assert comments[1].author.role == "agent" and comments[1].created_at == ticket.first_response_at
        assert ticket.assignee_id == comments[1].author_id
        if ticket.resolved_at:
            assert ticket.resolved_at > comments[-1].created_at
    now = timezone.now()
    assert not TicketComment.objects.filter(created_at__gt=now).exists()
    assert not Ticket.objects.filter(resolved_at__gt=now).exists()
    # Numbered from the same counter: no gaps, no clashes with the co-browse block.
    numbers = sorted(
        Ticket.objects.filter(description__startswith="[seeded history]").values_list("number", flat=True)
    )
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def test_seeding_again_adds_no_tickets_or_messages():
    _seed()
    counts = (Ticket.objects.count(), TicketComment.objects.count())
    assert "History exists." in _seed()
    assert (Ticket.objects.count(), TicketComment.objects.count()) == counts


def test_tickets_without_co_browse_have_survey_answers():
    from tickets.models import SatisfactionAnswer

    _seed()
    answers = SatisfactionAnswer.objects.filter(ticket__cobrowse_sessions__isnull=True)
    assert answers.exists() and not SatisfactionAnswer.objects.filter(ticket__cobrowse_sessions__isnull=False)
    assert all(a.created_at > a.ticket.resolved_at for a in answers.select_related("ticket"))
    assert contact.compare(Period.default(), dashboard.Filters()).without.csat is not None
