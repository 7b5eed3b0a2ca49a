"""The customer socket's own limits: frame size (an oversize frame is refused, a frame larger than
anything legitimate closes the socket) and hello attempts per client address (customer and watch)."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from cobrowse import protocol
from config.asgi import application
from live import socket_limits
from tests.consent.helpers import team_grant
from tests.live.test_consumers import ORIGIN, _msg, _pair, _receive_type, _setup
from tests.live.test_consumers_team import SAME_SITE, _close_all, _closed_with

pytestmark = pytest.mark.django_db(transaction=True)


def _rrweb_of(size: int, seq: int) -> str:
    """An rrweb frame of about ``size`` characters."""
    event = {"type": 3, "timestamp": 1, "data": {"source": 0, "texts": [], "pad": "x" * size}}
    return json.dumps(_msg("rrweb", {"events": [event], "page_id": "p1"}, seq))


def test_the_close_threshold_is_above_every_legitimate_frame():
    # A part frame: a body of PART_BODY_MAX characters, each escaped to at most six bytes.
    assert socket_limits.CUSTOMER_FRAME_MAX >= 6 * protocol.PART_BODY_MAX
    assert socket_limits.CUSTOMER_FRAME_MAX >= protocol.PART_FRAME_MAX
    assert protocol.DEFAULT_LIMITS.customer <= socket_limits.CUSTOMER_FRAME_MAX


async def test_an_oversize_frame_is_refused_and_the_socket_stays_open():
    session, _grant, _agent, customer, agent_comm, _ = await _pair()
    await customer.send_to(text_data=_rrweb_of(protocol.DEFAULT_LIMITS.customer + 1000, 1))
    assert (await _receive_type(customer, "error"))["data"]["code"] == "too_large"
    # Still open: the next frame is relayed.
    await customer.send_to(text_data=_rrweb_of(100, 2))
    assert (await _receive_type(agent_comm, "rrweb"))["seq"] == 2
    await _close_all(customer, agent_comm)


async def test_a_frame_larger_than_anything_legitimate_closes_the_socket():
    session, _grant, _agent, customer, agent_comm, _ = await _pair()
    await customer.send_to(text_data=_rrweb_of(socket_limits.CUSTOMER_FRAME_MAX + 1, 1))
    error = await _receive_type(customer, "error")
    assert error["data"]["code"] == "too_large" and "parts" in error["data"]["message"]
    await _closed_with(customer, socket_limits.CLOSE_TOO_LARGE)
    await agent_comm.disconnect()


async def _hello(path: str, address: str, frame: dict, origin: bytes) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(application, path, headers=[(b"origin", origin)])
    comm.scope["client"] = (address, 40000)
    connected, _ = await comm.connect()
    assert connected
    await comm.send_json_to(frame)
    return comm


def _customer_hello(grant: str) -> dict:
    return _msg(
        "hello",
        {
            "grant": grant,
            "page_id": "p1",
            "last_acked_seq": -1,
            "url": "http://localhost:8001/a",
            "title": "A",
        },
        0,
    )


async def test_hello_attempts_per_address_are_limited_on_the_customer_socket(settings):
    settings.COBROWSE_HELLO_RATE_LIMIT = "3/m"
    session, grant, _agent = await _setup()
    path = f"/ws/cobrowse/{session.pk}/customer/"
    for _ in range(3):  # guesses: each refused on its grant
        comm = await _hello(path, "203.0.113.7", _customer_hello("guess"), ORIGIN)
        assert (await _receive_type(comm, "error"))["data"]["code"] == "refused"
        await _closed_with(comm, 4401)
    # The fourth from that address is turned away before the grant is even looked at.
    comm = await _hello(path, "203.0.113.7", _customer_hello(grant), ORIGIN)
    assert (await _receive_type(comm, "error"))["data"]["code"] == "rate_limited"
    await _closed_with(comm, socket_limits.CLOSE_RATE_LIMITED)
    # Another address is counted on its own.
    comm = await _hello(path, "198.51.100.9", _customer_hello(grant), ORIGIN)
    assert (await _receive_type(comm, "welcome"))["data"]["session_id"] == session.pk
    await comm.disconnect()


async def test_hello_attempts_per_address_are_limited_on_the_watch_socket(settings):
    settings.COBROWSE_HELLO_RATE_LIMIT = "2/m"
    session, _grant, _agent_user, customer, agent_comm, _ = await _pair()
    _viewer, viewer_grant = await database_sync_to_async(team_grant)(session)
    path = f"/ws/cobrowse/{session.pk}/watch/"
    for _ in range(2):
        comm = await _hello(path, "203.0.113.8", _msg("hello", {"grant": "guess"}, 0), SAME_SITE)
        await _closed_with(comm, 4401)
    comm = await _hello(path, "203.0.113.8", _msg("hello", {"grant": viewer_grant}, 0), SAME_SITE)
    assert (await _receive_type(comm, "error"))["data"]["code"] == "rate_limited"
    await _closed_with(comm, socket_limits.CLOSE_RATE_LIMITED)
    comm = await _hello(path, "198.51.100.10", _msg("hello", {"grant": viewer_grant}, 0), SAME_SITE)
    assert (await _receive_type(comm, "welcome"))["data"]["role"] == "team"
    await _close_all(comm, customer, agent_comm)
