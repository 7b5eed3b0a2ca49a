"""A web node killed outright (SIGKILL: no disconnect handler runs) leaves the relay's bookkeeping
right: what the agents were sent is already the page's last accepted seq in Redis, so the page's
next ``hello`` on another node resends only what nobody has seen."""

from __future__ import annotations

import pytest

from live import relay_state
from tests.live.test_consumers import _customer, _msg, _pair, _receive_type

pytestmark = pytest.mark.django_db(transaction=True)


async def test_what_the_agents_received_is_stored_before_any_disconnect():
    session, grant, agent, customer, agent_comm, _ = await _pair()
    for seq in (1, 2, 3):
        await customer.send_json_to(_msg("signal", {"kind": "idle"}, seq))
        assert (await _receive_type(agent_comm, "signal"))["seq"] == seq
    # The first node is gone without a word: no disconnect, no periodic flush has run yet.
    assert await relay_state.last_seq(session.pk, "p1") == 3
    # Written one command per frame, the number still expires with the rest of the relay's state.
    assert (
        0
        < await relay_state._client().ttl(relay_state._key(session.pk, "seq"))
        <= relay_state.STATE_TTL_SECONDS
    )
    other_node = await _customer(session.pk, grant)
    assert (await _receive_type(other_node, "welcome"))["data"]["last_seq"] == 3
    # The page resends 3 (unacknowledged) and 4: only 4 reaches the agents.
    await other_node.send_json_to(_msg("signal", {"kind": "idle"}, 3))
    await other_node.send_json_to(_msg("signal", {"kind": "stall"}, 4))
    relayed = await _receive_type(agent_comm, "signal")
    assert (relayed["seq"], relayed["data"]["kind"]) == (4, "stall")
    await other_node.disconnect()
    await customer.disconnect()
    await agent_comm.disconnect()
