"""Starting co-browse from the ticket page: who may, taking an unassigned ticket, and where the
customer's link is (and is not) shown to staff."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cobrowse.models import CoBrowseSession
from tests.consent.helpers import start
from tests.factories import make_ticket
from tickets import services as ticket_services
from tickets.models import EventKind, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(customer):
    return make_ticket(customer)


def _start_url(ticket) -> str:
    return reverse("cobrowse:start", args=[ticket.number])


def _page(client, user, ticket) -> str:
    client.force_login(user)
    return client.get(reverse("tickets:agent_ticket", args=[ticket.number])).content.decode()


def test_the_panel_says_an_unassigned_ticket_is_taken_by_starting(client, agent, ticket):
    page = _page(client, agent, ticket)
    assert 'data-testid="cobrowse-start"' in page
    assert "starting co-browse assigns it to you" in page
    assert "the link goes to the customer only" in page


def test_the_panel_refuses_someone_elses_ticket_but_not_to_a_manager(
    client, agent, agent_l3, manager, ticket
):
    ticket_services.assign(ticket, actor=manager, assignee=agent_l3)
    page = _page(client, agent, ticket)
    assert 'data-testid="cobrowse-start"' not in page
    assert "Only the ticket&#x27;s assignee or a manager can start co-browse on this ticket." in page
    manager_page = _page(client, manager, ticket)
    assert 'data-testid="cobrowse-start"' in manager_page and "assigns it to you" not in manager_page


def test_starting_on_someone_elses_ticket_is_a_clear_403(client, agent, agent_l3, manager, ticket):
    ticket_services.assign(ticket, actor=manager, assignee=agent_l3)
    client.force_login(agent)
    response = client.post(_start_url(ticket), {"channel": "copy"})
    assert response.status_code == 403
    assert "Only the ticket&#x27;s assignee or a manager" in response.content.decode()
    assert not CoBrowseSession.objects.exists()


def test_starting_on_an_unassigned_ticket_assigns_it_with_an_event(client, agent, ticket):
    client.force_login(agent)
    assert client.post(_start_url(ticket), {"channel": "copy"}).status_code == 200
    ticket.refresh_from_db()
    assert ticket.assignee == agent
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.ASSIGNMENT, actor=agent).count() == 1


@pytest.mark.parametrize(
    ("channel", "said"),
    [("email", "e-mail"), ("sms", "SMS"), ("chat", "chat"), ("in_app", "an in-app notice")],
)
def test_a_link_sent_to_the_customer_is_never_shown_to_staff(
    client, agent, ticket, channel, said, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_start_url(ticket), {"channel": channel})
    text = response.content.decode()
    assert response.status_code == 200
    assert f"Link sent by {said} to the customer." in text
    assert "/j/" not in text and 'data-testid="join-link"' not in text
    if channel == "email":
        assert len(mailoutbox) == 1 and "/j/" in mailoutbox[0].body  # it did reach the customer
    assert "/j/" not in _page(client, agent, ticket)  # nor on the ticket page and its activity


def test_the_copy_channel_shows_the_link_with_the_customers_confirmation(client, agent, ticket):
    client.force_login(agent)
    text = client.post(_start_url(ticket), {"channel": "copy"}).content.decode()
    assert 'data-testid="join-link"' in text and "/j/" in text
    assert "They confirm on their own page before anything is shared." in text


def test_a_resent_link_follows_the_same_rule(client, agent, ticket):
    session, _ = start(ticket, agent)
    client.force_login(agent)
    url = reverse("cobrowse:agent_action", args=[session.pk, "resend"])
    sent = client.post(url, {"channel": "chat"}).content.decode()
    assert "Link sent by chat to the customer." in sent and "/j/" not in sent
    copied = client.post(url, {"channel": "copy"}).content.decode()
    assert 'data-testid="join-link"' in copied and "/j/" in copied
