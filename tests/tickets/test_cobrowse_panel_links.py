"""The ticket page's co-browse panel links to where the live session is watched, from the moment the
session starts until it ends, for whoever may open it: the session's agent, managers and invited
colleagues (the console for a customer's page, the viewer for a server-side browser)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from browser import services as browser_services
from cobrowse import services as session_services
from tests.consent.helpers import consent, start
from tests.factories import make_ticket

pytestmark = pytest.mark.django_db

WATCH = 'data-testid="cobrowse-watch"'


def _panel(client, user, ticket) -> str:
    client.force_login(user)
    html = client.get(reverse("tickets:agent_ticket", args=[ticket.number])).content.decode()
    return html[html.index('data-testid="cobrowse-panel"') :]


def _console_link(session) -> str:
    return f'href="/agent/sessions/{session.pk}/" {WATCH}>Open the live console</a>'


@pytest.fixture
def ticket(customer):
    return make_ticket(customer)


def test_a_waiting_session_already_links_its_console(client, agent, ticket):
    session, _raw = start(ticket, agent)
    assert _console_link(session) in _panel(client, agent, ticket)


def test_a_sharing_session_links_its_console_to_agent_and_manager(client, agent, manager, ticket):
    session, _grant = consent(ticket, agent)
    assert _console_link(session) in _panel(client, agent, ticket)
    assert _console_link(session) in _panel(client, manager, ticket)


def test_an_invited_colleague_gets_the_link_but_not_the_controls(client, agent, agent_l3, ticket):
    session, _grant = consent(ticket, agent)
    assert WATCH not in _panel(client, agent_l3, ticket)
    session_services.invite_viewer(session, actor=agent, user=agent_l3)
    panel = _panel(client, agent_l3, ticket)
    assert _console_link(session) in panel
    assert 'data-testid="cobrowse-end"' not in panel


def test_no_link_once_the_session_ended(client, agent, ticket):
    session, _grant = consent(ticket, agent)
    session_services.end_session(session, actor=agent)
    assert WATCH not in _panel(client, agent, ticket)


def test_a_server_side_browser_session_links_its_viewer(client, agent, manager, ticket):
    started = browser_services.start_browser_session(
        ticket, agent=agent, start_url="http://localhost:8001/apply", channel="copy"
    )
    link = f'href="/browser/{started.session.pk}/" {WATCH}>Open the browser viewer</a>'
    assert link in _panel(client, agent, ticket)
    assert link in _panel(client, manager, ticket)
