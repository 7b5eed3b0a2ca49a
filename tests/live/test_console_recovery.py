"""The console's and the ticket panel's offers for a page that lost its connection: what they show,
and the one-click endpoints (fresh link, call-back, server-side browser) with their refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import F
from django.test import Client
from django.urls import reverse

from cobrowse import page_signals
from cobrowse import services as session_services
from cobrowse.models import CoBrowseSession
from tests.consent.helpers import consent
from tests.factories import make_ticket, make_user
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def dropped(customer, agent):
    ticket = make_ticket(customer)
    session, _grant = consent(ticket, agent, mode="guided")
    session_services.mark_active(session.pk)
    session_services.mark_reconnecting(session.pk)
    return CoBrowseSession.objects.get(pk=session.pk)


def _as(user):
    client = Client()
    client.force_login(user)
    return client


def _gone_for(session, seconds):
    TicketEvent.objects.filter(ticket=session.ticket, data__step="reconnecting").update(
        created_at=F("created_at") - timedelta(seconds=seconds)
    )


def test_the_connection_endpoint_counts_down_to_the_fresh_link(dropped, agent, settings):
    settings.COBROWSE_FRESH_LINK_AFTER_SECONDS = 30
    url = reverse("console:connection", args=[dropped.pk])
    first = _as(agent).get(url).json()
    assert first["state"] == "reconnecting" and 29 <= first["fresh_link_in"] <= 30
    assert first["alternatives"] is False and first["drops"] == 0
    refused = _as(agent).post(reverse("console:fresh_link", args=[dropped.pk]), **JSON)
    assert refused.status_code == 409 and refused.json()["code"] == "too_soon"
    _gone_for(dropped, 31)
    assert _as(agent).get(url).json()["fresh_link_in"] == 0
    sent = _as(agent).post(reverse("console:fresh_link", args=[dropped.pk]), **JSON)
    assert sent.status_code == 200 and "/j/" in sent.json()["join_url"]


def test_only_the_agent_or_a_manager_acts_and_strangers_see_nothing(dropped, agent, manager):
    colleague = make_user("agent7", role="agent", agent_level="L2")
    session_services.invite_viewer(dropped, actor=agent, user=colleague)
    _gone_for(dropped, 60)
    for name in ("fresh_link", "callback", "browser"):
        url = reverse(f"console:{name}", args=[dropped.pk])
        assert _as(colleague).post(url, **JSON).status_code == 403
    stranger = make_user("agent8", role="agent", agent_level="L3")
    assert _as(stranger).get(reverse("console:connection", args=[dropped.pk])).status_code == 404
    assert _as(stranger).post(reverse("console:callback", args=[dropped.pk]), **JSON).status_code == 404
    called = _as(manager).post(reverse("console:callback", args=[dropped.pk]), **JSON)
    assert called.status_code == 200 and "call-back" in called.json()["notice"]
    console = _as(colleague).get(reverse("console:live", args=[dropped.pk])).content.decode()
    assert 'data-testid="console-recovery"' not in console  # a viewer has nothing to send


def test_the_console_offers_the_alternatives_after_a_second_drop(dropped, agent):
    console = _as(agent).get(reverse("console:live", args=[dropped.pk])).content.decode()
    assert 'data-testid="console-recovery"' in console and "The connection keeps dropping" in console
    assert f'"connection_url": "/agent/sessions/{dropped.pk}/connection/"' in console
    url = reverse("console:connection", args=[dropped.pk])
    page_signals.report_disconnect(page_signals.Disconnect(dropped.pk, 1006, "network"))
    page_signals.report_disconnect(page_signals.Disconnect(dropped.pk, 1001, "page_left"))
    assert _as(agent).get(url).json()["alternatives"] is False
    page_signals.report_disconnect(page_signals.Disconnect(dropped.pk, 1006, "network"))
    answer = _as(agent).get(url).json()
    assert answer["alternatives"] is True and answer["drops"] == 2 and answer["browser_possible"]


def test_the_ticket_panel_offers_a_fresh_link_once_due(dropped, agent, settings):
    settings.COBROWSE_FRESH_LINK_AFTER_SECONDS = 30
    page = reverse("tickets:agent_ticket", args=[dropped.ticket.number])
    waiting = _as(agent).get(page).content.decode()
    assert 'data-testid="fresh-link-panel"' in waiting and "can be sent in" in waiting
    assert 'data-testid="send-fresh-link"' not in waiting
    _gone_for(dropped, 31)
    due = _as(agent).get(page).content.decode()
    assert 'data-testid="send-fresh-link"' in due
    sent = _as(agent).post(reverse("console:fresh_link", args=[dropped.pk]))  # the panel's form
    assert sent.status_code == 200 and 'data-testid="join-link"' in sent.content.decode()
    session_services.mark_active(dropped.pk)
    assert 'data-testid="fresh-link-panel"' not in _as(agent).get(page).content.decode()
