"""The live relay on the Redis channel layer: auth and origin rules, schema errors, policy refusals,
sequence gaps, server-side redaction, presence, and an idle socket that stays open."""

from __future__ import annotations

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from cobrowse import services as session_services
from cobrowse.models import CoBrowseSession, SessionState
from config.asgi import application
from tests.consent.helpers import consent
from tests.factories import make_account, make_ticket, make_user

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = b"http://localhost:8001"
SECRETS = {
    "password": "hunter2-Secret!",
    "card": "4111 1111 1111 1111",
    "otp": "493817",
    "pan": "ABCDE1234F",
    "iban": "DE89 3704 0044 0532 0130 00",
    "aadhaar": "2345 6789 0123",
    "ssn": "123-45-6789",
}


_serial = iter(range(10_000))


@database_sync_to_async
def _setup(mode: str = "guided"):
    n = next(_serial)
    account = make_account("Acme Home Loans")
    customer = make_user(f"cust{n}", role="customer", account=account)
    agent = make_user(f"priya{n}", role="agent", agent_level="L2", first_name="Priya")
    ticket = make_ticket(customer)
    session, grant = consent(ticket, agent, mode=mode)
    return session, grant, agent


@database_sync_to_async
def _cookie_for(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


def _msg(msg_type: str, data: dict, seq: int) -> dict:
    return {"type": msg_type, "seq": seq, "ts": 1_700_000_000_000 + seq, "data": data}


async def _customer(session_id: int, grant: str, origin: bytes = ORIGIN, page_id: str = "p1"):
    comm = WebsocketCommunicator(
        application, f"/ws/cobrowse/{session_id}/customer/", headers=[(b"origin", origin)]
    )
    connected, _ = await comm.connect()
    assert connected
    await comm.send_json_to(
        _msg(
            "hello",
            {
                "grant": grant,
                "page_id": page_id,
                "last_acked_seq": -1,
                "url": "http://localhost:8001/apply",
                "title": "Apply",
            },
            0,
        )
    )
    return comm


async def _receive_type(comm, msg_type: str, timeout: float = 5, **data):
    """Read frames until one of ``msg_type`` (with these data values) arrives; others are skipped."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        assert remaining > 0, f"no {msg_type} frame"
        message = await comm.receive_json_from(timeout=remaining)
        if message["type"] == msg_type and all(message["data"].get(k) == v for k, v in data.items()):
            return message


async def _agent(session_id: int, user):
    comm = WebsocketCommunicator(
        application,
        f"/ws/cobrowse/{session_id}/agent/",
        headers=[(b"origin", b"http://127.0.0.1:8000"), (b"cookie", await _cookie_for(user))],
    )
    connected, _ = await comm.connect()
    assert connected
    return comm


async def _pair(mode: str = "guided"):
    session, grant, agent = await _setup(mode)
    customer = await _customer(session.pk, grant)
    welcome = await _receive_type(customer, "welcome")
    agent_comm = await _agent(session.pk, agent)
    assert (await _receive_type(agent_comm, "welcome"))["data"]["mode"] == mode
    return session, grant, agent, customer, agent_comm, welcome


async def test_customer_hello_gets_welcome_and_session_becomes_active():
    session, grant, agent, customer, agent_comm, welcome = await _pair()
    assert welcome["data"]["agent_name"] == "Priya"
    # The agent joined after the customer: its welcome says the customer is connected.
    late = await _agent(session.pk, agent)
    assert (await _receive_type(late, "welcome"))["data"]["customer"] == "connected"
    await late.disconnect()
    assert welcome["data"]["last_seq"] == -1
    state = await database_sync_to_async(lambda: CoBrowseSession.objects.get(pk=session.pk).state)()
    assert state == SessionState.ACTIVE
    await customer.disconnect()
    await agent_comm.disconnect()


async def test_unknown_grant_is_refused_with_close_code():
    session, grant, agent = await _setup()
    comm = await _customer(session.pk, "not-a-grant")
    error = await _receive_type(comm, "error")
    assert error["data"]["code"] == "refused"
    assert (await comm.receive_output(timeout=5))["type"] == "websocket.close"


async def test_foreign_origin_is_refused():
    session, grant, agent = await _setup()
    comm = await _customer(session.pk, grant, origin=b"http://evil.example")
    await _receive_type(comm, "error")
    output = await comm.receive_output(timeout=5)
    assert output == {"type": "websocket.close", "code": 4403}


async def test_grant_of_another_session_is_refused():
    session, grant, agent = await _setup()
    comm = await _customer(session.pk + 1000, grant)
    await _receive_type(comm, "error")
    output = await comm.receive_output(timeout=5)
    assert output["type"] == "websocket.close" and output["code"] in (4403, 4404)


async def test_messages_before_hello_are_refused_but_socket_stays_open():
    session, grant, agent = await _setup()
    comm = WebsocketCommunicator(
        application, f"/ws/cobrowse/{session.pk}/customer/", headers=[(b"origin", ORIGIN)]
    )
    assert (await comm.connect())[0]
    await comm.send_json_to(_msg("rrweb", {"events": [], "page_id": "p1"}, 0))
    assert (await _receive_type(comm, "error"))["data"]["code"] == "not_ready"
    await comm.send_json_to(
        _msg(
            "hello",
            {
                "grant": grant,
                "page_id": "p1",
                "last_acked_seq": -1,
                "url": "http://localhost:8001/",
                "title": "",
            },
            1,
        )
    )
    await _receive_type(comm, "welcome")
    await comm.disconnect()


async def test_malformed_frames_get_errors_and_close_nothing():
    session, grant, agent, customer, agent_comm, _ = await _pair()
    await customer.send_to(text_data="{not json")
    assert (await _receive_type(customer, "error"))["data"]["code"] == "bad_json"
    await customer.send_json_to({"type": "rrweb", "seq": "x", "ts": 1, "data": {}})
    assert (await _receive_type(customer, "error"))["data"]["field"] == "seq"
    await customer.send_json_to(_msg("annotate", {"kind": "highlight"}, 1))
    assert (await _receive_type(customer, "error"))["data"]["code"] == "unknown_type"
    await agent_comm.send_to(text_data="[]")
    assert (await _receive_type(agent_comm, "error"))["data"]["code"] == "bad_envelope"
    # Both sockets still relay.
    await customer.send_json_to(_msg("signal", {"kind": "stall", "field": "pin"}, 2))
    relayed = await _receive_type(agent_comm, "signal")
    assert relayed["data"]["kind"] == "stall"
    await customer.disconnect()
    await agent_comm.disconnect()


@pytest.mark.parametrize(
    "request_id", ["mode:\u00b2", "action:\u00b9\u00b2", "mode:" + "9" * 30, "action:" + "9" * 20]
)
async def test_request_ids_no_request_has_are_unknown_and_close_nothing(request_id):
    """Digits ``int`` cannot read and numbers past any key crashed the customer's socket (fuzzing)."""
    session, grant, agent, customer, agent_comm, _ = await _pair()
    await customer.send_json_to(_msg("decision", {"request_id": request_id, "approved": True}, 1))
    assert (await _receive_type(customer, "error"))["data"]["code"] == "unknown_request"
    await customer.send_json_to(_msg("action_result", {"request_id": request_id, "ok": True}, 2))
    await customer.send_json_to(_msg("signal", {"kind": "stall", "field": "pin"}, 3))
    assert (await _receive_type(agent_comm, "signal"))["data"]["field"] == "pin"
    await customer.disconnect()
    await agent_comm.disconnect()


async def test_a_note_holding_nul_is_refused_and_the_console_stays():
    """PostgreSQL refuses NUL in text: such a note crashed the agent's socket (fuzzing)."""
    session, grant, agent, customer, agent_comm, _ = await _pair()
    await agent_comm.send_json_to(_msg("note", {"text": "call back\u0000"}, 1))
    error = await _receive_type(agent_comm, "error")
    assert (error["data"]["code"], error["data"]["field"]) == ("bad_value", "data.text")
    await agent_comm.send_json_to(_msg("ping", {"nonce": "n1"}, 2))
    assert (await _receive_type(agent_comm, "quality"))["data"]["echo"] == "n1"
    await customer.disconnect()
    await agent_comm.disconnect()


def _full_snapshot_with_secrets() -> dict:
    """A full snapshot whose page carries no markup at all: only the server layer can mask it."""
    text = lambda i, t: {"type": 3, "id": i, "textContent": t}  # noqa: E731
    inputs = [
        {
            "type": 2,
            "id": 10 + n,
            "tagName": "input",
            "attributes": {"type": "text", "value": v},
            "childNodes": [],
        }
        for n, v in enumerate([SECRETS["card"], SECRETS["pan"], SECRETS["iban"], SECRETS["aadhaar"]])
    ]
    password = {
        "type": 2,
        "id": 30,
        "tagName": "input",
        "attributes": {"type": "password", "value": SECRETS["password"]},
        "childNodes": [],
    }
    otp = {
        "type": 2,
        "id": 31,
        "tagName": "input",
        "attributes": {"autocomplete": "one-time-code", "value": SECRETS["otp"]},
        "childNodes": [],
    }
    body = {
        "type": 2,
        "id": 4,
        "tagName": "body",
        "attributes": {},
        "childNodes": [
            {
                "type": 2,
                "id": 5,
                "tagName": "span",
                "attributes": {"title": SECRETS["ssn"]},
                "childNodes": [text(6, "Card on file: " + SECRETS["card"])],
            },
            *inputs,
            password,
            otp,
            {
                "type": 2,
                "id": 7,
                "tagName": "input",
                "attributes": {"type": "text", "name": "full_name", "value": "Asha Rao"},
                "childNodes": [],
            },
        ],
    }
    html = {"type": 2, "id": 2, "tagName": "html", "attributes": {}, "childNodes": [body]}
    return {
        "type": 2,
        "timestamp": 1,
        "data": {"node": {"type": 0, "id": 1, "childNodes": [html]}, "initialOffset": {"top": 0, "left": 0}},
    }


def _input_event(node_id: int, text: str) -> dict:
    return {"type": 3, "timestamp": 2, "data": {"source": 5, "id": node_id, "text": text, "isChecked": False}}


async def test_server_redacts_every_sensitive_pattern_even_without_widget_masking():
    session, grant, agent, customer, agent_comm, _ = await _pair()
    events = [
        {
            "type": 4,
            "timestamp": 0,
            "data": {"href": "http://localhost:8001/apply?pan=ABCDE1234F", "width": 1280, "height": 720},
        },
        _full_snapshot_with_secrets(),
        _input_event(30, SECRETS["password"]),
        _input_event(31, SECRETS["otp"]),
        _input_event(10, SECRETS["card"]),
        _input_event(7, "Asha Rao Kumar"),
    ]
    await customer.send_json_to(_msg("rrweb", {"events": events, "page_id": "p1"}, 1))
    page = {
        "page_id": "p1",
        "url": "http://localhost:8001/apply",
        "title": "Apply",
        "fields": [
            {
                "id": "iban",
                "name": "iban",
                "label": "Account",
                "type": "text",
                "status": "complete",
                "error": "",
                "masked": False,
                "value": SECRETS["iban"],
            },
            {
                "id": "pan",
                "name": "pan",
                "label": "PAN",
                "type": "text",
                "status": "error",
                "error": f"{SECRETS['pan']} is not valid",
                "masked": False,
                "value": SECRETS["pan"],
            },
        ],
        "completion": 40,
        "focused": "pan",
        "stalled_ms": 0,
        "rage_clicks": 0,
        "scroll_depth": 10,
    }
    await customer.send_json_to(_msg("page", page, 2))
    relayed_rrweb = await _receive_type(agent_comm, "rrweb")
    relayed_page = await _receive_type(agent_comm, "page")
    blob = json.dumps([relayed_rrweb, relayed_page])
    compact = blob.replace(" ", "")
    for name, secret in SECRETS.items():
        assert secret not in blob, name
        assert secret.replace(" ", "") not in compact, name
    assert "Asha Rao Kumar" in blob  # ordinary values still reach the agent
    await customer.disconnect()
    await agent_comm.disconnect()


async def test_seq_gap_asks_the_customer_for_a_snapshot_and_duplicates_are_dropped():
    session, grant, agent, customer, agent_comm, _ = await _pair()
    await customer.send_json_to(_msg("signal", {"kind": "idle"}, 1))
    await _receive_type(agent_comm, "signal")
    await customer.send_json_to(_msg("signal", {"kind": "idle"}, 1))  # duplicate
    ack = await _receive_type(customer, "ack")
    assert ack["data"]["seq"] == 1
    await customer.send_json_to(_msg("signal", {"kind": "stall"}, 5))  # gap: 2..4 missing
    await _receive_type(customer, "snapshot_request", reason="gap")
    relayed = await _receive_type(agent_comm, "signal")
    assert relayed["seq"] == 5 and relayed["data"]["kind"] == "stall"
    await customer.disconnect()
    await agent_comm.disconnect()


async def test_agent_resync_reaches_the_customer_as_snapshot_request():
    session, grant, agent, customer, agent_comm, _ = await _pair()
    await agent_comm.send_json_to(_msg("resync", {"from_seq": 3}, 0))
    await _receive_type(customer, "snapshot_request", reason="resync")
    await customer.disconnect()
    await agent_comm.disconnect()


async def test_resyncs_are_limited_so_a_viewer_cannot_flood_the_customer_with_snapshots():
    session, grant, agent, customer, agent_comm, _ = await _pair()
    for seq in range(5):
        await agent_comm.send_json_to(_msg("resync", {"from_seq": 3}, seq))
    await _receive_type(customer, "snapshot_request", reason="resync")
    assert (await _receive_type(agent_comm, "error", code="rate_limited"))["data"]["field"] == "type"
    seen = []  # what else reaches the page within a second: no further snapshot request
    deadline = asyncio.get_running_loop().time() + 1.0
    while asyncio.get_running_loop().time() < deadline:
        if not await customer.receive_nothing(timeout=0.1):
            seen.append((await customer.receive_json_from())["type"])
    assert "snapshot_request" not in seen
    await customer.disconnect()
    await agent_comm.disconnect()


async def test_annotation_is_refused_in_view_only_and_relayed_in_guided():
    session, grant, agent, customer, agent_comm, _ = await _pair(mode="view_only")
    await agent_comm.send_json_to(_msg("annotate", {"kind": "highlight", "node_id": 7, "page_id": "p1"}, 0))
    error = await _receive_type(agent_comm, "error")
    assert error["data"]["code"] == "not_allowed"
    await customer.disconnect()
    await agent_comm.disconnect()

    session, grant, agent, customer, agent_comm, _ = await _pair(mode="guided")
    await agent_comm.send_json_to(_msg("annotate", {"kind": "highlight", "node_id": 7, "page_id": "p1"}, 0))
    annotation = await _receive_type(customer, "annotate")
    assert annotation["data"]["node_id"] == 7
    await customer.disconnect()
    await agent_comm.disconnect()


async def test_forged_submit_action_is_refused_by_the_server():
    session, grant, agent, customer, agent_comm, _ = await _pair(mode="guided")
    await agent_comm.send_json_to(_msg("action", {"kind": "click", "node_id": 7, "page_id": "p1"}, 0))
    assert (await _receive_type(agent_comm, "error"))["data"]["code"] == "not_allowed"
    await customer.disconnect()
    await agent_comm.disconnect()


async def test_other_agent_is_refused_with_4403_and_anonymous_with_4401():
    session, grant, agent = await _setup()
    other = await database_sync_to_async(make_user)("other", role="agent", agent_level="L3")
    comm = WebsocketCommunicator(
        application,
        f"/ws/cobrowse/{session.pk}/agent/",
        headers=[(b"origin", b"http://127.0.0.1:8000"), (b"cookie", await _cookie_for(other))],
    )
    assert (await comm.connect())[0]
    await _receive_type(comm, "error")
    assert (await comm.receive_output(timeout=5)) == {"type": "websocket.close", "code": 4403}

    anonymous = WebsocketCommunicator(
        application, f"/ws/cobrowse/{session.pk}/agent/", headers=[(b"origin", b"http://127.0.0.1:8000")]
    )
    assert (await anonymous.connect())[0]
    await _receive_type(anonymous, "error")
    assert (await anonymous.receive_output(timeout=5)) == {"type": "websocket.close", "code": 4401}


async def test_manager_may_watch_any_session():
    session, grant, agent = await _setup()
    manager = await database_sync_to_async(make_user)("boss", role="manager")
    comm = await _agent(session.pk, manager)
    welcome = await _receive_type(comm, "welcome")
    assert welcome["data"]["role"] == "viewer"
    await comm.disconnect()


async def test_customer_drop_shows_reconnecting_then_disconnected_to_the_agent(monkeypatch):
    from live.consumers import agent as agent_consumer

    monkeypatch.setattr(agent_consumer, "DISCONNECTED_AFTER_S", 0.5)
    session, grant, agent, customer, agent_comm, _ = await _pair()
    await customer.disconnect()
    assert (await _receive_type(agent_comm, "presence"))["data"]["customer"] == "reconnecting"
    assert (await _receive_type(agent_comm, "presence"))["data"]["customer"] == "disconnected"
    state = await database_sync_to_async(lambda: CoBrowseSession.objects.get(pk=session.pk).state)()
    assert state == SessionState.RECONNECTING
    # Back again with the same page: the server remembers what it had.
    customer = await _customer(session.pk, grant)
    assert (await _receive_type(customer, "welcome"))["data"]["last_seq"] == -1
    assert (await _receive_type(agent_comm, "presence"))["data"]["customer"] == "connected"
    await customer.disconnect()
    await agent_comm.disconnect()


async def test_reconnect_reports_the_last_seq_the_server_accepted():
    session, grant, agent, customer, agent_comm, _ = await _pair()
    for seq in (1, 2, 3):
        await customer.send_json_to(_msg("signal", {"kind": "idle"}, seq))
        await _receive_type(agent_comm, "signal")
    await customer.disconnect()
    customer = await _customer(session.pk, grant)
    assert (await _receive_type(customer, "welcome"))["data"]["last_seq"] == 3
    await customer.disconnect()
    await agent_comm.disconnect()


async def test_revocation_ends_both_sockets():
    session, grant, agent, customer, agent_comm, _ = await _pair()
    await customer.send_json_to(_msg("stop", {"reason": "done"}, 1))
    ended = await _receive_type(agent_comm, "ended")
    assert ended["data"]["reason"] == "customer_revoked"
    assert (await _receive_type(customer, "ended"))["data"]["reason"] == "customer_revoked"


async def test_agent_end_reaches_the_customer():
    session, grant, agent, customer, agent_comm, _ = await _pair()
    await database_sync_to_async(session_services.end_session)(session.pk, actor=agent)
    assert (await _receive_type(customer, "ended"))["data"]["reason"] == "agent_ended"
    assert (await _receive_type(agent_comm, "ended"))["data"]["reason"] == "agent_ended"


async def test_idle_sockets_stay_open_for_12_seconds():
    session, grant, agent, customer, agent_comm, _ = await _pair()

    async def answer_pings(deadline: float):
        # The server pings every few seconds; a receive timeout would cancel the consumer itself.
        while asyncio.get_running_loop().time() < deadline:
            message = await customer.receive_json_from(timeout=10)
            if message["type"] == "ping":
                await customer.send_json_to(
                    _msg("pong", {"nonce": message["data"]["nonce"]}, 100 + int(message["seq"]))
                )

    await answer_pings(asyncio.get_running_loop().time() + 12)
    await customer.send_json_to(_msg("signal", {"kind": "idle"}, 1))
    assert (await _receive_type(agent_comm, "signal"))["data"]["kind"] == "idle"
    await customer.disconnect()
    await agent_comm.disconnect()


async def test_a_snapshot_over_a_megabyte_travels_in_parts_and_stays_redacted():
    """The channel layer refuses messages over 1 MB: big snapshots are chunked both ways."""
    from cobrowse import protocol

    session, grant, agent, customer, agent_comm, _ = await _pair()
    snapshot = _full_snapshot_with_secrets()
    body = snapshot["data"]["node"]["childNodes"][0]["childNodes"][0]
    filler = "Lorem ipsum dolor sit amet " * 40
    body["childNodes"] += [
        {
            "type": 2,
            "id": 1000 + i,
            "tagName": "p",
            "attributes": {},
            "childNodes": [{"type": 3, "id": 5000 + i, "textContent": filler}],
        }
        for i in range(1200)
    ]
    envelope = _msg("rrweb", {"events": [snapshot], "page_id": "p1"}, 1)
    text = json.dumps(envelope)
    assert len(text) > 1_000_000
    for part in protocol.split_parts(text, "big1", 1):
        await customer.send_json_to(part)
    assembler, whole = protocol.PartAssembler(), None
    while whole is None:
        part = await _receive_type(agent_comm, "part", timeout=10)
        whole = assembler.add(part["data"])
    relayed = json.loads(whole)
    assert relayed["type"] == "rrweb" and relayed["seq"] == 1
    assert (
        len(relayed["data"]["events"][0]["data"]["node"]["childNodes"][0]["childNodes"][0]["childNodes"])
        > 1200
    )
    for name, secret in SECRETS.items():
        assert secret not in whole, name
    await customer.disconnect()
    await agent_comm.disconnect()


async def test_round_trip_time_becomes_a_quality_level_on_both_sides(monkeypatch):
    from live.consumers import customer as customer_consumer

    monkeypatch.setattr(customer_consumer, "PING_INTERVAL_S", 0.3)
    session, grant, agent, customer, agent_comm, _ = await _pair()
    ping = await _receive_type(customer, "ping")
    await customer.send_json_to(_msg("pong", {"nonce": ping["data"]["nonce"]}, 0))
    mine = await _receive_type(customer, "quality")
    theirs = await _receive_type(agent_comm, "quality")
    assert mine["data"]["level"] == theirs["data"]["level"] == "good"
    assert 0 <= theirs["data"]["rtt_ms"] <= customer_consumer.QUALITY_GOOD_MS
    # Someone joining later is told the last figure straight away.
    late = await _agent(session.pk, agent)
    assert (await _receive_type(late, "welcome"))["data"]["quality"]["level"] == "good"
    await late.disconnect()
    await customer.disconnect()
    await agent_comm.disconnect()


def test_quality_levels():
    from live.consumers import quality_level

    assert quality_level(None) == "poor"
    assert quality_level(120) == "good"
    assert quality_level(200) == "good"
    assert quality_level(201) == "fair"
    assert quality_level(900) == "poor"


async def test_activity_on_a_session_whose_deadline_passed_ends_the_page_socket(monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from live.consumers import customer as customer_consumer

    monkeypatch.setattr(customer_consumer, "TOUCH_EVERY_S", 0)  # record activity on every message
    session, grant, agent, customer, agent_comm, _ = await _pair()
    await customer.send_json_to(_msg("rrweb", {"events": [], "page_id": "p1"}, 1))
    await _receive_type(agent_comm, "rrweb")
    assert (await _state(session.pk)) == SessionState.ACTIVE  # activity recorded, still sharing

    past = timezone.now() - timedelta(seconds=1)
    await database_sync_to_async(CoBrowseSession.objects.filter(pk=session.pk).update)(deadline_at=past)
    await customer.send_json_to(_msg("rrweb", {"events": [], "page_id": "p1"}, 2))
    # The page hears the end once: the broadcast's reason, or the state its own write found.
    ended = await _receive_type(customer, "ended")
    assert ended["data"]["reason"] in ("max_duration", SessionState.TIMED_OUT)
    assert (await _state(session.pk)) == SessionState.TIMED_OUT
    assert await customer.receive_nothing(timeout=0.3) or (await customer.receive_output())["type"] == (
        "websocket.close"
    )
    await customer.disconnect()
    await agent_comm.disconnect()


@database_sync_to_async
def _state(session_id: int) -> str:
    return CoBrowseSession.objects.get(pk=session_id).state
