"""Escalation: a ticket moves to a level's queue and a team, the move is recorded, the queue and
the API filter by both, and only support staff move tickets."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import make_ticket, make_user
from tickets import selectors, services
from tickets.models import EscalationLevel, EventKind, Status, Team, Ticket, TicketComment


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def payments(db):
    return Team.objects.create(name="Payments")


@pytest.fixture
def ticket(customer, agent_l1):
    ticket = make_ticket(customer)
    return services.assign(ticket, actor=agent_l1, assignee=agent_l1)


def _escalations(ticket):
    return list(ticket.events.filter(kind=EventKind.ESCALATION).values_list("data", flat=True))


@pytest.mark.django_db
def test_escalating_moves_the_ticket_and_records_the_transition(ticket, agent_l1, payments):
    moved = services.escalate(ticket, actor=agent_l1, level="L2", team=payments, reason="Card declined twice")
    assert (moved.escalation_level, moved.team) == ("L2", payments)
    # An L1 assignee cannot work an L2 ticket: it waits in the L2 queue.
    assert moved.assignee is None
    assert _escalations(moved) == [
        {"from": "L1", "to": "L2", "from_team": None, "to_team": payments.pk, "unassigned": agent_l1.pk}
    ]
    event = moved.events.get(kind=EventKind.ESCALATION)
    assert event.internal and event.actor == agent_l1 and "Card" not in str(event.data)
    note = TicketComment.objects.get(ticket=moved)
    assert note.is_internal and note.body == "Card declined twice"


@pytest.mark.django_db
def test_an_assignee_at_the_level_keeps_the_ticket(customer, agent, agent_l3):
    ticket = services.assign(make_ticket(customer), actor=agent, assignee=agent)  # agent is L2
    assert services.escalate(ticket, actor=agent, level="L2").assignee == agent
    assert services.escalate(ticket, actor=agent, level="L3").assignee is None
    back = services.assign(Ticket.objects.get(pk=ticket.pk), actor=agent_l3, assignee=agent_l3)
    assert services.escalate(back, actor=agent_l3, level="L1").assignee == agent_l3
    assert [d["to"] for d in _escalations(back)] == ["L2", "L3", "L1"]


@pytest.mark.django_db
def test_refusals(ticket, agent_l1, customer, payments):
    with pytest.raises(PermissionDenied):
        services.escalate(ticket, actor=customer, level="L2")
    with pytest.raises(ValidationError):
        services.escalate(ticket, actor=agent_l1, level="L4")
    with pytest.raises(ValidationError):
        services.escalate(ticket, actor=agent_l1, level="L1")  # nothing would change
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.CLOSED)
    with pytest.raises(ValidationError) as closed:
        services.escalate(Ticket.objects.get(pk=ticket.pk), actor=agent_l1, level="L2", team=payments)
    assert closed.value.code == "ticket_closed"
    assert _escalations(ticket) == []


@pytest.mark.django_db
def test_the_queue_filters_by_level_and_team(customer, agent, agent_l1, payments):
    plain = make_ticket(customer, subject="Plain")
    l2 = services.escalate(make_ticket(customer, subject="Second line"), actor=agent, level="L2")
    paying = services.escalate(
        make_ticket(customer, subject="Payments"), actor=agent, level="L2", team=payments
    )
    assert set(selectors.filter_tickets(agent, level="L2")) == {l2, paying}
    assert set(selectors.filter_tickets(agent, level="L1")) == {plain}
    assert set(selectors.filter_tickets(agent, team=payments.pk)) == {paying}
    client = Client()
    client.force_login(agent)
    page = client.get("/agent/", {"level": "L2", "team": payments.pk, "status": ""}).content.decode()
    assert "Payments" in page and "Second line" not in page and "Plain" not in page
    assert client.get("/agent/", {"level": "L9"}).status_code == 400


@pytest.mark.django_db
def test_the_ticket_page_escalates_and_says_where_it_went(ticket, agent_l1, payments):
    client = Client()
    client.force_login(agent_l1)
    url = f"/agent/tickets/{ticket.number}/"
    assert 'data-testid="escalation"' in client.get(url).content.decode()
    response = client.post(url + "escalate/", {"level": "L2", "team": payments.pk, "reason": ""}, follow=True)
    text = response.content.decode()
    assert "moved to Level 2, Payments and is waiting in its queue" in text
    assert "moved the ticket from Front line (L1) to Level 2 (Payments) and unassigned" in text
    bad = client.post(url + "escalate/", {"level": "L2", "team": payments.pk})
    assert bad.status_code == 400 and "already at this level and team" in bad.content.decode()


@pytest.mark.django_db
def test_the_api_shows_filters_and_escalates(ticket, agent_l1, customer, payments):
    staff = APIClient()
    staff.force_login(agent_l1)
    url = f"/api/tickets/{ticket.number}/escalate/"
    response = staff.post(
        url, {"level": "L3", "team": payments.pk, "reason": "Needs a developer"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["escalation_level"] == "L3" and response.json()["team"] == "Payments"
    listed = staff.get("/api/tickets/", {"level": "L3", "team": payments.pk}).json()["results"]
    assert [t["number"] for t in listed] == [ticket.number]
    assert staff.get("/api/tickets/", {"level": "L9"}).status_code == 400
    assert staff.post(url, {"level": "L3", "team": payments.pk}, format="json").status_code == 400
    assert staff.post(url, {"level": "L2", "team": 99999}, format="json").status_code == 400
    own = APIClient()
    own.force_login(customer)
    assert own.post(url, {"level": "L1"}, format="json").status_code == 403
    other = APIClient()
    other.force_login(make_user("stranger"))
    assert other.post(url, {"level": "L1"}, format="json").status_code == 404
    assert Ticket.objects.get(pk=ticket.pk).escalation_level == EscalationLevel.L3
