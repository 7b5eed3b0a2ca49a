"""The viewer socket on the Redis layer: binary frames to a staff socket, flow control by acks,
the customer by grant, input allowed by role and mode, and everyone else refused (44xx)."""

from __future__ import annotations

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from browser import services
from cobrowse.groups import browser_control_group, browser_viewers_group
from config.asgi import application
from consent import services as consent_services
from tests.consent.helpers import confirm_on_device
from tests.factories import make_account, make_ticket, make_user

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = b"http://localhost:8000"
_serial = iter(range(10_000))


@database_sync_to_async
def _setup(mode: str = "controlled"):
    n = next(_serial)
    account = make_account("Acme Home Loans")
    customer = make_user(f"bc-cust{n}", role="customer", account=account)
    agent = make_user(f"bc-agent{n}", role="agent", agent_level="L2")
    ticket = make_ticket(customer)
    started = services.start_browser_session(
        ticket, agent=agent, start_url="http://localhost:8001/", channel="copy"
    )
    invite = consent_services.claim_invite(started.join_url.rstrip("/").split("/")[-1])
    outcome = consent_services.grant_consent(invite, mode=mode)
    decision = confirm_on_device(outcome.session, outcome.grant)  # Allow on the viewer's card
    return decision.session, decision.grant, agent


