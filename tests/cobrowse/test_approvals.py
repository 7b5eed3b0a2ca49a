"""Approvals that mean something: a manager never approves Full Control that is their own (service,
API and approvals page), hand-overs only to people with co-browse rights, and Full Control that
never passes to a new holder without a new approval."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from rest_framework.test import APIClient

from audit.models import AuditEvent
from cobrowse import services
from cobrowse.models import ControlMode, ModeRequestState, Participant
from consent import answers
from tests.consent.helpers import consent
from tests.factories import make_ticket, make_user
from tickets.models import EventKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(customer):
    return make_ticket(customer)


@pytest.fixture
def other_manager(db):
    return make_user("manager2", role="manager")


def _viewer(session, agent, user) -> Participant:
    """A colleague the agent invited, now watching."""
    if user.role != "manager":
        services.invite_viewer(session, actor=agent, user=user)
    return services.join(session, user=user)


def _steps(ticket):
    return [e.data.get("step") for e in ticket.events.filter(kind=EventKind.COBROWSE).order_by("id")]


def _refused_own(request, manager, expected: str) -> None:
    with pytest.raises(services.OwnFullControlRequest) as exc:
        services.decide_full_control(request, manager=manager, approve=True)
    assert expected in str(exc.value) and "another manager must approve" in str(exc.value)
    request.refresh_from_db()
    assert request.state == ModeRequestState.PENDING_MANAGER and request.manager_id is None
    refusal = AuditEvent.objects.get(action="cobrowse.full_control_own_approval_refused")
    assert refusal.actor_id == manager.pk and refusal.details["request"] == request.pk


# --- the service: its own request, a session it runs, control it holds -----------------------------


def test_a_manager_cannot_approve_full_control_they_asked_for(ticket, agent, manager, other_manager):
    session, _ = consent(ticket, agent, mode="controlled")
    request = services.request_mode(session, actor=manager, mode="full")
    _refused_own(request, manager, "You asked for this Full Control yourself")
    approved = services.decide_full_control(request, manager=other_manager, approve=True)
    assert approved.state == ModeRequestState.PENDING_CUSTOMER and approved.manager == other_manager


def test_a_manager_cannot_approve_full_control_in_a_session_they_run(ticket, manager, agent, other_manager):
    session, _ = consent(ticket, manager, mode="controlled")
    _viewer(session, manager, agent)
    services.hand_over(session.pk, actor=manager, to_user_id=agent.pk)
    # The colleague now holding control asks, for themselves; the manager running the session may not say yes.
    request = services.request_mode(session, actor=agent, mode="full")
    assert request.requested_by == agent
    _refused_own(request, manager, "You run this session")
    assert services.decide_full_control(request, manager=other_manager, approve=True).manager == other_manager


def test_a_manager_cannot_approve_full_control_that_would_go_to_them(ticket, agent, manager, other_manager):
    session, _ = consent(ticket, agent, mode="controlled")
    _viewer(session, agent, manager)
    services.hand_over(session.pk, actor=agent, to_user_id=manager.pk)
    request = services.request_mode(session, actor=agent, mode="full")
    _refused_own(request, manager, "You hold control in this session")
    assert services.decide_full_control(request, manager=other_manager, approve=True).manager == other_manager


def test_declining_ones_own_request_only_withdraws_it(ticket, agent, manager):
    session, _ = consent(ticket, agent, mode="controlled")
    request = services.request_mode(session, actor=manager, mode="full")
    declined = services.decide_full_control(request, manager=manager, approve=False)
    assert declined.state == ModeRequestState.REJECTED


# --- the API and the approvals page --------------------------------------------------------------


def test_the_api_refuses_a_managers_own_approval_with_a_clear_403(ticket, agent, manager, other_manager):
    session, _ = consent(ticket, agent, mode="controlled")
    request = services.request_mode(session, actor=manager, mode="full")
    client = APIClient()
    client.force_login(manager)
    response = client.post(f"/api/cobrowse/mode-requests/{request.pk}/approve/")
    assert response.status_code == 403
    assert response.json()["code"] == "own_request"
    assert "another manager must approve" in response.json()["detail"]
    request.refresh_from_db()
    assert request.state == ModeRequestState.PENDING_MANAGER
    other = APIClient()
    other.force_login(other_manager)
    approved = other.post(f"/api/cobrowse/mode-requests/{request.pk}/approve/")
    assert approved.status_code == 200 and approved.json()["state"] == "pending_customer"


def test_the_approvals_page_says_why_and_refuses_a_managers_own(ticket, agent, manager, other_manager):
    session, _ = consent(ticket, agent, mode="controlled")
    request = services.request_mode(session, actor=manager, mode="full")
    client = Client()
    client.force_login(manager)
    page = client.get("/manager/approvals/").content.decode()
    row = page.split(f'data-request="{request.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "another manager must approve" in row
    assert 'value="approve"' not in row and 'value="decline"' in row
    # A forged POST is refused all the same, and says why.
    response = client.post(f"/manager/approvals/{request.pk}/", {"decision": "approve"}, follow=True)
    assert response.status_code == 200
    assert "You asked for this Full Control yourself" in response.content.decode()
    request.refresh_from_db()
    assert request.state == ModeRequestState.PENDING_MANAGER
    # Another manager sees the usual buttons.
    other = Client()
    other.force_login(other_manager)
    other_row = other.get("/manager/approvals/").content.decode().split(f'data-request="{request.pk}"', 1)[1]
    assert 'value="approve"' in other_row.split("</tr>", 1)[0]


# --- hand-over -------------------------------------------------------------------------------------


def test_control_is_handed_only_to_someone_who_may_co_browse(ticket, agent, agent_l1, agent_l1_certified):
    session, _ = consent(ticket, agent, mode="controlled")
    _viewer(session, agent, agent_l1)
    _viewer(session, agent, agent_l1_certified)
    with pytest.raises(PermissionDenied, match="co-browse rights"):
        services.hand_over(session.pk, actor=agent, to_user_id=agent_l1.pk)
    assert services.controller_id(session) == agent.pk
    handed = services.hand_over(session.pk, actor=agent, to_user_id=agent_l1_certified.pk)
    assert handed.holder_id == agent_l1_certified.pk and handed.mode == ControlMode.CONTROLLED
    assert services.controller_id(session) == agent_l1_certified.pk
    assert AuditEvent.objects.filter(action="cobrowse.control_handed_over").count() == 1


def test_a_hand_over_in_full_control_drops_to_controlled_until_approved_for_the_new_holder(
    ticket, agent, agent_l3, manager, customer
):
    session, _ = consent(ticket, agent, mode="controlled")
    request = services.request_mode(session, actor=agent, mode="full")
    services.decide_full_control(request, manager=manager, approve=True)
    answers.respond_to_mode_request(request, accept=True)
    session.refresh_from_db()
    assert session.mode == ControlMode.FULL
    _viewer(session, agent, agent_l3)

    handed = services.hand_over(session.pk, actor=agent, to_user_id=agent_l3.pk)
    session.refresh_from_db()
    assert handed.mode == session.mode == ControlMode.CONTROLLED
    assert "mode_changed" in _steps(ticket)
    change = AuditEvent.objects.filter(action="cobrowse.mode_changed").last()
    assert (change.details["from"], change.details["to"], change.details["by"]) == (
        "full",
        "controlled",
        "handover",
    )
    assert change.details["holder"] == agent_l3.pk

    # Full Control for the new holder: their own request, a manager's approval, the customer's yes.
    again = services.request_mode(session, actor=agent_l3, mode="full")
    assert again.state == ModeRequestState.PENDING_MANAGER
    services.decide_full_control(again, manager=manager, approve=True)
    answers.respond_to_mode_request(again, accept=True)
    session.refresh_from_db()
    assert session.mode == ControlMode.FULL


def test_a_hand_over_cancels_full_control_asked_for_the_previous_holder(ticket, agent, agent_l3, manager):
    session, _ = consent(ticket, agent, mode="controlled")
    request = services.request_mode(session, actor=agent, mode="full")
    services.decide_full_control(request, manager=manager, approve=True)  # now waiting for the customer
    _viewer(session, agent, agent_l3)
    services.hand_over(session.pk, actor=agent, to_user_id=agent_l3.pk)
    request.refresh_from_db()
    assert request.state == ModeRequestState.CANCELLED
    assert "full_control_cancelled" in _steps(ticket)


def test_the_holder_leaving_full_control_drops_it_for_the_agent(ticket, agent, agent_l3, manager):
    session, _ = consent(ticket, agent, mode="controlled")
    participant = _viewer(session, agent, agent_l3)
    services.hand_over(session.pk, actor=agent, to_user_id=agent_l3.pk)
    request = services.request_mode(session, actor=agent_l3, mode="full")
    services.decide_full_control(request, manager=manager, approve=True)
    answers.respond_to_mode_request(request, accept=True)
    session.refresh_from_db()
    assert session.mode == ControlMode.FULL
    services.leave(participant.pk)
    session.refresh_from_db()
    # Control falls back to the session's agent, for whom nobody approved Full Control.
    assert services.controller_id(session) == agent.pk and session.mode == ControlMode.CONTROLLED


def test_actions_are_judged_against_the_holders_own_rights(ticket, agent, agent_l1_certified):
    session, _ = consent(ticket, agent, mode="controlled")
    _viewer(session, agent, agent_l1_certified)
    services.hand_over(session.pk, actor=agent, to_user_id=agent_l1_certified.pk)
    click = {"kind": "click", "target": "30"}
    assert services.request_action(session, actor=agent_l1_certified, action=click) is not None
    # Their certification is withdrawn mid-session: the session agent's L2 does not lend them rights.
    agent_l1_certified.cobrowse_certified_at = None
    agent_l1_certified.save(update_fields=["cobrowse_certified_at"])
    with pytest.raises(services.CoBrowseError, match="co-browse rights"):
        services.request_action(session, actor=agent_l1_certified, action=click)
