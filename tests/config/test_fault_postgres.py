"""PostgreSQL restarted under a running server: requests fail cleanly (503), the live relay goes on,
and everything recovers by itself once the database is back.

The live server is the project's forked uvicorn with its database pointed at a private PostgreSQL,
a copy of the test database (``pg_dump`` piped in) made after the test's rows were written.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from django.db import connection, connections

from tests.consent.helpers import consent
from tests.factories import make_account, make_ticket, make_user
from tests.live.fault_clients import agent_socket, cookie_for, customer_socket, full_snapshot, rrweb_batch
from tests.live_server import LiveAsgiServer, UvicornProcess, _application, _server_setup
from tests.private_services import PostgresServer, private_postgres  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

POOL_TIMEOUT_S = 1.5  # how long a request waits for a connection while the database is down


class ServerOnPostgres(LiveAsgiServer):
    """The forked live server, its database the private PostgreSQL's copy ``name``."""

    def __init__(self, postgres: PostgresServer, name: str) -> None:
        self.postgres, self.name = postgres, name

    def setup(self) -> None:
        _server_setup()
        db = connections.settings["default"]  # the dict every thread's connection is made from
        db.update(HOST="127.0.0.1", PORT=str(self.postgres.port), NAME=self.name)
        db["OPTIONS"] = {**db["OPTIONS"], "pool": {**db["OPTIONS"]["pool"], "timeout": POOL_TIMEOUT_S}}
        from live.consumers import customer

        customer.TOUCH_EVERY_S = 1  # the relay's periodic database write, due during the outage

    def start(self) -> None:
        import socket

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.process = UvicornProcess(self.sock, _application, self.setup)
        self.process.start()
        assert self.process.ready.wait(timeout=30), "live server did not start"
        self.url, self.ws_url = f"http://localhost:{self.port}", f"ws://localhost:{self.port}"


def get(server, path: str, cookie: str) -> tuple[int, str, str]:
    request = urllib.request.Request(f"{server.url}{path}", headers={"Cookie": cookie})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()


@pytest.fixture
def world(private_postgres):  # noqa: F811
    if connection.vendor != "postgresql":
        pytest.skip("the server under test runs on PostgreSQL")
    account = make_account("Acme Home Loans")
    customer_user = make_user("pgcust", role="customer", account=account)
    agent_user = make_user("pgagent", role="agent", agent_level="L2", first_name="Priya")
    session, grant = consent(make_ticket(customer_user), agent_user, mode="guided")
    cookie = cookie_for(agent_user)
    private_postgres.load(connection.settings_dict, "tandem")  # after the rows above were committed
    server = ServerOnPostgres(private_postgres, "tandem")
    server.start()
    yield server, session, grant, cookie
    server.stop()


def test_requests_fail_cleanly_while_postgres_is_down_and_the_relay_goes_on(world, private_postgres):  # noqa: F811
    server, session, grant, cookie = world
    assert get(server, "/agent/", cookie)[0] == 200
    assert get(server, "/api/tickets/", cookie)[0] == 200
    customer = customer_socket(server.ws_url, session.pk, grant)
    customer.expect("welcome")
    customer.send("rrweb", full_snapshot("p1"), 1)
    agent = agent_socket(server.ws_url, session.pk, cookie)
    agent.expect("welcome")

    private_postgres.stop()  # immediate: every connection is cut, as in a crash

    status, content_type, body = get(server, "/agent/", cookie)
    assert status == 503 and content_type.startswith("text/html")
    assert "Temporarily unavailable" in body and "Traceback" not in body
    status, content_type, body = get(server, "/api/tickets/", cookie)
    assert status == 503 and content_type == "application/json"
    assert json.loads(body) == {
        "detail": "The service is temporarily unavailable: try again in a moment.",
        "code": "unavailable",
    }
    # The relay needs no database per frame; its activity write (every second here) fails quietly.
    for seq in range(2, 6):
        customer.send("rrweb", rrweb_batch("p1", seq), seq)
        assert agent.expect("rrweb")["seq"] == seq
        time.sleep(0.6)
    # Guiding needs the agent's rights read fresh: refused while they cannot be, the socket kept.
    agent.send("annotate", {"kind": "highlight", "node_id": 2, "page_id": "p1"}, 1)
    assert agent.expect("error")["data"]["code"] == "unavailable"
    assert not customer.closed.is_set() and not agent.closed.is_set()

    private_postgres.start()

    # Back by themselves: the pool drops its broken connections and opens new ones.
    deadline = time.monotonic() + 15
    while (status := get(server, "/agent/", cookie)[0]) != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert status == 200
    assert get(server, "/api/tickets/", cookie)[0] == 200
    customer.send("rrweb", rrweb_batch("p1", 6), 6)
    assert agent.expect("rrweb")["seq"] == 6
    agent.send("annotate", {"kind": "highlight", "node_id": 2, "page_id": "p1"}, 2)
    customer.expect("annotate")
    customer.close()
    agent.close()
