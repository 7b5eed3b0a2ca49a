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


async def test_a_page_closing_while_redis_is_away_still_marks_the_session_reconnecting(monkeypatch):
    """Leaving the groups needs Redis; telling the session its page is gone does not."""
    from channels.layers import get_channel_layer
    from redis.exceptions import ConnectionError as RedisConnectionError

    session, grant, _agent_user = await _setup()
    customer = await _customer(session.pk, grant)
    await _receive_type(customer, "welcome")
    layer = get_channel_layer()

    async def away(*args, **kwargs):
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(layer, "group_discard", away)
    await customer.disconnect()
    state = await database_sync_to_async(lambda: CoBrowseSession.objects.get(pk=session.pk).state)()
    assert state == "reconnecting"


async def test_a_slow_activity_write_does_not_hold_up_the_pages_frames(monkeypatch):
    """Database calls queue on one thread per process: the relay must not wait behind them, or a
    page's pong waits too and the socket is closed as dead (4408)."""
    import time

    from live import services as live
    from live.consumers import customer as customer_consumer
    from tests.live.test_consumers import _agent, _msg

    monkeypatch.setattr(customer_consumer, "TOUCH_EVERY_S", 0)
    record_activity = live.record_activity

    def slow(session_id):
        time.sleep(2)
        return record_activity(session_id)

    monkeypatch.setattr(live, "record_activity", slow)
    session, grant, agent = await _setup()
    customer = await _customer(session.pk, grant)
    await _receive_type(customer, "welcome")
    console = await _agent(session.pk, agent)
    await _receive_type(console, "welcome")
    await customer.send_json_to(_msg("signal", {"kind": "idle"}, 0))  # starts an activity write
    await _receive_type(console, "signal")
    started = time.monotonic()
    await customer.send_json_to(_msg("signal", {"kind": "stall"}, 1))
    relayed = await _receive_type(console, "signal", timeout=1.5)
    assert relayed["data"]["kind"] == "stall" and time.monotonic() - started < 1.5
    await customer.disconnect()
    await console.disconnect()
