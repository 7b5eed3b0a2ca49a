"""Co-browse API: the capability matrix, revocation by grant, approvals, clear 4xx."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from cobrowse.models import CoBrowseSession, ModeRequest, SessionState
from tests.consent.helpers import consent, start
from tests.factories import make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(customer):
    return make_ticket(customer)


def _client(user=None, csrf=False):
    client = APIClient(enforce_csrf_checks=csrf)
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("customer", 403),
        ("agent_l1", 403),
        ("agent_l1_certified", 201),
        ("agent", 201),
        ("agent_l3", 201),
        ("manager", 201),
    ],
)
def test_start_capability_matrix(request, ticket, who, expected):
    user = request.getfixturevalue(who)
    response = _client(user).post(
        f"/api/tickets/{ticket.number}/cobrowse/", {"channel": "copy"}, format="json"
    )
    if who == "customer":
        # Customers cannot even see other people's tickets; for their own ticket they get 403.
        assert response.status_code in (403, 404)
    else:
        assert response.status_code == expected, response.content
    assert CoBrowseSession.objects.exists() is (expected == 201)
    if expected == 201:
        body = response.json()
        assert body["state"] == "invited" and "/j/" in body["join_url"]


@pytest.mark.parametrize(
    ("channel", "said"),
    [("email", "e-mail"), ("sms", "SMS"), ("chat", "chat"), ("in_app", "an in-app notice")],
)
def test_start_never_returns_the_link_for_channels_that_reach_the_customer(
    ticket, agent, channel, said, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _client(agent).post(
            f"/api/tickets/{ticket.number}/cobrowse/", {"channel": channel}, format="json"
        )
    assert response.status_code == 201, response.content
    assert response.json()["join_url"] == ""
    assert response.json()["link_notice"] == f"Link sent by {said} to the customer."
    assert "/j/" not in response.content.decode()
    # Nor anywhere else staff can read: the ticket's activity and the audit trail.
    from audit.models import AuditEvent
    from tickets.models import TicketEvent

    events = [str(e.data) for e in TicketEvent.objects.filter(ticket=ticket)]
    audits = [str(a.details) for a in AuditEvent.objects.all()]
    assert not any("/j/" in text for text in events + audits)


def test_start_is_for_the_assignee_or_a_manager(ticket, agent, agent_l3, manager):
    from tickets import services as ticket_services

    ticket_services.assign(ticket, actor=manager, assignee=agent_l3)
    refused = _client(agent).post(
        f"/api/tickets/{ticket.number}/cobrowse/", {"channel": "copy"}, format="json"
    )
    assert refused.status_code == 403
    assert (
        refused.json()["detail"]
        == "Only the ticket's assignee or a manager can start co-browse on this ticket."
    )
    assert not CoBrowseSession.objects.exists()
    by_manager = _client(manager).post(
        f"/api/tickets/{ticket.number}/cobrowse/", {"channel": "copy"}, format="json"
    )
    assert by_manager.status_code == 201
    ticket.refresh_from_db()
    assert ticket.assignee == agent_l3  # a manager starts without taking the ticket


def test_starting_on_an_unassigned_ticket_takes_it(ticket, agent):
    from audit.models import AuditEvent
    from tickets.models import EventKind, TicketEvent

    assert ticket.assignee is None
    response = _client(agent).post(
        f"/api/tickets/{ticket.number}/cobrowse/", {"channel": "copy"}, format="json"
    )
    assert response.status_code == 201
    ticket.refresh_from_db()
    assert ticket.assignee == agent
    taken = TicketEvent.objects.get(ticket=ticket, kind=EventKind.ASSIGNMENT)
    assert taken.actor == agent and taken.data == {"from": None, "to": agent.pk}
    audit = AuditEvent.objects.get(action="cobrowse.ticket_taken")
    assert audit.details == {"ticket": ticket.pk, "assignee": agent.pk}


def test_start_requires_login(ticket):
    assert _client().post(f"/api/tickets/{ticket.number}/cobrowse/", {}, format="json").status_code in (
        401,
        403,
    )


def test_start_bad_input_and_conflict(ticket, agent):
    client = _client(agent)
    url = f"/api/tickets/{ticket.number}/cobrowse/"
    assert client.post(url, {"channel": "pigeon"}, format="json").status_code == 400
    assert client.post(url, {"target_url": "https://evil.example/"}, format="json").status_code == 400
    assert client.post("/api/tickets/999999/cobrowse/", {}, format="json").status_code == 404
    assert client.post(url, {}, format="json").status_code == 201
    conflict = client.post(url, {}, format="json")
    assert conflict.status_code == 409 and conflict.json()["code"] == "session_exists"


def test_revoke_by_grant_without_csrf(ticket, agent):
    session, grant = consent(ticket, agent)
    client = APIClient(enforce_csrf_checks=True)
    response = client.post(f"/api/cobrowse/sessions/{session.pk}/revoke/", HTTP_X_TANDEM_GRANT=grant)
    assert response.status_code == 200 and response.json()["state"] == "revoked"
    again = client.post(f"/api/cobrowse/sessions/{session.pk}/revoke/", HTTP_X_TANDEM_GRANT=grant)
    assert again.status_code == 200 and again.json()["already_ended"] is True


def test_revoke_with_grant_of_other_session_is_404(ticket, agent, customer):
    session, _ = consent(ticket, agent)
    _, other_grant = consent(make_ticket(customer), agent)
    response = APIClient().post(
        f"/api/cobrowse/sessions/{session.pk}/revoke/", HTTP_X_TANDEM_GRANT=other_grant
    )
    assert response.status_code == 404


def test_revoke_by_bad_grant(ticket, agent):
    session, _ = consent(ticket, agent)
    response = APIClient().post(f"/api/cobrowse/sessions/{session.pk}/revoke/", HTTP_X_TANDEM_GRANT="bogus")
    assert response.status_code in (401, 403)
    session.refresh_from_db()
    assert session.state == SessionState.CONSENTED


def test_revoke_by_logged_in_customer_needs_csrf(ticket, agent, customer, other_customer):
    session, _ = consent(ticket, agent)
    assert _client(other_customer).post(f"/api/cobrowse/sessions/{session.pk}/revoke/").status_code == 404
    assert (
        _client(customer, csrf=True).post(f"/api/cobrowse/sessions/{session.pk}/revoke/").status_code == 403
    )
    response = _client(customer).post(f"/api/cobrowse/sessions/{session.pk}/revoke/")
    assert response.status_code == 200 and response.json()["end_reason"] == "customer_revoked"


def test_mode_flow_and_full_control_approval_matrix(ticket, agent, agent_l3, manager, customer):
    session, grant = consent(ticket, agent, mode="controlled")
    agent_client = _client(agent)
    response = agent_client.post(
        f"/api/cobrowse/sessions/{session.pk}/mode/", {"mode": "full"}, format="json"
    )
    assert response.status_code == 202 and response.json()["state"] == "pending_manager"
    request_id = response.json()["id"]
    # The customer cannot answer before a manager approved.
    early = APIClient().post(
        f"/api/cobrowse/mode-requests/{request_id}/answer/",
        {"accept": True},
        format="json",
        HTTP_X_TANDEM_GRANT=grant,
    )
    assert early.status_code == 409
    for user in (agent, agent_l3, customer):
        assert _client(user).post(f"/api/cobrowse/mode-requests/{request_id}/approve/").status_code == 403
    assert _client(manager).post("/api/cobrowse/mode-requests/999999/approve/").status_code == 404
    approved = _client(manager).post(f"/api/cobrowse/mode-requests/{request_id}/approve/")
    assert approved.status_code == 200 and approved.json()["state"] == "pending_customer"
    answer = APIClient().post(
        f"/api/cobrowse/mode-requests/{request_id}/answer/",
        {"accept": True},
        format="json",
        HTTP_X_TANDEM_GRANT=grant,
    )
    assert answer.status_code == 200 and answer.json()["state"] == "accepted"
    detail = agent_client.get(f"/api/cobrowse/sessions/{session.pk}/")
    assert detail.json()["mode"] == "full"
    lowered = agent_client.post(
        f"/api/cobrowse/sessions/{session.pk}/mode/", {"mode": "view_only"}, format="json"
    )
    assert lowered.status_code == 200 and lowered.json()["mode"] == "view_only"


def test_manager_decline(ticket, agent, manager):
    session, _ = consent(ticket, agent, mode="guided")
    _client(agent).post(f"/api/cobrowse/sessions/{session.pk}/mode/", {"mode": "full"}, format="json")
    request_id = ModeRequest.objects.get().pk
    response = _client(manager).post(f"/api/cobrowse/mode-requests/{request_id}/decline/")
    assert response.status_code == 200 and response.json()["state"] == "rejected"
    assert _client(manager).post(f"/api/cobrowse/mode-requests/{request_id}/approve/").status_code == 409


def test_session_detail_visibility(ticket, agent, agent_l3, manager, customer, other_customer):
    session, grant = consent(ticket, agent)
    url = f"/api/cobrowse/sessions/{session.pk}/"
    assert _client(agent).get(url).status_code == 200
    assert _client(manager).get(url).status_code == 200
    assert _client(customer).get(url).status_code == 200
    assert _client(agent_l3).get(url).status_code == 404
    assert _client(other_customer).get(url).status_code == 404
    assert APIClient().get(url, HTTP_X_TANDEM_GRANT=grant).status_code == 200


def test_end_resend_extend(ticket, agent, agent_l3):
    session, _ = start(ticket, agent)
    client = _client(agent)
    resent = client.post(f"/api/cobrowse/sessions/{session.pk}/resend/", {"channel": "sms"}, format="json")
    assert resent.status_code == 200
    assert "/j/" not in resent.content.decode() and resent.json()["join_url"] == ""
    assert resent.json()["link_notice"] == "Link sent by SMS to the customer."
    copied = client.post(f"/api/cobrowse/sessions/{session.pk}/resend/", {"channel": "copy"}, format="json")
    assert copied.status_code == 200 and "/j/" in copied.json()["join_url"]
    assert "confirm on their own page" in copied.json()["link_notice"]
    assert client.post(f"/api/cobrowse/sessions/{session.pk}/extend/").status_code == 409
    assert _client(agent_l3).post(f"/api/cobrowse/sessions/{session.pk}/end/").status_code == 404
    ended = client.post(f"/api/cobrowse/sessions/{session.pk}/end/")
    assert ended.status_code == 200 and ended.json()["state"] == "ended"
    assert client.post(f"/api/cobrowse/sessions/{session.pk}/resend/", {}, format="json").status_code == 409


def test_grant_refresh(ticket, agent):
    session, grant = consent(ticket, agent)
    response = APIClient().post("/api/cobrowse/grants/refresh/", HTTP_X_TANDEM_GRANT=grant)
    assert response.status_code == 200 and response.json()["session"] == session.pk
    assert APIClient().post("/api/cobrowse/grants/refresh/").status_code in (401, 403)


def test_schema_builds(agent):
    assert _client(agent).get("/api/schema/").status_code == 200


def test_customer_lowers_the_mode_with_the_grant(ticket, agent):
    session, grant = consent(ticket, agent, mode="controlled")
    client = APIClient(enforce_csrf_checks=True)
    url = f"/api/cobrowse/sessions/{session.pk}/lower/"
    response = client.post(url, {"mode": "guided"}, format="json", HTTP_X_TANDEM_GRANT=grant)
    assert response.status_code == 200 and response.json()["mode"] == "guided"
    session.refresh_from_db()
    assert session.mode == "guided" and session.granted_mode == "guided"
    # Raising is never possible this way, and nonsense is a clear 400.
    raised = client.post(url, {"mode": "full"}, format="json", HTTP_X_TANDEM_GRANT=grant)
    assert raised.status_code == 400
    bad = client.post(url, {"mode": "boss"}, format="json", HTTP_X_TANDEM_GRANT=grant)
    assert bad.status_code == 400 and "mode" in bad.json()
    other = APIClient().post(url, {"mode": "view_only"}, format="json")
    assert other.status_code == 404


def test_the_agent_invites_a_colleague_to_watch(ticket, agent):
    from tests.factories import make_user

    session, _ = consent(ticket, agent)
    colleague = make_user("colleague", role="agent", agent_level="L1")
    url = f"/api/cobrowse/sessions/{session.pk}/viewers/"
    # Before the invitation the colleague cannot see the session at all.
    assert _client(colleague).get(f"/api/cobrowse/sessions/{session.pk}/").status_code == 404
    response = _client(agent).post(url, {"username": "colleague"}, format="json")
    assert response.status_code == 201 and response.json()["viewer"] == "colleague"
    assert _client(colleague).get(f"/api/cobrowse/sessions/{session.pk}/").status_code == 200
    # The colleague watches but does not manage: no inviting others.
    other = make_user("other-agent", role="agent", agent_level="L2")
    assert _client(colleague).post(url, {"username": other.username}, format="json").status_code == 403
    assert _client(agent).post(url, {"username": "nobody"}, format="json").status_code == 400
    customer_name = session.ticket.requester.username
    assert _client(agent).post(url, {"username": customer_name}, format="json").status_code == 400
