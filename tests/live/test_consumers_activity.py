"""The session's activity shows what became of an action the customer was asked about: approved
and performed (or not), or denied, never only "requested"."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from tests.live.test_consumers import _msg, _receive_type
from tests.live.test_consumers_control import _action, _pair_with_page
from tickets.models import EventKind, TicketEvent

pytestmark = pytest.mark.django_db(transaction=True)


async def _steps(session) -> list[tuple[str, str]]:
    def read():
        events = TicketEvent.objects.filter(
            ticket_id=session.ticket_id, kind=EventKind.COBROWSE, data__session=session.pk
        ).order_by("id")
        return [
            (e.data["step"], e.data.get("action", "")) for e in events if e.data["step"].startswith("action_")
        ]

    return await database_sync_to_async(read)()


async def _asked(approved: bool):
    session, agent, customer, agent_comm = await _pair_with_page("controlled")
    await agent_comm.send_json_to(_action("type", 21, "Asha Rao"))
    request_id = (await _receive_type(customer, "action_request"))["data"]["request_id"]
    await customer.send_json_to(_msg("decision", {"request_id": request_id, "approved": approved}, 2))
    await _receive_type(agent_comm, "decision")
    return session, customer, agent_comm, request_id


@pytest.mark.parametrize(("ok", "outcome"), [(True, "action_performed"), (False, "action_failed")])
async def test_an_approved_action_is_shown_performed_or_not(ok, outcome):
    session, customer, agent_comm, request_id = await _asked(True)
    await customer.send_json_to(_msg("action_result", {"request_id": request_id, "ok": ok, "detail": "x"}, 3))
    await _receive_type(agent_comm, "action_result")
    await customer.disconnect()
    await agent_comm.disconnect()
    assert await _steps(session) == [
        ("action_requested", "type"),
        ("action_approved", "type"),
        (outcome, "type"),
    ]


async def test_a_denied_action_is_shown_denied_and_never_performed():
    session, customer, agent_comm, request_id = await _asked(False)
    # The page reports the refusal too; a denied request stays denied in the activity.
    await customer.send_json_to(
        _msg("action_result", {"request_id": request_id, "ok": False, "detail": "x"}, 3)
    )
    await _receive_type(agent_comm, "action_result")
    await customer.disconnect()
    await agent_comm.disconnect()
    assert await _steps(session) == [("action_requested", "type"), ("action_denied", "type")]


async def test_a_result_for_an_unknown_or_unanswered_request_adds_nothing():
    session, agent, customer, agent_comm = await _pair_with_page("controlled")
    await agent_comm.send_json_to(_action("type", 21, "Asha Rao"))
    request_id = (await _receive_type(customer, "action_request"))["data"]["request_id"]
    for rid in (request_id, "action:999999", "full:abc"):
        await customer.send_json_to(_msg("action_result", {"request_id": rid, "ok": True, "detail": ""}, 3))
        await _receive_type(agent_comm, "action_result")
    await customer.disconnect()
    await agent_comm.disconnect()
    assert await _steps(session) == [("action_requested", "type")]
