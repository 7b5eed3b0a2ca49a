"""Co-browse pages: the ticket panels, starting from the ticket page, approvals, customer controls."""

from __future__ import annotations

import pytest
from django.test import Client

from cobrowse.models import CoBrowseSession, ModeRequest, SessionState
from tests.consent.helpers import consent, start
from tests.factories import make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(customer):
    return make_ticket(customer)


def _as(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("agent_l1", False),
        ("agent_l1_certified", True),
        ("agent", True),
        ("agent_l3", True),
        ("manager", True),
    ],
)
def test_start_from_ticket_page_capability_matrix(request, ticket, who, allowed):
    user = request.getfixturevalue(who)
    client = _as(user)
    page = client.get(f"/agent/tickets/{ticket.number}/").content.decode()
    assert ("Start co-browse" in page) is allowed
    response = client.post(f"/agent/tickets/{ticket.number}/cobrowse/start/", {"channel": "copy"})
    if allowed:
        assert response.status_code == 200
        assert "/j/" in response.content.decode()
        assert CoBrowseSession.objects.filter(ticket=ticket, agent=user).exists()
    else:
        assert response.status_code == 403
        assert not CoBrowseSession.objects.exists()


def test_customer_cannot_start(ticket, customer):
    response = _as(customer).post(f"/agent/tickets/{ticket.number}/cobrowse/start/", {"channel": "copy"})
    assert response.status_code in (403, 404)
    assert not CoBrowseSession.objects.exists()


def test_start_with_bad_target_is_400(ticket, agent):
    response = _as(agent).post(
        f"/agent/tickets/{ticket.number}/cobrowse/start/",
        {"channel": "copy", "target_url": "https://evil.example/"},
    )
    assert response.status_code == 400 and "allowed origins" in response.content.decode()


def test_agent_panel_shows_state_and_ended_reason(ticket, agent, customer):
    session, _ = consent(ticket, agent)
    client = _as(agent)
    page = client.get(f"/agent/tickets/{ticket.number}/").content.decode()
    assert 'data-state="consented"' in page and "End session" in page
    _as(customer).post(
        f"/cobrowse/sessions/{session.pk}/stop/", {"next": f"/portal/tickets/{ticket.number}/"}
    )
    page = client.get(f"/agent/tickets/{ticket.number}/").content.decode()
    assert 'data-state="revoked"' in page and "The customer stopped sharing" in page


def test_agent_panel_actions(ticket, agent):
    session, _ = consent(ticket, agent, mode="view_only")
    client = _as(agent)
    response = client.post(f"/agent/cobrowse/sessions/{session.pk}/mode/", {"mode": "guided"})
    assert response.status_code == 303
    assert ModeRequest.objects.get().to_mode == "guided"
    client.post(f"/agent/cobrowse/sessions/{session.pk}/end/")
    session.refresh_from_db()
    assert session.state == SessionState.ENDED
    assert client.post(f"/agent/cobrowse/sessions/{session.pk}/bogus/").status_code == 404


def test_resend_from_panel_shows_new_link(ticket, agent):
    session, old = start(ticket, agent)
    response = _as(agent).post(f"/agent/cobrowse/sessions/{session.pk}/resend/", {"channel": "copy"})
    assert response.status_code == 200
    assert "/j/" in response.content.decode() and old not in response.content.decode()


def test_portal_request_screen_share(ticket, customer, other_customer):
    client = _as(customer)
    page = client.get(f"/portal/tickets/{ticket.number}/").content.decode()
    assert "Request screen share" in page
    response = client.post(f"/portal/tickets/{ticket.number}/screen-share/")
    assert response.status_code == 303
    ticket.refresh_from_db()
    assert ticket.screen_share_requested_at is not None
    assert _as(other_customer).post(f"/portal/tickets/{ticket.number}/screen-share/").status_code == 404


def test_agent_sees_screen_share_request(ticket, customer, agent):
    _as(customer).post(f"/portal/tickets/{ticket.number}/screen-share/")
    page = _as(agent).get(f"/agent/tickets/{ticket.number}/").content.decode()
    assert "asked for a screen share" in page and "Start co-browse" in page


def test_portal_panel_stop_sharing_and_answer_request(ticket, customer, agent, other_customer):
    session, _ = consent(ticket, agent, mode="view_only")
    from cobrowse import services

    services.request_mode(session, actor=agent, mode="guided")
    client = _as(customer)
    page = client.get(f"/portal/tickets/{ticket.number}/").content.decode()
    assert "Stop sharing" in page and "asks for" in page
    request_id = ModeRequest.objects.get().pk
    assert (
        _as(other_customer)
        .post(f"/cobrowse/mode-requests/{request_id}/answer/", {"answer": "accept"})
        .status_code
        == 404
    )
    client.post(f"/cobrowse/mode-requests/{request_id}/answer/", {"answer": "accept"})
    session.refresh_from_db()
    assert session.mode == "guided"
    client.post(f"/cobrowse/sessions/{session.pk}/lower/", {"mode": "view_only"})
    session.refresh_from_db()
    assert session.mode == "view_only"
    assert _as(other_customer).post(f"/cobrowse/sessions/{session.pk}/stop/").status_code == 404
    response = client.post(f"/cobrowse/sessions/{session.pk}/stop/", {"next": "https://evil.example/"})
    assert response.status_code == 303 and response["Location"] == f"/cobrowse/sessions/{session.pk}/"
    session.refresh_from_db()
    assert session.state == SessionState.REVOKED


@pytest.mark.parametrize(
    ("who", "code"), [("agent", 403), ("agent_l3", 403), ("customer", 403), ("manager", 200)]
)
def test_approvals_page_managers_only(request, who, code):
    assert _as(request.getfixturevalue(who)).get("/manager/approvals/").status_code == code


def test_approvals_page_approve(ticket, agent, manager):
    session, _ = consent(ticket, agent, mode="controlled")
    from cobrowse import services

    mode_request = services.request_mode(session, actor=agent, mode="full")
    client = _as(manager)
    page = client.get("/manager/approvals/").content.decode()
    assert f'data-request="{mode_request.pk}"' in page
    assert (
        _as(agent).post(f"/manager/approvals/{mode_request.pk}/", {"decision": "approve"}).status_code == 403
    )
    client.post(f"/manager/approvals/{mode_request.pk}/", {"decision": "approve"})
    mode_request.refresh_from_db()
    assert mode_request.state == "pending_customer" and mode_request.manager == manager
    assert client.post("/manager/approvals/999999/", {"decision": "approve"}).status_code == 404