@database_sync_to_async
def _cookie_for(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


async def _socket(session_id: int, user=None, origin: bytes = ORIGIN) -> WebsocketCommunicator:
    headers = [(b"origin", origin)]
    if user is not None:
        headers.append((b"cookie", await _cookie_for(user)))
    comm = WebsocketCommunicator(application, f"/ws/browser/{session_id}/", headers=headers)
    connected, _ = await comm.connect()
    assert connected
    return comm


async def _json(comm: WebsocketCommunicator, msg_type: str, timeout: float = 15) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            raw = await comm.receive_output()
            if raw["type"] == "websocket.close":
                raise AssertionError(f"closed with {raw.get('code')} while waiting for {msg_type}")
            if raw.get("text") is None:
                continue
            message = json.loads(raw["text"])
            if message["type"] == msg_type:
                return message["data"]


async def _closed(comm: WebsocketCommunicator, timeout: float = 15) -> int:
    async with asyncio.timeout(timeout):
        while True:
            raw = await comm.receive_output()
            if raw["type"] == "websocket.close":
                return raw.get("code")


async def _frame(session_id: int, n: int, data: bytes) -> None:
    await get_channel_layer().group_send(
        browser_viewers_group(session_id),
        {"type": "browser.frame", "data": data, "n": n, "width": 1280, "height": 720, "level": "high"},
    )


async def _binary(comm: WebsocketCommunicator, timeout: float = 3) -> bytes:
    async with asyncio.timeout(timeout):
        while True:
            raw = await comm.receive_output()
            if raw.get("bytes") is not None:
                return raw["bytes"]


async def _control(session_id: int) -> tuple[str, asyncio.Queue]:
    """Listen on the session's control group like the runner does."""
    layer = get_channel_layer()
    channel = await layer.new_channel("test-runner.")
    await layer.group_add(browser_control_group(session_id), channel)
    queue: asyncio.Queue = asyncio.Queue()

    async def pump():
        while True:
            await queue.put(await layer.receive(channel))

    asyncio.get_running_loop().create_task(pump())
    return channel, queue


async def _next(queue: asyncio.Queue, msg_type: str, timeout: float = 3) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            message = await queue.get()
            if message["type"] == msg_type:
                return message


async def test_staff_socket_gets_binary_frames_with_flow_control():
    session, _grant, agent = await _setup()
    _channel, control = await _control(session.pk)
    comm = await _socket(session.pk, agent)
    welcome = await _json(comm, "welcome")
    assert welcome["role"] == "agent" and welcome["can_input"] is True
    join = await _next(control, "browser.viewer")
    assert join["event"] == "join"

    await _frame(session.pk, 1, b"\xff\xd8frame-1")
    assert (await _json(comm, "viewport")) == {"width": 1280, "height": 720}
    assert await _binary(comm) == b"\xff\xd8frame-1"
    # Without acks at most three frames are in flight; newer ones replace the one held back.
    for n in range(2, 8):
        await _frame(session.pk, n, f"frame-{n}".encode())
    assert [await _binary(comm) for _ in range(2)] == [b"frame-2", b"frame-3"]
    assert await comm.receive_nothing(0.5)
    await comm.send_to(text_data=json.dumps({"type": "ack", "data": {"frame": 1}}))
    assert await _binary(comm) == b"frame-7"  # the newest picture, not a queue
    report = await _next(control, "browser.viewer")
    while report["event"] != "report":
        report = await _next(control, "browser.viewer")
    assert report["lag"] == 3 and report["dropped"] == 4
    await comm.disconnect()
    leave = await _next(control, "browser.viewer")
    while leave["event"] != "leave":
        leave = await _next(control, "browser.viewer")


async def test_agent_input_reaches_the_runner_and_draws_the_cursor():
    session, grant, agent = await _setup()
    _channel, control = await _control(session.pk)
    staff = await _socket(session.pk, agent)
    await _json(staff, "welcome")
    customer = await _socket(session.pk)
    await customer.send_to(text_data=json.dumps({"type": "hello", "data": {"grant": grant}}))
    welcome = await _json(customer, "welcome")
    assert welcome["role"] == "customer" and welcome["can_input"] is False

    await staff.send_to(text_data=json.dumps({"type": "input", "data": {"kind": "click", "x": 10, "y": 20}}))
    sent = await _next(control, "browser.input")
    assert (sent["kind"], sent["x"], sent["y"], sent["button"]) == ("click", 10.0, 20.0, "left")
    assert (await _json(customer, "cursor")) == {"x": 10.0, "y": 20.0, "click": True}

    # The customer watches: their input is not relayed.
    await customer.send_to(text_data=json.dumps({"type": "input", "data": {"kind": "key", "key": "a"}}))
    assert (await _json(customer, "error"))["code"] == "not_allowed"
    # Invalid input names the field; file: never leaves the socket.
    await staff.send_to(
        text_data=json.dumps({"type": "input", "data": {"kind": "goto", "url": "file:///etc"}})
    )
    error = await _json(staff, "error")
    assert error["field"] == "data.url"
    await staff.send_to(text_data="not json")
    assert (await _json(staff, "error"))["code"] == "invalid"
    assert not [m for m in list(control._queue) if m.get("kind") in ("goto", "key")]

    # The agent ends the session: every viewer is told and closed.
    await database_sync_to_async(services.stop_browser_session)(session, actor=agent)
    assert (await _json(customer, "ended"))["reason"] == "agent_ended"
    assert await _closed(customer) == 4000
    assert await _closed(staff) == 4000


async def test_view_only_agent_may_watch_but_not_drive():
    session, _grant, agent = await _setup(mode="view_only")
    comm = await _socket(session.pk, agent)
    assert (await _json(comm, "welcome"))["can_input"] is False
    await comm.send_to(text_data=json.dumps({"type": "input", "data": {"kind": "reload"}}))
    assert (await _json(comm, "error"))["code"] == "not_allowed"
    await comm.disconnect()


async def test_others_are_refused():
    session, grant, _agent = await _setup()
    other_session, other_grant, _ = await _setup()
    stranger = await database_sync_to_async(make_user)("bc-stranger", role="agent", agent_level="L3")
    comm = await _socket(session.pk, stranger)
    assert await _closed(comm) == 4403

    for bad in ("nonsense", other_grant):
        comm = await _socket(session.pk)
        await comm.send_to(text_data=json.dumps({"type": "hello", "data": {"grant": bad}}))
        assert await _closed(comm) in (4401, 4403)

    comm = await _socket(session.pk)
    await comm.send_to(text_data=json.dumps({"type": "input", "data": {"kind": "reload"}}))
    assert (await _json(comm, "error"))["code"] == "not_ready"
    await comm.disconnect()

    # Frames never reach a socket that has not been admitted.
    comm = await _socket(session.pk)
    await _frame(session.pk, 1, b"secret frame")
    assert await comm.receive_nothing(0.5)
    await comm.disconnect()

    foreign = WebsocketCommunicator(
        application, f"/ws/browser/{session.pk}/", headers=[(b"origin", b"https://evil.example")]
    )
    connected, _ = await foreign.connect()
    assert not connected


async def test_a_dom_session_has_no_browser_socket():
    from tests.consent.helpers import consent

    @database_sync_to_async
    def dom_session():
        account = make_account("Acme Home Loans")
        customer = make_user("bc-dom-c", role="customer", account=account)
        agent = make_user("bc-dom-a", role="agent", agent_level="L2")
        session, _grant = consent(make_ticket(customer), agent)
        return session, agent

    session, agent = await dom_session()
    comm = await _socket(session.pk, agent)
    assert await _closed(comm) == 4404
