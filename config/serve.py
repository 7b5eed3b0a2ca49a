"""Run the web tier: one daphne process per core, all sharing one listening socket.

    python -m config.serve --host 127.0.0.1 --port 8000 [--workers N]

The kernel spreads new connections across the processes. Ctrl-C / SIGTERM stops them all.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time


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
    sock.listen(1024)
    sock.set_inheritable(True)
    fd = sock.fileno()
    command = [sys.executable, "-m", "daphne", "--fd", str(fd), "--proxy-headers", "config.asgi:application"]
    # The command is built from constants and this interpreter, never from input.
    children = [subprocess.Popen(command, pass_fds=(fd,)) for _ in range(max(1, args.workers))]  # noqa: S603
    print(f"web: {len(children)} daphne process(es) on http://{args.host}:{args.port}/", flush=True)

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
        deadline = time.monotonic() + 10
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        sock.close()
    return 0 if stopping else 1


if __name__ == "__main__":
    sys.exit(main())
