"""Redis restarted under a live session: the relay comes back by itself and the recording says
where it has a hole.

The live server's channel layer, cache and relay bookkeeping use a private Redis, killed and
started again empty on the same port while a customer and an agent are connected.
"""

from __future__ import annotations

import copy
import time

import pytest

from cobrowse import services as session_services
from live.consumers.base import CLOSE_REDIS_LOST
from recordings.capture import open_recording
from recordings.models import Recording
from tests.consent.helpers import consent
from tests.factories import make_account, make_ticket, make_user
from tests.live.fault_clients import agent_socket, cookie_for, customer_socket, full_snapshot, rrweb_batch
from tests.live_server import LiveAsgiServer
from tests.private_services import private_redis  # noqa: F401
from tests.recordings.rec_helpers import recording_env  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def on_redis(settings, url: str) -> None:
    """Point the channel layer, the cache and the relay's own client at the Redis at ``url``."""
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    layers["default"]["CONFIG"]["hosts"] = [{"address": url, "socket_timeout": None}]
    settings.CHANNEL_LAYERS = layers
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": url}}
    settings.REDIS_URL = url


@pytest.fixture
def server(private_redis, recording_env, settings, transactional_db):  # noqa: F811
    on_redis(settings, private_redis.url)
    live = LiveAsgiServer()
    live.start()
    yield live
    live.stop()


def reconnect_customer(server, session, grant: str, last_acked: int, timeout: float = 15):
    """Like the widget: retry with a short backoff until the hello is welcomed."""
    deadline = time.monotonic() + timeout
    delay = 0.25
    while True:
        socket = customer_socket(server.ws_url, session.pk, grant, last_acked=last_acked)
        try:
            return socket, socket.expect("welcome", timeout=5)
        except AssertionError:
            socket.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 2)


def test_a_session_survives_a_redis_restart_and_the_recording_marks_the_gap(server, private_redis):  # noqa: F811
    account = make_account("Acme Home Loans")
    customer_user = make_user("fcust", role="customer", account=account)
    agent_user = make_user("fagent", role="agent", agent_level="L2", first_name="Priya")
    session, grant = consent(make_ticket(customer_user), agent_user, mode="guided", recording=True)
    cookie = cookie_for(agent_user)

    customer = customer_socket(server.ws_url, session.pk, grant)
    assert customer.expect("welcome")["data"]["recording"] is True
    customer.expect("snapshot_request")
    customer.send("rrweb", full_snapshot("p1"), 1)
    agent = agent_socket(server.ws_url, session.pk, cookie)
    agent.expect("welcome")
    for seq in (2, 3, 4):
        customer.send("rrweb", rrweb_batch("p1", seq), seq)
        assert agent.expect("rrweb")["seq"] == seq
    customer.expect("ack", seq=4)

    killed_at = time.time()
    private_redis.kill()
    customer.send("rrweb", rrweb_batch("p1", 5), 5)  # relayed into a dead Redis: lost
    assert customer.closed.wait(10), "the customer's socket lived on without its Redis"
    assert customer.close_code == CLOSE_REDIS_LOST  # a code the widget reconnects on
    time.sleep(2.5)  # longer than GAP_MARK_SECONDS: a navigation's reconnect is not marked
    private_redis.start()  # same port, empty
    restarted_at = time.time()

    # The page reconnects and, as after any reconnect, is asked for a fresh snapshot.
    customer, welcome = reconnect_customer(server, session, grant, last_acked=4)
    assert welcome["data"]["recording"] is True
    customer.expect("snapshot_request")
    customer.send("rrweb", full_snapshot("p1"), 6)
    # The agent's socket was idle through the outage: its subscriptions came back with Redis.
    if agent.closed.is_set():
        assert agent.close_code == CLOSE_REDIS_LOST
        agent = agent_socket(server.ws_url, session.pk, cookie)
        agent.expect("welcome")
    resync = agent.expect("rrweb", timeout=15)
    assert any(event["type"] == 2 for event in resync["data"]["events"])  # the agent's picture, whole again
    customer.send("rrweb", rrweb_batch("p1", 7), 7)
    assert agent.expect("rrweb")["seq"] == 7
    agent.send("annotate", {"kind": "highlight", "node_id": 2, "page_id": "p1"}, 1)
    customer.expect("annotate")

    session_services.end_session(session.pk, actor=agent_user)
    customer.expect("ended")
    assert customer.closed.wait(10)
    agent.close()

    recording = Recording.objects.get(session_id=session.pk)
    assert recording.complete
    events = list(open_recording(recording.pk, bytes(recording.wrapped_key)).events())
    kept = [event["seq"] for event in events if event["type"] == "rrweb"]
    # Everything relayed before the crash was kept (the suspended recording stored its tail), and
    # the recording went on after it.
    assert kept[:4] == [1, 2, 3, 4] and kept[-2:] == [6, 7]
    gaps = [event for event in events if event["type"] == "gap"]
    assert len(gaps) == 1
    gap = gaps[0]["data"]
    # From the last event kept (the batch relayed into the dead Redis) to the recording's resumption.
    assert (killed_at - 1) * 1000 <= gap["from"] < restarted_at * 1000 <= gap["to"]
    order = [(event["type"], event["seq"]) for event in events]
    assert order.index(("rrweb", 4)) < order.index(("gap", None)) < order.index(("rrweb", 6))
