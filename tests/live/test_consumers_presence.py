"""The badge's "Watching" is presence: the participants payload lists whose sockets are connected.
Before the agent opens the console nobody is listed (the badge waits for them); their console
connecting and closing is announced to the customer's page at once."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from cobrowse import services as session_services
from cobrowse.models import CoBrowseSession
from tests.live.test_consumers import _agent, _customer, _receive_type, _setup

pytestmark = pytest.mark.django_db(transaction=True)

PRIYA = {"name": "Priya", "role": "agent"}


async def _watching(session_id: int) -> list[dict[str, str]]:
    return await database_sync_to_async(
        lambda: session_services.watching(CoBrowseSession.objects.get(pk=session_id))
    )()


async def test_nobody_is_watching_until_the_agent_connects_and_again_after_they_leave():
    session, grant, agent = await _setup()
    customer = await _customer(session.pk, grant)
    welcome = await _receive_type(customer, "welcome")
    assert welcome["data"]["watching"] == []  # consented, but the agent has not opened the console
    assert await _watching(session.pk) == []

    console = await _agent(session.pk, agent)
    assert (await _receive_type(console, "welcome"))["data"]["watching"] == [PRIYA]
    joined = await _receive_type(customer, "participants")
    assert joined["data"]["watching"] == [PRIYA]

    await console.disconnect()
    left = await _receive_type(customer, "participants")
    assert left["data"]["watching"] == []
    assert await _watching(session.pk) == []
    await customer.disconnect()


async def test_an_agent_connected_before_the_customer_is_listed_in_the_welcome():
    session, grant, agent = await _setup()
    console = await _agent(session.pk, agent)
    await _receive_type(console, "welcome")
    customer = await _customer(session.pk, grant)
    welcome = await _receive_type(customer, "welcome")
    assert welcome["data"]["watching"] == [PRIYA]
    await console.disconnect()
    await customer.disconnect()
