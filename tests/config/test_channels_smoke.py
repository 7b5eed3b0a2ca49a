"""The ASGI routing and the Redis channel layer work end to end from day one."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

from config.asgi import application
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


async def _connect(user=None, origin=b"http://127.0.0.1:8000"):
    headers = [(b"origin", origin), (b"host", b"127.0.0.1:8000")]
    communicator = WebsocketCommunicator(application, "/ws/ping/", headers=headers)
    if user is not None:
        communicator.scope["user"] = user
    return communicator


def test_layer_is_redis():
    assert "channels_redis" in settings.CHANNEL_LAYERS["default"]["BACKEND"]


async def test_ping_round_trip_through_redis_layer():
    user = await database_sync_to_async(make_user)("agent-smoke", role="agent", agent_level="L2")
    communicator = await _connect()
    # Authenticate through the real session middleware: log in and pass the cookie.
    from django.test import Client

    client = Client()
    await database_sync_to_async(client.force_login)(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    communicator = WebsocketCommunicator(
        application,
        "/ws/ping/",
        headers=[
            (b"origin", b"http://127.0.0.1:8000"),
            (b"host", b"127.0.0.1:8000"),
            (b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()),
        ],
    )
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"type": "ping", "seq": 7})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong", "seq": 7}
    await communicator.send_json_to({"type": "nonsense"})
    reply = await communicator.receive_json_from(timeout=5)
    assert reply["type"] == "error"
    await communicator.disconnect()


async def test_anonymous_socket_is_refused():
    communicator = await _connect()
    connected, code = await communicator.connect()
    assert not connected
    assert code == 4401


async def test_foreign_origin_is_refused():
    communicator = await _connect(origin=b"http://evil.example")
    connected, _ = await communicator.connect()
    assert not connected


async def test_idle_socket_stays_open_for_12_seconds():
    """redis-py 8 closes idle sockets after 5 s unless socket_timeout is None (docs/relay.md, "Channel-layer groups")."""
    user = await database_sync_to_async(make_user)("agent-idle", role="agent", agent_level="L2")
    from django.test import Client

    client = Client()
    await database_sync_to_async(client.force_login)(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    communicator = WebsocketCommunicator(
        application,
        "/ws/ping/",
        headers=[
            (b"origin", b"http://127.0.0.1:8000"),
            (b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()),
        ],
    )
    connected, _ = await communicator.connect()
    assert connected
    await asyncio.sleep(12)
    await communicator.send_json_to({"type": "ping", "seq": 1})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong", "seq": 1}
    await communicator.disconnect()
