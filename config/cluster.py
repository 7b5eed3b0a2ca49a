"""nginx in front of several web nodes on one machine: failover and reconnects, seen locally.

    python -m config.cluster nginx --listen 8080 --node 8101 --node 8102 [--prefix var/nginx]
    python -m config.cluster node --port 8101 [--workers 1] [--restart-after 10]

``nginx`` renders ``config/nginx/cluster.conf.template`` into the prefix directory and runs nginx in
the foreground; ``node`` runs one ``config.serve`` node and starts it again when it is killed
(``make cluster`` runs both, ``Procfile.cluster``).
The same pieces start nginx and web nodes from Python: the end-to-end test kills a node under a live
session, and a benchmark can put N nodes behind one address. docs/cluster.md explains the layout.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).with_name("nginx") / "cluster.conf.template"
DEFAULT_PREFIX = ROOT / "var" / "nginx"
#: Response header naming the node that served a request, when asked for (the test reads it).
NODE_HEADER = "X-Tandem-Node"
#: A node that refused this many connections is skipped for FAIL_TIMEOUT_S (then tried again).
MAX_FAILS = 1
FAIL_TIMEOUT_S = 5
TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")

_FIELD = re.compile(r"\{\{(\w+)\}\}")


class ClusterError(RuntimeError):
    """nginx or a web node could not be started (the message carries its output)."""


def render(
    listen: int,
    nodes: Sequence[int],
    prefix: Path,
    *,
    host: str = "127.0.0.1",
    node_header: bool = False,
    template: str | None = None,
) -> str:
    """The nginx configuration for ``listen`` in front of the web nodes on ``host:port`` for each port.

    ``node_header`` adds :data:`NODE_HEADER` (the serving node's address) to every response: for
    tests and local experiments only, since it tells clients the internal addresses.
    """
    if not nodes:
        raise ValueError("at least one web node is needed")
    for port in (listen, *nodes):
        if not 0 < int(port) < 65536:
            raise ValueError(f"not a TCP port: {port!r}")
    upstreams = "\n".join(
        f"        server {host}:{int(port)} max_fails={MAX_FAILS} fail_timeout={FAIL_TIMEOUT_S}s;"
        for port in nodes
    )
    values = {
        "prefix": str(Path(prefix).resolve()),
        "listen": f"{host}:{int(listen)}",
        "upstreams": upstreams,
        "extra_location": f"            add_header {NODE_HEADER} $upstream_addr always;"
        if node_header
        else "",
    }
    text = TEMPLATE.read_text() if template is None else template

    def fill(match: re.Match[str]) -> str:
        name = match[1]
        if name not in values:
            raise ValueError(f"unknown field {{{{{name}}}}} in the nginx template")
        return values[name]

    return _FIELD.sub(fill, text)


def nginx_binary() -> str:
    """The nginx executable (PATH, then Debian's /usr/sbin); a clear error when it is missing."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if not found:
        raise ClusterError("nginx is not installed (Debian: apt-get install nginx-light)")
    return found


def prepare(prefix: Path, config: str) -> Path:
    """Write ``config`` into ``prefix`` with the log and temp directories nginx expects; its path."""
    prefix = Path(prefix).resolve()
    for name in ("logs", *(f"temp/{temp}" for temp in TEMP_DIRS)):
        (prefix / name).mkdir(parents=True, exist_ok=True)
    path = prefix / "nginx.conf"
    path.write_text(config)
    return path


def nginx_command(prefix: Path, config_path: Path) -> list[str]:
    # -e: the error log before the configuration is read (the compiled-in path may not be writable).
    prefix = Path(prefix).resolve()
    return [
        nginx_binary(),
        "-p",
        f"{prefix}/",
        "-e",
        str(prefix / "logs" / "error.log"),
        "-c",
        str(config_path),
    ]


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the caller binds it soon after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float, process: subprocess.Popen[str] | None = None) -> None:
    """Until something accepts connections on ``host:port``; raises if ``process`` exits first."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise ClusterError(f"exited with {process.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            return
        if time.monotonic() > deadline:
            raise ClusterError(f"nothing listens on {host}:{port} after {timeout} s")
        time.sleep(0.1)


@dataclass
class Process:
    """A child in its own process group, so that stopping or killing it reaches its children too."""

    name: str
    command: list[str]
    env: Mapping[str, str] | None = None
    log: Path | None = None
    popen: subprocess.Popen[str] | None = field(default=None, init=False)

    def start(self) -> Process:
        output = open(self.log, "a") if self.log else subprocess.DEVNULL  # noqa: SIM115 - the child holds it
        try:
            self.popen = subprocess.Popen(  # noqa: S603 - commands built here, never from input
                self.command,
                cwd=ROOT,
                env=dict(self.env) if self.env is not None else None,
                stdout=output,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
        finally:
            if self.log:
                output.close()  # type: ignore[union-attr]
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} was not started"
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole group: as if the machine died, no handler runs anywhere in it."""
        self._signal_group(signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait(timeout=30)

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM to the group, SIGKILL after ``timeout`` seconds."""
        if not self.alive():
            return
        self._signal_group(signal.SIGTERM)
        assert self.popen is not None
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def _signal_group(self, signum: int) -> None:
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signum)


def web_node(
    port: int, env: Mapping[str, str] | None = None, *, workers: int = 1, log: Path | None = None
) -> Process:
    """``python -m config.serve`` on ``127.0.0.1:port`` (not yet started)."""
    command = [
        sys.executable,
        "-m",
        "config.serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    return Process(f"web:{port}", command, env, log)


def nginx(listen: int, nodes: Sequence[int], prefix: Path, *, node_header: bool = False) -> Process:
    """nginx in front of ``nodes``, its configuration rendered into ``prefix`` (not yet started)."""
    config_path = prepare(prefix, render(listen, nodes, prefix, node_header=node_header))
    check = subprocess.run(  # noqa: S603 - nginx's own syntax check, before anything listens
        [*nginx_command(prefix, config_path), "-t", "-q"], capture_output=True, text=True, check=False
    )
    if check.returncode:
        raise ClusterError(f"nginx refused {config_path}:\n{check.stderr}")
    return Process("nginx", nginx_command(prefix, config_path))


def wait_until_serving(base_url: str, timeout: float, process: Process | None = None) -> None:
    """Until ``base_url/login/`` answers 200 (a web node has loaded Django), or raise."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.popen is not None and process.popen.poll() is not None:
            raise ClusterError(f"{process.name} exited with {process.popen.returncode}")
        with (
            contextlib.suppress(OSError, urllib.error.URLError),
            urllib.request.urlopen(f"{base_url}/login/", timeout=5) as response,  # noqa: S310 - our own URL
        ):
            if response.status == 200:
                return
        if time.monotonic() > deadline:
            raise ClusterError(f"{base_url} did not serve within {timeout} s")
        time.sleep(0.3)


def keep_node(port: int, workers: int, restart_after: float) -> int:
    """Run one web node in a process group of its own and start it again ``restart_after`` seconds
    after it dies, until SIGTERM/SIGINT. honcho stops everything when one of its processes exits;
    this keeps the rest of the cluster up while a node is killed (``kill -9 -- -<pid>``) to watch
    the failover, and brings the node back as an orchestrator would."""
    stopping = threading.Event()

    def stop(*_: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping.is_set():
        node = web_node(port, workers=workers).start()
        print(f"node {port}: process group {node.pid} (kill -9 -- -{node.pid} kills this node)", flush=True)
        while node.alive() and not stopping.is_set():
            stopping.wait(0.5)
        if stopping.is_set():
            node.stop()
            break
        print(f"node {port}: died; starting it again in {restart_after:g} s", flush=True)
        stopping.wait(restart_after)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    keep = commands.add_parser("node", help="run one web node, started again when it dies")
    keep.add_argument("--port", type=int, required=True)
    keep.add_argument("--workers", type=int, default=1)
    keep.add_argument("--restart-after", type=float, default=10.0)
    run = commands.add_parser("nginx", help="render the configuration and run nginx in the foreground")
    run.add_argument("--listen", type=int, default=8080)
    run.add_argument("--node", type=int, action="append", required=True, help="a web node's port (repeat)")
    run.add_argument("--prefix", type=Path, default=DEFAULT_PREFIX)
    run.add_argument("--node-header", action="store_true", help=f"add {NODE_HEADER} to every response")
    args = parser.parse_args(argv)
    if args.command == "node":
        return keep_node(args.port, args.workers, args.restart_after)
    try:
        process = nginx(args.listen, args.node, args.prefix, node_header=args.node_header)
    except (ClusterError, ValueError) as exc:
        parser.error(str(exc))
    print(
        f"nginx: http://127.0.0.1:{args.listen}/ -> web nodes on {', '.join(map(str, args.node))}", flush=True
    )
    # nginx replaces this process: honcho's Ctrl-C (SIGINT/SIGTERM) reaches nginx itself.
    os.execv(process.command[0], process.command)  # noqa: S606


if __name__ == "__main__":
    sys.exit(main())
