"""Run the web tier: one ASGI server process per core, all sharing one listening socket.

    python -m config.serve --host 127.0.0.1 --port 8000 [--workers N] [--server uvicorn|daphne]

The kernel spreads new connections across the processes. Ctrl-C / SIGTERM stops them all.
``--port 0`` takes a free port; the line printed at start names the one bound.

The server is ``--server`` or else the ``WEB_SERVER`` environment variable (``uvicorn`` when unset
or empty); any other value stops the command at once with an error.

uvicorn (the default) runs on uvloop with httptools and the sans-I/O ``websockets`` protocol: on the
relay benchmark (docs/benchmarks-relay.md) it costs about 20 % less CPU per relayed message than
daphne and halves the 200-session p99. The test suite's live server runs the same options
(``tests/live.py`` imports :data:`SERVER_OPTIONS`).

daphne is supported with the same guarantees where it can give them: no access log (join tokens
travel in paths), no Server header, WebSocket pings every 20 s closing a socket whose pong is 20 s
late, the same 16 MiB limit on an incoming WebSocket message (and on one frame), the proxy trust list
``FORWARDED_ALLOW_IPS`` (through ``config.asgi_proxied``), and one process per core adopting the
same inherited socket (``daphne --fd``). What differs:

- daphne runs on Twisted's asyncio reactor on the standard event loop, not uvloop/httptools: more
  CPU per message (1.06 against 0.84 ms per relayed batch on the benchmark).
- No graceful drain: on SIGTERM daphne stops at once and its open sockets drop without a close
  frame (clients reconnect); uvicorn finishes in-flight work for up to 10 s. An application
  instance still running 10 s after its client left is killed (``--application-close-timeout``).
- A message over the limit drops the connection (the client sees 1006: autobahn fails
  connections by dropping them) where uvicorn closes with 1009.
- daphne closes any WebSocket after 24 h (its ``--websocket_timeout`` default, kept: co-browse
  sessions end long before) and one that has not finished its handshake within 5 s.
- Its inherited-socket endpoint is IPv4 only: ``--host`` must be an IPv4 address or name.
- No lifespan protocol (nothing here uses it); ``WEB_LOG_LEVEL`` maps onto daphne's verbosity.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

APPLICATION = "config.asgi:application"
# daphne trusts X-Forwarded-* from every peer when asked to read them; this application applies
# FORWARDED_ALLOW_IPS itself (config/asgi_proxied.py).
DAPHNE_APPLICATION = "config.asgi_proxied:application"

SERVERS = ("uvicorn", "daphne")
DEFAULT_SERVER = "uvicorn"

# Options shared by production and the test live server (uvicorn.Config keyword arguments).
SERVER_OPTIONS: dict[str, Any] = {
    "loop": "uvloop",
    "http": "httptools",
    "ws": "websockets-sansio",
    # Channels' routers do not speak the lifespan protocol; nothing here needs it.
    "lifespan": "off",
    # Paths carry one-time join tokens: no access log, so they reach no log at all.
    "access_log": False,
    "server_header": False,
    # Pings find dead sockets that TCP alone would keep for minutes; the relay has its own
    # application-level ping for presence (4 s) on top.
    "ws_ping_interval": 20.0,
    "ws_ping_timeout": 20.0,
    # Frames up to this size reach the consumers, which answer an oversized message with an
    # `error` and keep the socket (cobrowse/protocol/messages.py limits); only larger ones close it (1009).
    "ws_max_size": 16 * 1024 * 1024,
    "timeout_graceful_shutdown": 10,
}


def command_line(fd: int, application: str = APPLICATION) -> list[str]:
    """The uvicorn command for one web process serving the inherited socket ``fd``."""
    options = SERVER_OPTIONS
    return [
        sys.executable, "-m", "uvicorn", application,
        "--fd", str(fd),
        "--loop", options["loop"],
        "--http", options["http"],
        "--ws", options["ws"],
        "--lifespan", options["lifespan"],
        "--no-access-log",
        "--no-server-header",
        "--ws-ping-interval", str(options["ws_ping_interval"]),
        "--ws-ping-timeout", str(options["ws_ping_timeout"]),
        "--ws-max-size", str(options["ws_max_size"]),
        "--timeout-graceful-shutdown", str(options["timeout_graceful_shutdown"]),
        # Trusts X-Forwarded-For/-Proto from FORWARDED_ALLOW_IPS (uvicorn's own variable;
        # default 127.0.0.1: the reverse proxy on this host).
        "--proxy-headers",
        "--log-level", os.environ.get("WEB_LOG_LEVEL", "warning"),
    ]  # fmt: skip


def daphne_command_line(fd: int, application: str = DAPHNE_APPLICATION) -> list[str]:
    """The daphne command for one web process adopting the inherited socket ``fd``.

    The options mirror :data:`SERVER_OPTIONS` where daphne has them (see the module docstring).
    """
    options = SERVER_OPTIONS
    level = os.environ.get("WEB_LOG_LEVEL", "warning").lower()
    verbosity = {"debug": 2, "info": 1}.get(level, 0)
    # Verbosity 1 and above would print an access line for every request to stdout; send those
    # lines nowhere instead (below 1, daphne makes none at all).
    access_log = ["--access-log", os.devnull] if verbosity else []
    return [
        sys.executable, "-m", "daphne",
        "--fd", str(fd),
        "--verbosity", str(verbosity),
        *access_log,
        "--no-server-name",
        "--ping-interval", str(int(options["ws_ping_interval"])),
        "--ping-timeout", str(int(options["ws_ping_timeout"])),
        "--websocket-max-message-size", str(options["ws_max_size"]),
        "--websocket-max-frame-size", str(options["ws_max_size"]),
        "--application-close-timeout", str(options["timeout_graceful_shutdown"]),
        application,
    ]  # fmt: skip


def server_command(server: str, fd: int) -> list[str]:
    """The command for one process of ``server`` (one of :data:`SERVERS`) on the socket ``fd``."""
    if server == "daphne":
        return daphne_command_line(fd)
    return command_line(fd)


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, with ``WEB_SERVER`` and ``WEB_WORKERS`` as defaults; a bad server exits (2)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--workers", type=int, default=int(os.environ.get("WEB_WORKERS", os.cpu_count() or 1))
    )
    parser.add_argument(
        "--server",
        default=os.environ.get("WEB_SERVER") or DEFAULT_SERVER,
        help=f"ASGI server: {' or '.join(SERVERS)} (default: WEB_SERVER, else {DEFAULT_SERVER})",
    )
    args = parser.parse_args(argv)
    if args.server not in SERVERS:
        choices = " or ".join(SERVERS)
        parser.error(f"unknown web server {args.server!r} (--server or WEB_SERVER): use {choices}")
    if args.server == "daphne" and ":" in args.host:
        parser.error("daphne adopts an inherited socket over IPv4 only: give an IPv4 --host or use uvicorn")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(2048)
    sock.set_inheritable(True)
    fd = sock.fileno()
    port = sock.getsockname()[1]
    # The command is built from constants and this interpreter, never from input.
    command = server_command(args.server, fd)
    children = [subprocess.Popen(command, pass_fds=(fd,)) for _ in range(max(1, args.workers))]  # noqa: S603
    print(f"web: {len(children)} {args.server} process(es) on http://{args.host}:{port}/", flush=True)

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not stopping:
            if any(child.poll() is not None for child in children):
                break  # one died: stop the rest so the supervisor restarts the whole tier
            time.sleep(0.5)
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + SERVER_OPTIONS["timeout_graceful_shutdown"] + 5
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        sock.close()
    return 0 if stopping else 1


if __name__ == "__main__":
    sys.exit(main())
