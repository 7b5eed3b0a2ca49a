"""Run the web tier: one uvicorn process per core, all sharing one listening socket.

    python -m config.serve --host 127.0.0.1 --port 8000 [--workers N]

The kernel spreads new connections across the processes. Ctrl-C / SIGTERM stops them all.

uvicorn runs on uvloop with httptools and the sans-I/O ``websockets`` protocol: on the relay
benchmark (docs/benchmarks-relay.md) it costs about 20 % less CPU per relayed message than daphne
and halves the 200-session p99. The test suite's live server runs the same options
(``tests/live.py`` imports :data:`SERVER_OPTIONS`).
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--workers", type=int, default=int(os.environ.get("WEB_WORKERS", os.cpu_count() or 1))
    )
    args = parser.parse_args(argv)

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(2048)
    sock.set_inheritable(True)
    fd = sock.fileno()
    # The command is built from constants and this interpreter, never from input.
    children = [subprocess.Popen(command_line(fd), pass_fds=(fd,)) for _ in range(max(1, args.workers))]  # noqa: S603
    print(f"web: {len(children)} uvicorn process(es) on http://{args.host}:{args.port}/", flush=True)

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
