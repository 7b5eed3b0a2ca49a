"""Hand-overs and Full Control over the agent socket: control goes only to someone with co-browse
rights, a hand-over in Full Control drops every socket to Controlled, and no socket path approves
a manager's own Full Control."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async

from cobrowse import services as session_services
from cobrowse.models import CoBrowseSession, ModeRequest, ModeRequestState, Participant
from consent import answers
from tests.factories import make_user
from tests.live.test_consumers import _agent, _msg, _pair, _receive_type
from tests.live.test_consumers_team import _close_all

pytestmark = pytest.mark.django_db(transaction=True)


async def _colleague_watching(session, agent, level="L2"):
    colleague = await database_sync_to_async(make_user)(
        f"colleague{session.pk}-{level}", role="agent", agent_level=level
    )
    await database_sync_to_async(session_services.invite_viewer)(session.pk, actor=agent, user=colleague)
    comm = await _agent(session.pk, colleague)
    await _receive_type(comm, "welcome")
    return colleague, comm


async def test_control_is_not_handed_over_a_socket_to_someone_without_co_browse_rights():
    session, _grant, agent, customer, agent_comm, _ = await _pair("controlled")
    junior, watching = await _colleague_watching(session, agent, level="L1")
    await agent_comm.send_json_to(_msg("handover", {"to_user_id": junior.pk}, 1))
    error = await _receive_type(agent_comm, "error", code="not_allowed")
    assert "co-browse rights" in error["data"]["message"]
    holder = await database_sync_to_async(session_services.controller_id)(session)
    assert holder == agent.pk
    await _close_all(customer, agent_comm, watching)


async def test_a_hand_over_in_full_control_drops_every_socket_to_controlled():
    session, _grant, agent, customer, agent_comm, _ = await _pair("controlled")
    approver = await database_sync_to_async(make_user)(f"approver{session.pk}", role="manager")

    @database_sync_to_async
    def full_control():
        request = session_services.request_mode(session.pk, actor=agent, mode="full")
        session_services.decide_full_control(request, manager=approver, approve=True)
        answers.respond_to_mode_request(request, accept=True)

    await full_control()
    assert (await _receive_type(customer, "mode"))["data"]["mode"] == "full"
    senior, watching = await _colleague_watching(session, agent, level="L3")
    await agent_comm.send_json_to(_msg("handover", {"to_user_id": senior.pk}, 1))
    assert (await _receive_type(customer, "mode"))["data"]["mode"] == "controlled"
    assert (await _receive_type(watching, "mode"))["data"]["mode"] == "controlled"
    control = await _receive_type(customer, "control")
    assert control["data"]["holder"] == senior.display_name
    await _close_all(customer, agent_comm, watching)


async def test_full_control_asked_over_the_socket_by_the_manager_running_it_waits_for_another():
    """No socket path approves Full Control: a manager who runs the session and asks over the
    socket gets a request that only another manager can approve; the customer is not asked."""
    session, _grant, _agent_user, customer, agent_comm, _ = await _pair("controlled")
    manager = await database_sync_to_async(make_user)(f"runner{session.pk}", role="manager")
    await database_sync_to_async(CoBrowseSession.objects.filter(pk=session.pk).update)(agent=manager)
    await database_sync_to_async(Participant.objects.filter(session=session, role="agent").update)(
        user=manager
    )
    runner = await _agent(session.pk, manager)
    await _receive_type(runner, "welcome")
    await runner.send_json_to(_msg("mode_request", {"mode": "full"}, 1))
    await asyncio.sleep(0.5)
    request = await database_sync_to_async(ModeRequest.objects.get)(session=session)
    assert request.state == ModeRequestState.PENDING_MANAGER
    # The customer's page cannot answer it either (no manager approved).
    await customer.send_json_to(_msg("decision", {"request_id": f"mode:{request.pk}", "approved": True}, 2))
    assert (await _receive_type(customer, "error"))["data"]["code"] == "not_pending"
    with pytest.raises(session_services.OwnFullControlRequest):
        await database_sync_to_async(session_services.decide_full_control)(
            request.pk, manager=manager, approve=True
        )
    await _close_all(customer, agent_comm, runner)
