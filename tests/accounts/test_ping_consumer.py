"""The echo socket is the support staff's: a signed-in customer is refused before the handshake."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from config.asgi import application
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def _cookie(username: str, role: str) -> bytes:
    client = Client()
    client.force_login(make_user(username, role=role, agent_level="L1" if role == "agent" else ""))
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


async def _connect(cookie: bytes):
    headers = [(b"origin", b"http://127.0.0.1:8000"), (b"cookie", cookie)]
    communicator = WebsocketCommunicator(application, "/ws/ping/", headers=headers)
    connected, code = await communicator.connect()
    await communicator.disconnect()
    return connected, code


async def test_a_signed_in_customer_is_refused_and_an_agent_admitted():
    assert await _connect(await _cookie("ping-customer", "customer")) == (False, 4403)
    connected, _ = await _connect(await _cookie("ping-agent", "agent"))
    assert connected
