"""A page back on a new socket while its dropped one is still open on the server (a real network
drop: the server learns of it only when its heartbeat fails).

The new socket takes over: it starts from the last frame the old one relayed (nothing is relayed
twice), and the old socket's late close says nothing about the page, which is connected.
"""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async

from analytics.models import Disconnect
from cobrowse.models import CoBrowseSession, SessionState
from tests.live.test_consumers import _agent, _customer, _msg, _receive_type, _setup

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def _drops(session_id: int) -> list[str]:
    return list(Disconnect.objects.filter(session_id=session_id).values_list("cause", flat=True))


@database_sync_to_async
def _state(session_id: int) -> str:
    return CoBrowseSession.objects.get(pk=session_id).state


async def test_a_new_socket_takes_over_and_the_old_ones_close_changes_nothing():
    session, grant, agent = await _setup()
    console = await _agent(session.pk, agent)
    await _receive_type(console, "welcome")
    old = await _customer(session.pk, grant)
    await _receive_type(old, "welcome")
    for seq in (1, 2, 3):  # relayed at once; stored only every second or so
        await old.send_json_to(_msg("signal", {"kind": "idle"}, seq))
        await _receive_type(console, "signal")

    new = await _customer(session.pk, grant)  # same page load, the network back
    welcome = await _receive_type(new, "welcome")
    assert welcome["data"]["last_seq"] == 3  # the old socket handed over what it relayed
    await new.send_json_to(_msg("signal", {"kind": "idle"}, 3))  # resent: a duplicate now
    assert (await _receive_type(new, "ack"))["data"]["seq"] == 3
    await new.send_json_to(_msg("signal", {"kind": "stall"}, 4))
    assert (await _receive_type(console, "signal"))["seq"] == 4  # seq 3 was not relayed again

    await old.disconnect(code=4408)  # its heartbeat failed at last
    for _ in range(100):  # its close is handled (and counted as a drop)
        if await _drops(session.pk):
            break
        await asyncio.sleep(0.05)
    assert await _drops(session.pk) == ["network"]
    await new.send_json_to(_msg("signal", {"kind": "idle"}, 5))
    heard = []
    while not (heard and heard[-1]["type"] == "signal" and heard[-1]["seq"] == 5):
        heard.append(await console.receive_json_from(timeout=5))
    assert "presence" not in {m["type"] for m in heard}  # the agent still sees the page connected
    assert await _state(session.pk) == SessionState.ACTIVE

    await new.disconnect(code=1006)  # now the page itself is gone
    assert (await _receive_type(console, "presence"))["data"]["customer"] == "reconnecting"
    assert await _state(session.pk) == SessionState.RECONNECTING
    await console.disconnect()
