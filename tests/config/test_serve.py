"""The web tier's command (``python -m config.serve``) on each supported server.

Each server is booted for real as a subprocess on a free port, against the test database and the test
Redis: it must serve a page and a WebSocket round trip through a real consumer (the staff ping socket:
ping in, pong back through the channel layer) for a signed-in user, accept a message larger than
daphne's own 1 MiB default (so the limit option reached the server), refuse one past 16 MiB, and log
no request line (paths carry join tokens).
"""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from config import serve
from tests.factories import make_user

pytestmark = pytest.mark.timeout(180)

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60  # Django, Channels and the server's imports on a loaded 2-core machine
MIB = 1024 * 1024


def _database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db.get("USER") or ""
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    return f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def _frame_header(length: int) -> bytes:
    """A client's masked, final text frame header announcing ``length`` payload bytes (RFC 6455)."""
    return bytes([0x81, 0x80 | 127]) + struct.pack("!Q", length) + os.urandom(4)


class WebTier:
    """``config.serve`` in a subprocess; its output is kept (a reader thread drains the pipe)."""

    def __init__(self, server: str) -> None:
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
        env.update(
            WEB_SERVER=server,  # chosen the way a deployment would: the environment variable
            DATABASE_URL=_database_url(),
            REDIS_URL=settings.REDIS_URL,
            LOG_ACCESS="false",
            PYTHONUNBUFFERED="1",
        )
        env.pop("WEB_LOG_LEVEL", None)
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "config.serve", "--port", "0", "--workers", "1"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._port = threading.Event()
        self.port = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            found = re.match(r"web: \d+ (\w+) process\(es\) on http://[^:]+:(\d+)/", line)
            if found:
                self.server, self.port = found[1], int(found[2])
                self._port.set()

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_until_serving(self) -> str:
        """The base URL once a page answers; fails with the output if the process exits or stalls."""
        assert self._port.wait(START_TIMEOUT_S), self.output
        base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert self.process.poll() is None, f"config.serve exited:\n{self.output}"
            try:
                with urllib.request.urlopen(f"{base}/login/", timeout=5) as response:
                    if response.status == 200:
                        return base
            except OSError:
                pass
            assert time.monotonic() < deadline, f"no page within {START_TIMEOUT_S} s:\n{self.output}"
            time.sleep(0.3)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def signed_in_cookie(transactional_db) -> str:
    """A session cookie for a staff user, committed where the server process can read it."""
    user = make_user("ping-agent", role="agent", agent_level="L1")
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


@pytest.mark.parametrize("server", serve.SERVERS)
def test_each_server_serves_pages_and_websockets(server: str, signed_in_cookie: str) -> None:
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        pytest.skip("the server process needs the suite's PostgreSQL test database")
    web = WebTier(server)
    secret = "join-token-must-not-be-logged-7Qx"
    try:
        base = web.wait_until_serving()
        assert web.server == server

        with urllib.request.urlopen(f"{base}/login/?next=/j/{secret}/", timeout=10) as response:
            assert response.status == 200
            assert 'name="username"' in response.read().decode()
            assert response.headers.get("Server") is None

        url = base.replace("http://", "ws://") + "/ws/ping/"
        headers = {"Cookie": signed_in_cookie}
        # No compression: the sizes below are the sizes on the wire.
        with connect(url, origin=base, additional_headers=headers, compression=None, max_size=None) as ws:
            ws.send(json.dumps({"type": "ping", "seq": 1}))
            assert json.loads(ws.recv(timeout=10)) == {"type": "pong", "seq": 1}

            # Above daphne's default limit (1 MiB), below ours: it reaches the consumer.
            ws.send(json.dumps({"type": "bulk", "pad": "x" * (2 * MIB)}))
            assert json.loads(ws.recv(timeout=20))["type"] == "error"
            ws.send(json.dumps({"type": "ping", "seq": 2}))
            assert json.loads(ws.recv(timeout=10)) == {"type": "pong", "seq": 2}

        with connect(url, origin=base, additional_headers=headers, compression=None) as ws:
            # Only the header of a 17 MiB frame: the server refuses it from the announced length.
            # (Sending the whole payload races the server's close against our send and can lose the
            # close frame to a reset.)
            ws.socket.sendall(_frame_header(17 * MIB))
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=20)
            if server == "daphne":  # autobahn fails a connection by dropping it: no close frame
                assert closed.value.rcvd is None
            else:
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # too big

        # Refusing it cost that socket only.
        with connect(url, origin=base, additional_headers=headers, compression=None) as ws:
            ws.send(json.dumps({"type": "ping", "seq": 3}))
            assert json.loads(ws.recv(timeout=10)) == {"type": "pong", "seq": 3}
    finally:
        web.stop()
    assert web.process.returncode == 0, web.output
    assert secret not in web.output


def test_the_server_comes_from_web_server_unless_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEB_SERVER", raising=False)
    assert serve.parse_arguments([]).server == "uvicorn"
    monkeypatch.setenv("WEB_SERVER", "")
    assert serve.parse_arguments([]).server == "uvicorn"
    monkeypatch.setenv("WEB_SERVER", "daphne")
    assert serve.parse_arguments([]).server == "daphne"
    assert serve.parse_arguments(["--server", "uvicorn"]).server == "uvicorn"


@pytest.mark.parametrize(
    ("argv", "environ", "message"),
    [
        ([], {"WEB_SERVER": "gunicorn"}, "unknown web server 'gunicorn'"),
        (["--server", "Daphne"], {}, "unknown web server 'Daphne'"),
        (["--server", "daphne", "--host", "::1"], {}, "IPv4 only"),
    ],
)
def test_a_bad_choice_stops_at_start_with_a_clear_error(
    argv: list[str], environ: dict[str, str], message: str, monkeypatch, capsys
) -> None:
    monkeypatch.delenv("WEB_SERVER", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        serve.parse_arguments(argv)
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


def test_daphne_runs_with_the_uvicorn_guarantees(monkeypatch: pytest.MonkeyPatch) -> None:
    """The options daphne gets, read as daphne's own parser reads them."""
    from daphne.cli import CommandLineInterface

    monkeypatch.delenv("WEB_LOG_LEVEL", raising=False)
    command = serve.server_command("daphne", 7)
    assert command[:3] == [sys.executable, "-m", "daphne"]
    args = CommandLineInterface().parser.parse_args(command[3:])
    assert args.file_descriptor == 7
    assert args.application == serve.DAPHNE_APPLICATION
    assert args.verbosity == 0 and args.access_log is None  # no access log at all
    assert args.server_name == ""
    assert not args.proxy_headers  # the application applies FORWARDED_ALLOW_IPS instead
    options = serve.SERVER_OPTIONS
    assert args.ping_interval == options["ws_ping_interval"]
    assert args.ping_timeout == options["ws_ping_timeout"]
    assert args.websocket_max_message_size == options["ws_max_size"]
    assert args.websocket_max_frame_size == options["ws_max_size"]

    monkeypatch.setenv("WEB_LOG_LEVEL", "info")
    args = CommandLineInterface().parser.parse_args(serve.server_command("daphne", 7)[3:])
    assert args.verbosity == 1 and args.access_log == os.devnull  # verbose, still no access lines


def test_daphne_trusts_forwarded_headers_only_from_the_allowed_proxies() -> None:
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    from config import asgi, asgi_proxied

    assert isinstance(asgi_proxied.application, ProxyHeadersMiddleware)
    assert asgi_proxied.application.app is asgi.application
    trusted = asgi_proxied.application.trusted_hosts
    assert "127.0.0.1" in trusted
    assert "203.0.113.9" not in trusted
