"""A session that ran, with what sessions record, for the outcome and survey tests."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cobrowse import services as session_services
from cobrowse.models import ActionRequest, CoBrowseSession, Participant, ParticipantRole, SessionState
from tests.factories import make_ticket
from tickets import services as ticket_services
from tickets.models import TicketComment, TicketEvent


def _at(event_filter, when):
    TicketEvent.objects.filter(**event_filter).update(created_at=when)


@pytest.fixture
def session(customer, agent):
    """A session that ran ten minutes: two in view only, eight guided, with guidance, actions, a note."""
    ticket = ticket_services.assign(make_ticket(customer), actor=agent, assignee=agent)
    start = timezone.now() - timedelta(minutes=30)
    session = CoBrowseSession.objects.create(
        ticket=ticket, agent=agent, customer=customer, state=SessionState.ENDED,
        consented_at=start, started_at=start, ended_at=start + timedelta(minutes=10),
    )  # fmt: skip
    Participant.objects.create(session=session, user=agent, role=ParticipantRole.AGENT)
    session_services.log_event(session, "consented", mode="view_only", recording=False)
    _at({"data__step": "consented"}, start)
    session_services.log_event(session, "mode_changed", actor=agent, **{"from": "view_only", "to": "guided"})
    _at({"data__step": "mode_changed"}, start + timedelta(minutes=2))
    for kind in ("highlight", "highlight", "highlight", "arrow"):
        session_services.log_step(session, "annotation", actor=agent, internal=True, kind=kind)
    expires = start + timedelta(minutes=5)
    for state in ("approved", "approved", "denied"):
        ActionRequest.objects.create(
            session=session, requested_by=agent, action="click", state=state, expires_at=expires
        )
    ticket_services.add_comment(ticket, author=agent, body="Co-browse note: bank field hidden", internal=True)
    TicketComment.objects.filter(ticket=ticket).update(created_at=start + timedelta(minutes=4))
    return session
