"""The channel layer sharded over two Redis servers: a session whose agents' and customer's groups
live on different servers relays both ways."""

from __future__ import annotations

import copy

import pytest
import redis
from channels_redis.utils import _consistent_hash

from cobrowse.groups import agents_group, customer_group
from tests.consent.helpers import consent
from tests.factories import make_account, make_ticket, make_user
from tests.live.fault_clients import agent_socket, cookie_for, customer_socket, full_snapshot, rrweb_batch
from tests.live_server import LiveAsgiServer
from tests.private_services import RedisServer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_redis():
    servers = [RedisServer(), RedisServer()]
    for server in servers:
        server.start()
    yield servers
    for server in servers:
        server.stop()


def shard_of(settings, group: str) -> int:
    """The shard channels-redis's pub/sub layer puts a group on (its ``_get_shard``)."""
    config = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    return _consistent_hash(f"{config['prefix']}__group__{group}", len(config["hosts"]))


def test_a_session_relays_both_ways_across_two_shards(two_redis, settings, transactional_db):
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    layers["default"]["CONFIG"]["hosts"] = [{"address": r.url, "socket_timeout": None} for r in two_redis]
    settings.CHANNEL_LAYERS = layers
    account = make_account("Acme Home Loans")
    customer_user = make_user("scust", role="customer", account=account)
    agent_user = make_user("sagent", role="agent", agent_level="L2", first_name="Priya")
    for _attempt in range(40):  # about every other session splits its groups; pick one that does
        session, grant = consent(make_ticket(customer_user), agent_user, mode="guided")
        agents_shard = shard_of(settings, agents_group(session.pk))
        if agents_shard != shard_of(settings, customer_group(session.pk)):
            break
    else:
        pytest.fail("no session split its groups over the two shards")
    server = LiveAsgiServer()
    server.start()
    try:
        customer = customer_socket(server.ws_url, session.pk, grant)
        customer.expect("welcome")
        agent = agent_socket(server.ws_url, session.pk, cookie_for(agent_user))
        agent.expect("welcome")
        prefix = layers["default"]["CONFIG"]["prefix"]
        for group, shard in (
            (agents_group(session.pk), agents_shard),
            (customer_group(session.pk), 1 - agents_shard),
        ):
            name = f"{prefix}__group__{group}"
            subscribed = [
                dict(redis.Redis.from_url(r.url).pubsub_numsub(name))[name.encode()] for r in two_redis
            ]
            assert subscribed[shard] == 1 and subscribed[1 - shard] == 0  # each group on its own shard

        customer.send("rrweb", full_snapshot("p1"), 1)
        assert agent.expect("rrweb")["seq"] == 1  # customer -> agent, over the agents' shard
        customer.send("rrweb", rrweb_batch("p1", 2), 2)
        assert agent.expect("rrweb")["seq"] == 2
        agent.send("annotate", {"kind": "highlight", "node_id": 2, "page_id": "p1"}, 1)
        assert customer.expect("annotate")["data"]["node_id"] == 2  # agent -> customer, over the other
        customer.close()
        agent.close()
    finally:
        server.stop()
