"""The live side of approvals: managers' pages hear the pending count as requests come and go
(``/ws/manager/approvals/``, managers only), and the agent's console hears each step of a mode
request as it is committed — a manager asked, approved or declined, the customer answered."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from cobrowse import services as session_services
from cobrowse.groups import managers_approvals_group
from cobrowse.models import ModeRequest
from config.asgi import application
from consent import answers
from tests.factories import make_user
from tests.live.test_consumers import _cookie_for, _msg, _pair, _receive_type
from tests.live.test_consumers_team import _close_all, _watching_pair

pytestmark = pytest.mark.django_db(transaction=True)

_serial = iter(range(10_000))


async def _approvals_socket(user=None):
    headers = [(b"origin", b"http://127.0.0.1:8000")]
    if user is not None:
        headers.append((b"cookie", await _cookie_for(user)))
    comm = WebsocketCommunicator(application, "/ws/manager/approvals/", headers=headers)
    connected, _ = await comm.connect()
    assert connected
    return comm


async def _manager(prefix: str = "boss"):
    return await database_sync_to_async(make_user)(f"{prefix}{next(_serial)}", role="manager")


async def _count(comm, reason: str) -> int:
    message = await comm.receive_json_from(timeout=5)
    assert message["type"] == "approvals" and message["reason"] == reason, message
    return message["count"]


async def _never(comm, msg_type: str, seconds: float = 0.6) -> None:
    """Nothing of ``msg_type`` arrives for a while (other frames, pings say, are skipped)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if await comm.receive_nothing(timeout=0.05, interval=0.01):
            continue
        message = await comm.receive_json_from(timeout=1)
        assert message["type"] != msg_type, message


async def _steps(comm, n: int) -> list[tuple[str, str]]:
    steps = []
    for _ in range(n):
        message = await _receive_type(comm, "mode_request")
        steps.append((message["data"]["step"], message["data"]["mode"]))
    return steps


async def test_a_manager_hears_the_count_when_an_agent_asks_and_when_it_is_decided():
    session, _grant, agent, customer, agent_comm, _ = await _pair("controlled")
    manager = await _manager()
    badge = await _approvals_socket(manager)
    assert await _count(badge, "connected") == 0
    await agent_comm.send_json_to(_msg("mode_request", {"mode": "full"}, 1))
    assert await _count(badge, "changed") == 1
    request = await database_sync_to_async(ModeRequest.objects.get)(session=session)
    await database_sync_to_async(session_services.decide_full_control)(
        request.pk, manager=manager, approve=True
    )
    assert await _count(badge, "changed") == 0
    await _close_all(customer, agent_comm, badge)


async def test_a_new_manager_page_starts_from_the_current_count_and_an_ended_session_drops_it():
    session, _grant, agent, customer, agent_comm, _ = await _pair("controlled")
    await database_sync_to_async(session_services.request_mode)(session.pk, actor=agent, mode="full")
    badge = await _approvals_socket(await _manager())
    assert await _count(badge, "connected") == 1
    await database_sync_to_async(session_services.end_session)(session.pk, actor=agent)
    assert await _count(badge, "changed") == 0
    await _close_all(customer, agent_comm, badge)


async def test_lower_modes_do_not_disturb_the_managers():
    session, _grant, agent, customer, agent_comm, _ = await _pair("guided")
    badge = await _approvals_socket(await _manager())
    assert await _count(badge, "connected") == 0
    await agent_comm.send_json_to(_msg("mode_request", {"mode": "controlled"}, 1))
    assert (await _steps(agent_comm, 1)) == [("asked_customer", "controlled")]
    await _never(badge, "approvals")
    await _close_all(customer, agent_comm, badge)


async def test_whatever_the_page_sends_is_ignored_and_the_badge_stays_live():
    """Binary, invalid and deeply nested JSON once crashed the socket (it decoded what it ignores)."""
    badge = await _approvals_socket(await _manager())
    assert await _count(badge, "connected") == 0
    await badge.send_to(bytes_data=b"\xff\x00")
    await badge.send_to(text_data="{not json")
    await badge.send_to(text_data="[" * 5000 + "]" * 5000)
    await get_channel_layer().group_send(managers_approvals_group(), {"type": "approvals.count", "count": 3})
    assert await _count(badge, "changed") == 3
    await badge.disconnect()


@pytest.mark.parametrize("role", ["agent", "customer"])
async def test_anyone_but_a_manager_is_refused_before_joining(role):
    user = await database_sync_to_async(make_user)(f"{role}{next(_serial)}", role=role)
    comm = await _approvals_socket(user)
    assert await comm.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}
    # It never joined: a change reaches nobody on it.
    from channels.layers import get_channel_layer

    await get_channel_layer().group_send("managers.approvals", {"type": "approvals.count", "count": 7})
    assert await comm.receive_nothing(timeout=0.3)


