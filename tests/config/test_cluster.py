"""Two web nodes behind nginx (``config.cluster``), and one of them killed under a live session.

The nodes are ``python -m config.serve`` subprocesses, each in its own process group, on the test
database and Redis; nginx balances them round robin. The customer shares the demo site from Chromium
through nginx, the agent watches through nginx from a WebSocket client; nginx's ``X-Tandem-Node``
header (rendered for tests only) says which node took each socket, and the agent reconnects until it
is on the other node than the customer. The customer types before, during and after a ``kill -9`` of
their node's whole process group: the page must be back through nginx on the survivor within 5 s,
and the agent's stream must hold every stream seq and every rrweb batch exactly once, in order, and
end with the whole text typed.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from config import cluster
from demo_site.server import make_server, serve_in_thread
from tests.consent.helpers import start
from tests.factories import make_account, make_ticket, make_user
from tests.live_server import KEEP_BADGE_ROOT, answer_consent_card

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240), pytest.mark.usefixtures("built_bundles")]

START_TIMEOUT_S = 60  # Django, Channels and uvicorn's imports on a loaded 2-core machine
RECONNECT_LIMIT_S = 5.0
EVENT_INPUT_SOURCE = 5  # rrweb IncrementalSource.Input
EVENT_INCREMENTAL = 3
EVENT_FULL_SNAPSHOT = 2
STREAM_TYPES = ("rrweb", "page", "signal")


def _database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db.get("USER") or ""
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    return f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def _off_loop(fn, *args, **kwargs):
    """A service call outside sync Playwright's event loop (its on-commit broadcasts use async_to_sync)."""

    def call():
        try:
            return fn(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


def _wait(predicate, timeout: float, what: str, output=lambda: "", page=None) -> float:
    """Polls ``predicate``; the seconds it took, or fails naming ``what``. With ``page``, waits
    through Playwright, so that its events (DevTools' included) are delivered meanwhile."""
    began = time.monotonic()
    while not predicate():
        if time.monotonic() - began > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{output()}")
        if page is not None:
            page.wait_for_timeout(20)
        else:
            time.sleep(0.02)
    return time.monotonic() - began


class Cluster:
    """nginx (free port, node header on) in front of two ``config.serve`` nodes on free ports."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.listen = cluster.free_port()
        self.ports = [cluster.free_port(), cluster.free_port()]
        self.base = f"http://127.0.0.1:{self.listen}"
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
        env.update(
            DATABASE_URL=_database_url(),
            REDIS_URL=settings.REDIS_URL,
            TANDEM_BASE_URL=self.base,
            FORWARDED_ALLOW_IPS="127.0.0.1",
            PYTHONUNBUFFERED="1",
        )
        self.nodes = {
            f"127.0.0.1:{port}": cluster.web_node(port, env, log=directory / f"web-{port}.log")
            for port in self.ports
        }
        self.nginx = cluster.nginx(self.listen, self.ports, directory / "nginx", node_header=True)

    def start(self) -> Cluster:
        for node in self.nodes.values():
            node.start()
        self.nginx.start()
        cluster.wait_for_port("127.0.0.1", self.listen, 20, self.nginx.popen)
        for address, node in self.nodes.items():
            cluster.wait_until_serving(f"http://{address}", START_TIMEOUT_S, node)
        return self

    def output(self) -> str:
        logs = [*sorted(self.directory.glob("web-*.log")), self.directory / "nginx" / "logs" / "error.log"]
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in logs if p.exists())

    def stop(self) -> None:
        self.nginx.stop()
        for node in self.nodes.values():
            node.stop()

    def sockets_log(self) -> list[tuple[str, str]]:
        """(role, the node that served it) per closed co-browse socket, from nginx's socket log."""
        path = self.directory / "nginx" / "logs" / "sockets.log"
        lines = path.read_text().splitlines() if path.exists() else []
        logged = [line.split(" ", 2) for line in lines]
        return [(role, rest.rsplit(" ", 1)[0].split(",")[-1].strip()) for _msec, role, rest in logged]


class AgentStream:
    """The agent's socket through nginx; every message kept with its arrival time, parts joined."""

    def __init__(self, url: str, cookie: str, origin: str) -> None:
        self.socket: ClientConnection = connect(
            url, additional_headers={"Cookie": cookie}, origin=origin, open_timeout=20
        )
        self.node = self.socket.response.headers.get(cluster.NODE_HEADER, "").split(",")[-1].strip()
        self.messages: list[tuple[float, dict[str, Any]]] = []
        self._parts: dict[str, dict[int, str]] = {}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for raw in self.socket:
                self._keep(json.loads(raw))
        except ConnectionClosed:
            pass

    def _keep(self, message: dict[str, Any]) -> None:
        if message.get("type") == "part":
            data = message["data"]
            parts = self._parts.setdefault(data["id"], {})
            parts[data["index"]] = data["body"]
            if len(parts) == data["count"]:
                self._keep(json.loads("".join(parts[i] for i in range(data["count"]))))
                del self._parts[data["id"]]
            return
        self.messages.append((time.monotonic(), message))

    def of_type(self, *types: str, since: float = 0.0) -> list[dict[str, Any]]:
        return [m for at, m in list(self.messages) if m["type"] in types and at >= since]

    def typed_text(self) -> str | None:
        """The text of the last input event relayed (the one field the customer types into)."""
        text = None
        for message in self.of_type("rrweb"):
            for event in message["data"]["events"]:
                data = event.get("data") or {}
                if event.get("type") == EVENT_INCREMENTAL and data.get("source") == EVENT_INPUT_SOURCE:
                    text = data.get("text")
        return text

    def close(self) -> None:
        self.socket.close()
        self._reader.join(timeout=5)


@pytest.fixture
def nodes(transactional_db, tmp_path):
    running = Cluster(tmp_path)
    try:
        running.start()
    except Exception:
        output = running.output()
        running.stop()
        pytest.fail(f"the cluster did not start:\n{output}")
    yield running
    running.stop()


@pytest.fixture
def demo_origin(nodes):
    server = make_server("localhost", 0, nodes.base, quiet=True)
    serve_in_thread(server)
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _agent_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def test_a_killed_node_loses_the_customer_for_seconds_and_the_agent_nothing(nodes, demo_origin, browser):
    account = make_account("Acme Home Loans", site_url=f"{demo_origin}/", allowed_origins=[demo_origin])
    customer = make_user("dana", role="customer", account=account)
    agent_user = make_user("priya", role="agent", agent_level="L2", first_name="Priya")
    ticket = make_ticket(customer)
    session, token = _off_loop(start, ticket, agent_user, target_url=f"{demo_origin}/apply/personal")

    context = browser.new_context(viewport={"width": 1100, "height": 800})
    agent = None
    try:
        # --- the customer shares through nginx; Chromium's DevTools say which node took the socket --
        context.add_init_script(KEEP_BADGE_ROOT)
        shopper = context.new_page()
        customer_sockets: list[tuple[float, str]] = []  # (when the handshake answered, node)
        socket_urls: dict[str, str] = {}
        devtools = context.new_cdp_session(shopper)
        devtools.send("Network.enable")
        devtools.on("Network.webSocketCreated", lambda e: socket_urls.__setitem__(e["requestId"], e["url"]))

        def handshake(event: dict) -> None:
            if re.search(r"/ws/cobrowse/\d+/customer/$", socket_urls.get(event["requestId"], "")):
                headers = {k.lower(): v for k, v in event["response"]["headers"].items()}
                # nginx lists every node it tried ("dead, survivor"): the last one served the socket.
                tried = headers.get(cluster.NODE_HEADER.lower(), "")
                customer_sockets.append((time.monotonic(), tried.split(",")[-1].strip()))

        devtools.on("Network.webSocketHandshakeResponseReceived", handshake)
        shopper.goto(f"{nodes.base}/j/{token}/")
        shopper.click("button[value=guided]")
        shopper.wait_for_url(f"{demo_origin}/apply/personal*")
        answer_consent_card(shopper)
        shopper.wait_for_selector("[data-tandem=badge]", state="attached", timeout=15000)
        _wait(lambda: customer_sockets, 15, "the customer's socket", nodes.output, shopper)
        customer_node = customer_sockets[-1][1]
        assert customer_node in nodes.nodes, customer_sockets

        # --- the agent's socket, through nginx, on the other node (round robin: a few tries) -------
        cookie = _agent_cookie(agent_user)
        url = f"{nodes.base.replace('http', 'ws')}/ws/cobrowse/{session.pk}/agent/"
        for _attempt in range(6):
            agent = AgentStream(url, cookie, nodes.base)
            if agent.node != customer_node:
                break
            agent.close()
            agent = None
        assert agent is not None, "round robin never gave the agent the other node"
        assert agent.node in nodes.nodes and agent.node != customer_node
        _wait(
            lambda: any(m["type"] == "welcome" for m in agent.of_type("welcome")), 10, "the agent's welcome"
        )
        # The agent's join asks the page for a full snapshot: the stream starts whole.
        _wait(
            lambda: any(
                e.get("type") == EVENT_FULL_SNAPSHOT
                for m in agent.of_type("rrweb")
                for e in m["data"]["events"]
            ),
            15,
            "a full snapshot for the agent",
            nodes.output,
        )

        # --- typing before, during and after the kill of the customer's node ---------------------
        shopper.click("#full-name")
        shopper.keyboard.type("Ada Love", delay=25)
        killed_at = time.monotonic()
        nodes.nodes[customer_node].kill()
        shopper.keyboard.type("lace", delay=25)  # while the page has no socket: kept in its outbox
        reconnected_s = _wait(
            lambda: any(at > killed_at for at, _node in customer_sockets),
            RECONNECT_LIMIT_S,
            "a new socket",
            page=shopper,
        )
        new_node = next(node for at, node in customer_sockets if at > killed_at)
        assert new_node == agent.node, customer_sockets  # the survivor, through nginx
        _wait(
            lambda: any(
                m["data"].get("customer") == "connected" for m in agent.of_type("presence", since=killed_at)
            ),
            RECONNECT_LIMIT_S - reconnected_s + 1,
            "the agent to hear the page is back",
        )
        assert time.monotonic() - killed_at < RECONNECT_LIMIT_S + 1
        shopper.keyboard.type(" Byron", delay=25)
        _wait(
            lambda: agent.typed_text() == "Ada Lovelace Byron",
            10,
            "the whole text at the agent",
            agent.typed_text,
        )
        assert shopper.input_value("#full-name") == "Ada Lovelace Byron"
        print(f"\nthe page was back on the survivor {reconnected_s:.2f} s after the kill")

        # --- every stream message once, in order; every rrweb batch once, in order ---------------
        stream = agent.of_type(*STREAM_TYPES)
        page_ids = {m["data"]["page_id"] for m in stream if m["type"] == "rrweb"}
        assert len(page_ids) == 1  # one page load, so one sequence
        seqs = [m["seq"] for m in stream]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs
        batches = [
            e["data"]["payload"]["batch"]
            for m in agent.of_type("rrweb")
            for e in m["data"]["events"]
            if e.get("type") == 5 and (e.get("data") or {}).get("tag") == "tandem/batch"
        ]
        assert batches == list(range(batches[0], batches[0] + len(batches))), batches
        assert len(seqs) > 5 and len(batches) > 3

        # --- nginx's own record: the sockets and the nodes that served them ----------------------
        agent.close()
        agent_address = agent.node
        agent = None
        _wait(lambda: len(nodes.sockets_log()) >= 2, 5, "nginx's socket log")
        logged = nodes.sockets_log()
        assert ("customer", customer_node) in logged
        assert ("agent", agent_address) in logged
        assert not nodes.nodes[customer_node].alive() and nodes.nodes[agent_address].alive()
    finally:
        if agent is not None:
            agent.close()
        context.close()
