"""Closing a session: the outcome, the summary posted to the ticket, what each outcome does to the
ticket, the outcome page and the ticket API."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from rest_framework.test import APIClient

from cobrowse.models import CoBrowseSession, SessionState
from outcomes import services
from outcomes.models import SessionOutcome
from tickets.models import Status, Team, Ticket


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.django_db
def test_resolved_posts_the_summary_and_resolves_the_ticket(session, agent):
    record = services.record_outcome(
        session, actor=agent, outcome="resolved", note="Showed where the IBAN goes"
    )
    ticket = Ticket.objects.get(pk=session.ticket_id)
    assert ticket.status == Status.RESOLVED
    text = record.summary
    assert record.summary_comment.body == text and record.summary_comment.is_internal
    for line in (
        "Outcome: Resolved",
        "Resolution note: Showed where the IBAN goes",
        "Duration: 10 min 00 s",
        "Modes: View only 2 min 00 s; Guidance 8 min 00 s",
        f"Took part: {session.customer.display_name}, {agent.display_name}",
        "Guidance: 1 arrow, 3 highlights",
        "Actions: 2 approved, 1 denied",
        "- bank field hidden",
        "Recording: none",
    ):
        assert line in text, line
    assert ticket.events.filter(kind="cobrowse", data__step="outcome_recorded").exists()


@pytest.mark.django_db
def test_follow_up_assigns_the_next_step(session, agent, agent_l3):
    with pytest.raises(ValidationError) as missing:
        services.record_outcome(session, actor=agent, outcome="follow_up")
    assert set(missing.value.message_dict) == {"next_step", "owner"}
    services.record_outcome(
        session, actor=agent, outcome="follow_up", next_step="Call back Monday", owner=agent_l3
    )
    ticket = Ticket.objects.get(pk=session.ticket_id)
    assert ticket.assignee == agent_l3 and ticket.status != Status.RESOLVED
    assert "Next step: Call back Monday (owner: " in SessionOutcome.objects.get().summary


@pytest.mark.django_db
def test_escalated_moves_the_ticket_to_that_level(session, agent):
    payments = Team.objects.create(name="Payments")
    with pytest.raises(ValidationError):
        services.record_outcome(session, actor=agent, outcome="escalated", level="L1")
    services.record_outcome(session, actor=agent, outcome="escalated", level="L3", team=payments)
    ticket = Ticket.objects.get(pk=session.ticket_id)
    assert (ticket.escalation_level, ticket.team) == ("L3", payments)
    assert ticket.assignee is None  # an L2 agent does not keep an L3 ticket


@pytest.mark.django_db
def test_refusals(session, agent, agent_l3, manager, customer):
    with pytest.raises(PermissionDenied):
        services.record_outcome(session, actor=agent_l3, outcome="resolved")  # not their session
    with pytest.raises(PermissionDenied):
        services.record_outcome(session, actor=customer, outcome="resolved")
    with pytest.raises(ValidationError):
        services.record_outcome(session, actor=agent, outcome="maybe")
    CoBrowseSession.objects.filter(pk=session.pk).update(state=SessionState.ACTIVE)
    with pytest.raises(ValidationError) as live:
        services.record_outcome(CoBrowseSession.objects.get(pk=session.pk), actor=agent, outcome="resolved")
    assert live.value.code == "not_ended"
    CoBrowseSession.objects.filter(pk=session.pk).update(state=SessionState.TIMED_OUT)
    services.record_outcome(session, actor=manager, outcome="resolved")  # a manager may
    with pytest.raises(ValidationError) as twice:
        services.record_outcome(session, actor=agent, outcome="resolved")
    assert twice.value.code == "outcome_exists"
    assert SessionOutcome.objects.count() == 1


@pytest.mark.django_db
def test_the_outcome_page(session, agent, agent_l3):
    client = Client()
    client.force_login(agent)
    url = f"/agent/sessions/{session.pk}/outcome/"
    page = client.get(url).content.decode()
    assert 'data-testid="outcome-form"' in page and "View only" in page
    bad = client.post(url, {"outcome": "follow_up"})
    assert bad.status_code == 400 and "Say what happens next." in bad.content.decode()
    done = client.post(url, {"outcome": "resolved", "note": "Fixed"})
    assert done.status_code == 302 and done["Location"] == f"/agent/tickets/{session.ticket.number}/"
    assert 'data-testid="outcome-summary"' in client.get(url).content.decode()
    ticket_page = client.get(done["Location"]).content.decode()
    assert "Outcome: Resolved" in ticket_page and 'data-testid="outcome-link"' in ticket_page
    other = Client()
    other.force_login(agent_l3)
    assert other.get(url).status_code == 403
    assert client.get("/agent/sessions/999999/outcome/").status_code == 404


@pytest.mark.django_db
def test_the_ticket_api_shows_outcomes_to_staff_only(session, agent, customer):
    services.record_outcome(session, actor=agent, outcome="resolved", note="Fixed")
    staff = APIClient()
    staff.force_login(agent)
    body = staff.get(f"/api/tickets/{session.ticket.number}/").json()
    assert body["cobrowse_outcomes"][0]["outcome"] == "resolved"
    assert "Outcome: Resolved" in body["cobrowse_outcomes"][0]["summary"]
    own = APIClient()
    own.force_login(customer)
    assert "cobrowse_outcomes" not in own.get(f"/api/tickets/{session.ticket.number}/").json()