async def test_a_stranger_is_refused_as_not_signed_in():
    comm = await _approvals_socket()
    assert await comm.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}


async def test_a_manager_demoted_since_signing_in_is_refused():
    manager = await _manager()
    cookie = await _cookie_for(manager)
    await database_sync_to_async(type(manager).objects.filter(pk=manager.pk).update)(role="agent")
    comm = WebsocketCommunicator(
        application,
        "/ws/manager/approvals/",
        headers=[(b"origin", b"http://127.0.0.1:8000"), (b"cookie", cookie)],
    )
    assert (await comm.connect())[0]
    assert await comm.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}


async def test_a_foreign_origin_is_refused():
    comm = WebsocketCommunicator(
        application,
        "/ws/manager/approvals/",
        headers=[(b"origin", b"http://evil.example"), (b"cookie", await _cookie_for(await _manager()))],
    )
    connected, _ = await comm.connect()
    assert not connected


# --- the agent's console: each step, as committed -------------------------------------------------


async def test_the_agent_hears_a_manager_was_asked_then_approved_then_the_customer_allowed():
    session, _grant, agent, customer, agent_comm, _ = await _pair("controlled")
    await agent_comm.send_json_to(_msg("mode_request", {"mode": "full"}, 1))
    assert await _steps(agent_comm, 1) == [("asked_manager", "full")]
    # The customer is not asked yet.
    await _never(customer, "mode_request")
    request = await database_sync_to_async(ModeRequest.objects.get)(session=session)
    approver = await _manager("approver")
    await database_sync_to_async(session_services.decide_full_control)(
        request.pk, manager=approver, approve=True
    )
    assert await _steps(agent_comm, 1) == [("manager_approved", "full")]
    asked = await _receive_type(customer, "mode_request")
    await customer.send_json_to(
        _msg("decision", {"request_id": asked["data"]["request_id"], "approved": True}, 2)
    )
    message = await _receive_type(agent_comm, "mode_request")
    assert (message["data"]["step"], message["data"]["request_id"]) == (
        "customer_allowed",
        f"mode:{request.pk}",
    )
    await _close_all(customer, agent_comm)


async def test_the_agent_hears_a_manager_declined():
    session, _grant, agent, customer, agent_comm, _ = await _pair("controlled")
    await agent_comm.send_json_to(_msg("mode_request", {"mode": "full"}, 1))
    assert await _steps(agent_comm, 1) == [("asked_manager", "full")]
    request = await database_sync_to_async(ModeRequest.objects.get)(session=session)
    approver = await _manager("approver")
    await database_sync_to_async(session_services.decide_full_control)(
        request.pk, manager=approver, approve=False
    )
    assert await _steps(agent_comm, 1) == [("manager_declined", "full")]
    await _close_all(customer, agent_comm)


async def test_the_agent_hears_the_customer_declined_whichever_way_they_answered():
    session, _grant, agent, customer, agent_comm, _ = await _pair("guided")
    await agent_comm.send_json_to(_msg("mode_request", {"mode": "controlled"}, 1))
    assert await _steps(agent_comm, 1) == [("asked_customer", "controlled")]
    request = await database_sync_to_async(ModeRequest.objects.get)(session=session)
    # Answered from the customer's controls page or the API, not the socket: still reported.
    await database_sync_to_async(answers.respond_to_mode_request)(request.pk, accept=False)
    assert await _steps(agent_comm, 1) == [("customer_declined", "controlled")]
    await _close_all(customer, agent_comm)


async def test_a_refused_request_claims_nothing():
    session, _grant, agent, customer, agent_comm, _ = await _pair("controlled")
    await agent_comm.send_json_to(_msg("mode_request", {"mode": "full"}, 1))
    await _steps(agent_comm, 1)
    await agent_comm.send_json_to(_msg("mode_request", {"mode": "full"}, 2))
    assert (await _receive_type(agent_comm, "error"))["data"]["code"] == "not_allowed"
    await _never(agent_comm, "mode_request")
    await _close_all(customer, agent_comm)


async def test_the_customers_team_does_not_hear_the_support_sides_steps():
    session, agent, customer, agent_comm, team, _viewer, _grant, _ = await _watching_pair()
    await agent_comm.send_json_to(_msg("mode_request", {"mode": "full"}, 1))
    await _steps(agent_comm, 1)
    await _never(team, "mode_request")
    await _close_all(customer, agent_comm, team)
