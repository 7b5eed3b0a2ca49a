"""Past a bound on the nodes the redactor holds for a page, the relay asks for a full snapshot (which
rebuilds the state from the DOM as it is), and not again for a while."""

from __future__ import annotations

import pytest

from live.consumers import customer as customer_consumer
from tests.cobrowse.test_masking_memory import _snapshot
from tests.live.test_consumers import _msg, _pair, _receive_type

pytestmark = pytest.mark.django_db(transaction=True)


async def _rebuild_requests(comm) -> list[str]:
    reasons = []
    while not await comm.receive_nothing(timeout=0.5):
        message = await comm.receive_json_from()
        if message["type"] == "snapshot_request" and message["data"]["reason"] == "rebuild":
            reasons.append(message["data"]["reason"])  # others: the agent joining asks for one too
    return reasons


async def test_a_page_past_the_bound_is_asked_for_one_full_snapshot(monkeypatch):
    monkeypatch.setattr(customer_consumer, "MAX_TRACKED_NODES", 3)
    _session, _grant, _agent, customer, agent_comm, _ = await _pair()
    await _receive_type(customer, "snapshot_request", reason="connected")
    await customer.send_json_to(_msg("rrweb", {"events": [_snapshot()], "page_id": "p1"}, 0))
    await _receive_type(agent_comm, "rrweb")
    assert await _rebuild_requests(customer) == ["rebuild"]
    await customer.send_json_to(_msg("rrweb", {"events": [_snapshot()], "page_id": "p1"}, 1))
    await _receive_type(agent_comm, "rrweb")
    assert await _rebuild_requests(customer) == []  # at most once per REBUILD_EVERY_S
    await customer.disconnect()
    await agent_comm.disconnect()


async def test_a_page_within_the_bound_is_left_alone():
    _session, _grant, _agent, customer, agent_comm, _ = await _pair()
    await _receive_type(customer, "snapshot_request", reason="connected")
    await customer.send_json_to(_msg("rrweb", {"events": [_snapshot()], "page_id": "p1"}, 0))
    await _receive_type(agent_comm, "rrweb")
    assert await _rebuild_requests(customer) == []
    await customer.disconnect()
    await agent_comm.disconnect()
