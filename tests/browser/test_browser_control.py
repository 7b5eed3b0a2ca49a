"""Who holds the browser: the agent by default; the customer asks ("Take control") and the agent
hands it over; only the holder's input is relayed. While the customer holds it, the agent's input
waits for the customer's Allow in ``controlled``, goes straight through in ``full``, and is refused
in ``view_only`` and ``guided``. The API asks the customer the same way."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from channels.db import database_sync_to_async
from django.core.exceptions import PermissionDenied
from rest_framework.test import APIClient

from browser import services
from cobrowse.groups import browser_viewers_group
from cobrowse.models import ActionRequest, ActionRequestState, ControlMode, ParticipantRole
from live.services import LiveRefused
from tests.browser import test_browser_api as api_tests
from tests.browser.test_browser_api import FakeRunner, _start
from tests.browser.test_browser_consumer import _control, _json, _next, _setup, _socket
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db(transaction=True)
people = api_tests.people  # the API tests' cast (agent, customer, …)


async def _say(comm, msg_type: str, data: dict) -> None:
    await comm.send_to(text_data=json.dumps({"type": msg_type, "seq": 0, "ts": 0, "data": data}))


async def _sockets(mode: str = "controlled"):
    session, grant, agent = await _setup(mode)
    _channel, runner = await _control(session.pk)
    agent_ws = await _socket(session.pk, agent)
    await _json(agent_ws, "welcome")
    customer_ws = await _socket(session.pk)
    await _say(customer_ws, "hello", {"grant": grant})
    welcome = await _json(customer_ws, "welcome")
    assert welcome["holder"] == "agent" and welcome["can_input"] is False
    return session, agent, agent_ws, customer_ws, runner


async def _hand_to_customer(agent_ws, customer_ws) -> tuple[dict, dict]:
    await _say(customer_ws, "control", {"action": "ask"})
    asked = await _json(agent_ws, "control")
    assert asked["holder"] == "agent" and asked["asked"] is True
    await _say(agent_ws, "control", {"action": "give"})
    return await _control_to(customer_ws, "customer"), await _control_to(agent_ws, "customer")


async def _control_to(comm, holder: str) -> dict:
    async with asyncio.timeout(5):
        while (data := await _json(comm, "control"))["holder"] != holder:
            pass
    return data


async def _no_input(runner: asyncio.Queue, wait: float = 0.5) -> None:
    await asyncio.sleep(wait)
    while not runner.empty():
        assert runner.get_nowait()["type"] != "browser.input"


async def test_the_customer_takes_control_and_only_the_holder_drives():
    session, _agent, agent_ws, customer_ws, runner = await _sockets("view_only")
    to_customer, to_agent = await _hand_to_customer(agent_ws, customer_ws)
    assert to_customer["can_input"] is True and to_agent["can_input"] is False

    await _say(customer_ws, "input", {"kind": "click", "x": 5, "y": 6})
    relayed = await _next(runner, "browser.input")
    assert relayed["kind"] == "click" and relayed["actor_id"] is None and relayed["role"] == "customer"

    # view_only: the agent cannot act at all while the customer holds the browser.
    await _say(agent_ws, "input", {"kind": "click", "x": 1, "y": 1})
    error = await _json(agent_ws, "error")
    assert error["code"] == "not_allowed" and "customer holds" in error["message"]
    await _no_input(runner)

    # The customer gives it back: their input is refused again.
    await _say(customer_ws, "control", {"action": "give"})
    assert await _control_to(customer_ws, "agent")
    await _say(customer_ws, "input", {"kind": "key", "key": "a"})
    assert (await _json(customer_ws, "error"))["code"] == "not_allowed"
    # Viewers and customers cannot hand out control they do not have.
    await _say(customer_ws, "control", {"action": "take"})
    assert (await _json(customer_ws, "error"))["code"] == "not_allowed"
    steps = await database_sync_to_async(
        lambda: list(
            TicketEvent.objects.filter(ticket=session.ticket, data__step__startswith="browser_control")
            .order_by("pk")
            .values_list("data__step", flat=True)
        )
    )()
    assert steps == ["browser_control_asked", "browser_control", "browser_control"]
    for ws in (agent_ws, customer_ws):
        await ws.disconnect()


async def test_controlled_agent_input_waits_for_the_customers_allow():
    session, _agent, agent_ws, customer_ws, runner = await _sockets("controlled")
    _to_customer, to_agent = await _hand_to_customer(agent_ws, customer_ws)
    assert to_agent["can_input"] is True and to_agent["needs_approval"] is True

    # The probe goes to the runner first; the stand-in answers that the target is fine.
    async def answer_probes():
        from channels.layers import get_channel_layer

        while True:
            message = await runner.get()
            if message["type"] == "browser.request" and message["op"] == "probe":
                await services.send_reply(
                    get_channel_layer(),
                    message["reply_to"],
                    message["request_id"],
                    ok=True,
                    result={"target": "button 'Continue'", "never": ""},
                )
            elif message["type"] == "browser.input":
                relayed.append(message)

    relayed: list[dict] = []
    prober = asyncio.create_task(answer_probes())
    try:
        await _say(agent_ws, "input", {"kind": "click", "x": 10, "y": 20})
        prompt = await _json(customer_ws, "action_request")
        assert prompt["action"] == "click" and prompt["target"] == "button 'Continue'"
        assert prompt["expires_in"] == 30
        assert (await _json(agent_ws, "awaiting"))["request_id"] == prompt["request_id"]
        await asyncio.sleep(0.3)
        assert relayed == []  # nothing before the answer
        await _say(customer_ws, "decision", {"request_id": prompt["request_id"], "approved": True})
        async with asyncio.timeout(5):
            while not relayed:
                await asyncio.sleep(0.05)
        assert relayed[0]["kind"] == "click" and relayed[0]["x"] == 10

        await _say(agent_ws, "input", {"kind": "text", "text": "hello"})
        prompt = await _json(customer_ws, "action_request")
        await _say(customer_ws, "decision", {"request_id": prompt["request_id"], "approved": False})
        assert (await _json(agent_ws, "error"))["code"] == "declined"
        await asyncio.sleep(0.3)
        assert len(relayed) == 1
        # An answer to an answered request is refused.
        await _say(customer_ws, "decision", {"request_id": prompt["request_id"], "approved": True})
        assert (await _json(customer_ws, "error"))["code"] == "not_pending"
        # The agent cannot answer for the customer.
        await _say(agent_ws, "decision", {"request_id": prompt["request_id"], "approved": True})
        assert (await _json(agent_ws, "error"))["code"] == "not_allowed"
    finally:
        prober.cancel()
    states = await database_sync_to_async(
        lambda: list(
            ActionRequest.objects.filter(session=session).order_by("pk").values_list("state", flat=True)
        )
    )()
    assert states == [ActionRequestState.APPROVED, ActionRequestState.DENIED]
    for ws in (agent_ws, customer_ws):
        await ws.disconnect()


async def test_full_control_needs_no_prompt_while_the_customer_holds_it():
    session, _agent, agent_ws, customer_ws, runner = await _sockets("controlled")
    await database_sync_to_async(_set_mode)(session.pk, ControlMode.FULL)
    await _hand_to_customer(agent_ws, customer_ws)
    await _say(agent_ws, "input", {"kind": "click", "x": 3, "y": 4})
    relayed = await _next(runner, "browser.input")
    assert relayed["kind"] == "click" and relayed["role"] == "agent"  # the runner keeps the whole never-list
    for ws in (agent_ws, customer_ws):
        await ws.disconnect()


def _set_mode(session_id: int, mode: str) -> None:
    from cobrowse.models import CoBrowseSession

    CoBrowseSession.objects.filter(pk=session_id).update(mode=mode)


def _give_to_customer(session) -> None:
    services.set_holder(session.pk, ParticipantRole.CUSTOMER, actor=session.agent, by="agent")


@pytest.mark.parametrize("approve", [True, False])
def test_api_action_asks_the_customer_when_they_hold_the_browser(people, approve, settings):
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    settings.COBROWSE_ACTION_TTL_SECONDS = 5
    _ticket, session, _ = _start(people)
    _give_to_customer(session)
    client = APIClient()
    client.force_authenticate(people["agent"])
    result: dict = {}

    def call():
        result["response"] = client.post(
            f"/api/browser-sessions/{session.pk}/actions/",
            {"kind": "click", "selector": "#go"},
            format="json",
        )

    async def watch_prompt() -> str:
        layer = get_channel_layer()
        channel = await layer.new_channel("test-customer.")
        await layer.group_add(browser_viewers_group(session.pk), channel)
        async with asyncio.timeout(10):
            while True:
                message = await layer.receive(channel)
                if message["type"] == "browser.action_request":
                    return message["request_id"]

    with FakeRunner(session.pk) as runner:
        caller = threading.Thread(target=call)
        watcher = threading.Thread(target=lambda: result.update(prompt=async_to_sync(watch_prompt)()))
        watcher.start()
        threading.Event().wait(0.3)
        caller.start()
        watcher.join(15)
        waiter, ok = services.decide_approval(session.pk, result["prompt"], approve)
        assert ok is approve
        async_to_sync(get_channel_layer().send)(
            waiter,
            {"type": "browser.decision", "request": int(result["prompt"].split(":")[1]), "approved": ok},
        )
        caller.join(15)
        ops = [m.get("op") for m in runner.received if m["type"] == "browser.request"]
    response = result["response"]
    if approve:
        assert response.status_code == 200 and ops == ["probe", "action"]
    else:
        assert response.status_code == 409 and response.data["code"] == "declined" and ops == ["probe"]


def test_api_agent_cannot_act_in_view_only_while_the_customer_holds(people):
    _ticket, session, _ = _start(people, consent_mode="guided")
    _give_to_customer(session)
    client = APIClient()
    client.force_authenticate(people["agent"])
    response = client.post(f"/api/browser-sessions/{session.pk}/actions/", {"kind": "reload"})
    assert response.status_code == 409 and "customer holds" in response.data["detail"]


def test_approval_requests_go_through_request_action_on_the_customers_behalf(people):
    _ticket, session, _ = _start(people)
    agent = people["agent"]
    action = {"kind": "click", "x": 1, "y": 2}
    # The agent holds the browser: nothing to ask.
    with pytest.raises(services.NotDriving) as raised:
        services.create_approval(session.pk, agent, action, "button 'Go'", "reply.channel")
    assert raised.value.code == "not_pending"

    _give_to_customer(session)
    pk = services.create_approval(session.pk, agent, action, "button 'Go'", "reply.channel")
    request = ActionRequest.objects.get(pk=pk)
    assert request.state == ActionRequestState.REQUESTED and request.requested_by == agent
    assert request.action == "click" and request.target == "button 'Go'"
    assert services.decide_approval(session.pk, f"action:{pk}", True) == ("reply.channel", True)
    # Digits int() cannot read were a ValueError out of the viewer socket (found by fuzzing).
    for unknown in (f"action:{pk}\u00b2", "action:\u00b9", f"mode:{pk}"):
        with pytest.raises(LiveRefused):
            services.decide_approval(session.pk, unknown, True)

    # Someone else cannot ask; the never-list and the mode still decide.
    with pytest.raises(PermissionDenied):
        services.create_approval(session.pk, people["other_agent"], action, "x", "reply.channel")
    with pytest.raises(services.NotDriving) as raised:
        services.create_approval(
            session.pk, agent, {"kind": "goto", "url": "https://elsewhere.example/"}, "x", "reply.channel"
        )
    assert raised.value.code == "not_allowed" and "another origin" in raised.value.message
    _set_mode(session.pk, ControlMode.FULL)
    with pytest.raises(services.NotDriving) as raised:
        services.create_approval(session.pk, agent, action, "x", "reply.channel")
    assert raised.value.code == "not_pending"
    _set_mode(session.pk, ControlMode.GUIDED)
    with pytest.raises(services.NotDriving) as raised:
        services.create_approval(session.pk, agent, action, "x", "reply.channel")
    assert raised.value.code == "not_allowed" and "control mode" in raised.value.message
    assert ActionRequest.objects.filter(session=session).count() == 1
