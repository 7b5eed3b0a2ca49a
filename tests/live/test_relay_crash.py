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


async def test_a_page_whose_node_died_is_reported_reconnecting_once_its_lease_lapses(monkeypatch):
    from live.consumers import agent as agent_consumer

    monkeypatch.setattr(agent_consumer, "PRESENCE_CHECK_S", 0.2)
    monkeypatch.setattr(agent_consumer, "DISCONNECTED_AFTER_S", 0.5)
    session, grant, agent, customer, agent_comm, _ = await _pair()
    key = relay_state._key(session.pk, "presence")
    assert await relay_state.presence(session.pk) == "connected"
    assert 0 < await relay_state._client().ttl(key) <= relay_state.PRESENCE_LEASE_SECONDS
    # The node is gone without a disconnect: nobody renews the lease and it lapses.
    await relay_state._client().delete(key)
    assert (await _receive_type(agent_comm, "presence"))["data"]["customer"] == "reconnecting"
    assert (await _receive_type(agent_comm, "presence"))["data"]["customer"] == "disconnected"
    # The page back on another node: connected again, and the lease taken afresh.
    other_node = await _customer(session.pk, grant)
    await _receive_type(other_node, "welcome")
    assert (await _receive_type(agent_comm, "presence"))["data"]["customer"] == "connected"
    assert await relay_state.presence(session.pk) == "connected"
    await other_node.disconnect()
    await customer.disconnect()
    await agent_comm.disconnect()


async def test_a_live_page_renews_its_presence_lease_with_every_ping(monkeypatch):
    from live.consumers import customer as customer_consumer

    monkeypatch.setattr(relay_state, "PRESENCE_LEASE_SECONDS", 1)
    monkeypatch.setattr(customer_consumer, "PING_INTERVAL_S", 0.3)
    session, grant, agent, customer, agent_comm, _ = await _pair()
    for _ in range(3):  # 3 x 0.6 s: well past one lease, still connected
        ping = await _receive_type(customer, "ping")
        await customer.send_json_to(_msg("pong", {"nonce": ping["data"]["nonce"]}, 0))
        await _receive_type(customer, "ping")
        assert await relay_state.presence(session.pk) == "connected"
    await customer.disconnect()
    await agent_comm.disconnect()


async def test_the_customers_team_hears_of_a_lapsed_lease_too(monkeypatch):
    from live.consumers import agent as agent_consumer
    from tests.live.test_consumers_team import _close_all, _watching_pair

    monkeypatch.setattr(agent_consumer, "PRESENCE_CHECK_S", 0.2)
    session, agent, customer, agent_comm, team, *_rest, welcome = await _watching_pair()
    assert welcome["data"]["customer"] == "connected"
    await relay_state._client().delete(relay_state._key(session.pk, "presence"))
    assert (await _receive_type(team, "presence"))["data"]["customer"] == "reconnecting"
    await _close_all(team, customer, agent_comm)
