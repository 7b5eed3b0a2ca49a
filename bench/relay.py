"""Relay benchmark: customer → agent latency, loss and server cost of the live co-browse relay.

    .venv/bin/python bench/relay.py --sessions 10,50,200 --duration 20 [--echo] [--workers 2]

Per point N: creates N consented sessions with grants and N signed-in agents in the bench database
(:mod:`bench.relay_setup`), starts the web server as ``make run`` does (uvicorn, ``--workers``
processes sharing one listening socket via ``--fd``; ``--server daphne`` for comparison), and runs the
load in ``--clients`` separate processes (asyncio + ``websockets``). Each session is one customer
socket sending ``--rate`` rrweb batches a second (~2 KB of incremental events:
input, mutation, mouse move, scroll, plus a custom event carrying the send time) and answering pings,
and one agent socket receiving. Measured over ``--duration`` seconds: p50/p95/p99 customer → agent
latency, delivered/sent, CPU (% of one core) and peak RSS of every server process. ``--echo`` serves
the bare relay of :mod:`bench.echo_consumer` instead of the real consumers: the floor. ``--recording``:
the customers also consent to recording, so the real relay records every session (encrypted chunks in
a throwaway ``MEDIA_ROOT`` under a throwaway ``RECORDING_KEYS`` master key); the point then reports
what was stored.

Everything is bounded: connects, the run and the drain have deadlines; the servers are stopped and
the port is checked free at the end. Nothing here fails on slowness: it reports.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
CUSTOMER_ORIGIN = "http://localhost:8001"
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/tandem_bench"
#: The bench flushes this Redis database before each point: give it one nobody else uses.
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
CONNECT_DEADLINE_S = 90.0
DRAIN_DEADLINE_S = 5.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


def server_env(database_url: str, recording_root: Path | None = None) -> dict[str, str]:
    """Environment of the server processes (and of the setup, which must see the same database).

    ``recording_root``: recordings are stored under it (``MEDIA_ROOT``) with a fresh master key; the
    development key would be refused with ``DJANGO_DEBUG=false``."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=database_url,
        REDIS_URL=BENCH_REDIS_URL,
        CHANNEL_LAYER_PREFIX="bench",
        CACHE_KEY_PREFIX="bench",
        # Every simulated page connects from 127.0.0.1: the per-address hello limit would refuse them.
        COBROWSE_HELLO_RATE_LIMIT="100000/m",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="bench-relay-secret-key-not-for-production-0123456789abcdefghijkl",
        AUDIT_KEY="bench-relay-audit-key-not-for-production-0123456789abcdefghijklmn",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SECURE_SSL_REDIRECT="false",
        PYTHONPATH=str(ROOT),
    )
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    if recording_root is not None:
        sys.path.insert(0, str(ROOT))
        from recordings.keys import generate_entry

        env.update(RECORDING_KEYS=generate_entry("bench"), MEDIA_ROOT=str(recording_root))
    return env


# --- payloads ------------------------------------------------------------------------------------

FIELDS = 20  # form fields in the page: node ids 10.. (label, label text, input) per field
FIRST_FIELD_ID = 10


def _field_ids(i: int) -> tuple[int, int, int]:
    base = FIRST_FIELD_ID + 3 * i
    return base, base + 1, base + 2


def full_snapshot(now_ms: int) -> list[dict]:
    """Meta + FullSnapshot of a small loan form (what the widget sends after ``snapshot_request``)."""
    fields = []
    for i in range(FIELDS):
        label, text, inp = _field_ids(i)
        attrs = {"type": "text", "name": f"field_{i}", "id": f"f{i}", "class": "form-control"}
        if i == 3:
            attrs.update(type="password", name="password")
        if i == 5:
            attrs.update(autocomplete="cc-number", name="card")
        fields.append(
            {
                "type": 2,
                "tagName": "label",
                "attributes": {"for": f"f{i}"},
                "childNodes": [{"type": 3, "textContent": f"Field {i}", "id": text}],
                "id": label,
            }
        )
        fields.append({"type": 2, "tagName": "input", "attributes": attrs, "childNodes": [], "id": inp})
    body = {
        "type": 2,
        "tagName": "body",
        "attributes": {},
        "childNodes": [
            {"type": 2, "tagName": "form", "attributes": {"id": "apply"}, "childNodes": fields, "id": 5}
        ],
        "id": 4,
    }
    html = {
        "type": 2,
        "tagName": "html",
        "attributes": {"lang": "en"},
        "childNodes": [{"type": 2, "tagName": "head", "attributes": {}, "childNodes": [], "id": 3}, body],
        "id": 2,
    }
    return [
        {
            "type": 4,
            "data": {"href": f"{CUSTOMER_ORIGIN}/apply", "width": 1280, "height": 720},
            "timestamp": now_ms,
        },
        {
            "type": 2,
            "data": {
                "node": {"type": 0, "childNodes": [html], "id": 1},
                "initialOffset": {"left": 0, "top": 0},
            },
            "timestamp": now_ms,
        },
    ]


class BatchMaker:
    """Realistic incremental rrweb batches of ~2 KB for one page; the last event carries the send time."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.next_id = 1000
        self.added: list[int] = []
        self.typed = [""] * FIELDS

    def batch(self, now_ms: int, session_id: int, n: int, sent_ns: int) -> list[dict]:
        rng, events = self.rng, []
        for _ in range(6):  # keystrokes: rrweb sends the whole value on each one
            i = rng.randrange(FIELDS)
            self.typed[i] = (self.typed[i] + rng.choice("abcdefghij klmnopqrstuvwxyz0123456789"))[-40:]
            events.append(
                {
                    "type": 3,
                    "data": {"source": 5, "id": _field_ids(i)[2], "text": self.typed[i], "isChecked": False},
                    "timestamp": now_ms,
                }
            )
        for _ in range(2):  # a validation hint appears, an old one goes, a label changes
            i = rng.randrange(FIELDS)
            node_id, self.next_id = self.next_id, self.next_id + 1
            removes = [{"parentId": 5, "id": self.added.pop(0)}] if len(self.added) > 4 else []
            self.added.append(node_id)
            events.append(
                {
                    "type": 3,
                    "data": {
                        "source": 0,
                        "texts": [{"id": _field_ids(i)[1], "value": f"Field {i} (required)"}],
                        "attributes": [
                            {"id": _field_ids(i)[2], "attributes": {"class": "form-control is-invalid"}}
                        ],
                        "removes": removes,
                        "adds": [
                            {
                                "parentId": 5,
                                "nextId": None,
                                "node": {
                                    "type": 2,
                                    "tagName": "span",
                                    "attributes": {"class": "hint", "role": "alert"},
                                    "childNodes": [],
                                    "id": node_id,
                                },
                            }
                        ],
                    },
                    "timestamp": now_ms,
                }
            )
        for _ in range(4):  # pointer movement
            positions = [
                {"x": rng.randrange(1280), "y": rng.randrange(720), "id": 5, "timeOffset": -50 * k}
                for k in range(3)
            ]
            events.append({"type": 3, "data": {"source": 1, "positions": positions}, "timestamp": now_ms})
        events.append(
            {"type": 3, "data": {"source": 3, "id": 1, "x": 0, "y": rng.randrange(900)}, "timestamp": now_ms}
        )
        events.append(
            {
                "type": 5,
                "data": {"tag": "bench", "payload": {"sent_ns": sent_ns, "session": session_id, "n": n}},
                "timestamp": now_ms,
            }
        )
        return events


# --- load generator (one process per --clients) ---------------------------------------------------


def _envelope(msg_type: str, seq: int, data: dict) -> str:
    import orjson

    return orjson.dumps(
        {"type": msg_type, "seq": seq, "ts": time.time_ns() // 1_000_000, "data": data}
    ).decode()


class Worker:
    """Drives a share of the sessions: connect all, wait for the go, send for the window, drain."""

    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self.latencies: list[float] = []
        self.received_at: list[float] = []  # with ``spec["stamps"]``: when each latency was measured
        self.sent = 0
        self.delivered = 0
        self.seen: set[tuple[int, int]] = set()
        self.errors: dict[str, int] = {}
        self.closes: dict[str, int] = {}
        self.pongs = 0
        self.snapshot_requests = 0
        self.connected = 0
        self.connect_failures: list[str] = []
        self.stop = asyncio.Event()

    def _count(self, bucket: dict[str, int], key: str) -> None:
        bucket[key] = bucket.get(key, 0) + 1

    async def agent(self, session: dict, ready: asyncio.Event) -> None:
        import orjson
        from websockets.asyncio.client import connect

        port = self.spec.get("agent_port", self.spec["port"])
        url = f"ws://127.0.0.1:{port}/ws/cobrowse/{session['id']}/agent/"
        headers = {"Cookie": f"sessionid={session['cookie']}"}
        try:
            async with connect(
                url,
                origin=f"http://127.0.0.1:{port}",
                additional_headers=headers,
                compression=self.spec["compression"],
                max_size=None,
                open_timeout=30,
            ) as ws:
                first = orjson.loads(await asyncio.wait_for(ws.recv(), 30))
                if first.get("type") != "welcome":
                    raise RuntimeError(f"agent got {first.get('type')}: {first.get('data')}")
                ready.set()
                async for raw in ws:
                    now = time.time_ns()
                    msg = orjson.loads(raw)
                    if msg.get("type") != "rrweb":
                        continue
                    for event in msg["data"].get("events", ()):
                        if event.get("type") == 5 and event["data"].get("tag") == "bench":
                            payload = event["data"]["payload"]
                            key = (payload["session"], payload["n"])
                            if key not in self.seen:
                                self.seen.add(key)
                                self.delivered += 1
                                self.latencies.append((now - payload["sent_ns"]) / 1e6)
                                if self.spec.get("stamps"):
                                    self.received_at.append(round(now / 1e9, 2))
        except Exception as exc:  # reported, never raised: a failed socket is a result
            if not ready.is_set():
                self.connect_failures.append(f"agent {session['id']}: {exc!r}"[:200])
                ready.set()
            else:
                self._count(self.closes, f"agent {type(exc).__name__} {getattr(exc, 'rcvd', '')}")

    async def customer(self, session: dict, agent_ready: asyncio.Event, go: asyncio.Future) -> None:
        import orjson
        from websockets.asyncio.client import connect

        await agent_ready.wait()
        port, rate = self.spec.get("customer_port", self.spec["port"]), self.spec["rate"]
        url = f"ws://127.0.0.1:{port}/ws/cobrowse/{session['id']}/customer/"
        rng = random.Random(session["id"])
        maker = BatchMaker(rng)
        page_id = f"p{session['id']}"
        try:
            async with connect(
                url,
                origin=CUSTOMER_ORIGIN,
                compression=self.spec["compression"],
                max_size=None,
                open_timeout=30,
            ) as ws:
                hello = {
                    "grant": session["grant"],
                    "page_id": page_id,
                    "last_acked_seq": -1,
                    "url": f"{CUSTOMER_ORIGIN}/apply",
                    "title": "Loan application",
                }
                await ws.send(_envelope("hello", 0, hello))
                first = orjson.loads(await asyncio.wait_for(ws.recv(), 30))
                if first.get("type") != "welcome":
                    raise RuntimeError(f"customer got {first.get('type')}: {first.get('data')}")
                reader = asyncio.create_task(self._customer_reader(ws))
                now_ms = time.time_ns() // 1_000_000
                await ws.send(_envelope("rrweb", 0, {"events": full_snapshot(now_ms), "page_id": page_id}))
                self.connected += 1
                start, end = await go
                period = 1.0 / rate
                tick = start + rng.random() * period  # spread the sessions over the period
                seq = 1
                while tick < end:
                    delay = tick - time.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    sent_ns = time.time_ns()
                    events = maker.batch(sent_ns // 1_000_000, session["id"], seq, sent_ns)
                    await ws.send(_envelope("rrweb", seq, {"events": events, "page_id": page_id}))
                    self.sent += 1
                    seq += 1
                    tick += period
                await self.stop.wait()
                reader.cancel()
        except Exception as exc:
            if not go.done():
                self.connect_failures.append(f"customer {session['id']}: {exc!r}"[:200])
            else:
                self._count(self.closes, f"customer {type(exc).__name__} {getattr(exc, 'rcvd', '')}")

    async def _customer_reader(self, ws: Any) -> None:
        import orjson
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in ws:
                msg = orjson.loads(raw)
                kind = msg.get("type")
                if kind == "ping":
                    await ws.send(_envelope("pong", 0, {"nonce": msg["data"]["nonce"]}))
                    self.pongs += 1
                elif kind == "error":
                    self._count(self.errors, str(msg["data"].get("code")))
                elif kind == "snapshot_request":
                    self.snapshot_requests += 1
        except ConnectionClosed as exc:
            self._count(self.closes, f"customer closed {exc.rcvd.code if exc.rcvd else 'abnormally'}")

    async def run(self) -> dict:
        loop = asyncio.get_running_loop()
        go: asyncio.Future = loop.create_future()
        sem = asyncio.Semaphore(10)
        tasks = []

        async def one(session: dict) -> None:
            ready = asyncio.Event()
            async with sem:
                tasks.append(asyncio.create_task(self.agent(session, ready)))
                await asyncio.wait_for(ready.wait(), CONNECT_DEADLINE_S)
            await self.customer(session, ready, go)

        sessions = self.spec["sessions"]
        runners = [asyncio.create_task(one(s)) for s in sessions]
        deadline = time.monotonic() + CONNECT_DEADLINE_S
        while self.connected + len(self.connect_failures) < len(sessions) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        print(json.dumps({"ready": self.connected, "failed": len(self.connect_failures)}), flush=True)
        line = await loop.run_in_executor(None, sys.stdin.readline)
        start, end = json.loads(line)
        go.set_result((start, end))
        await asyncio.sleep(max(0.0, end - time.time()))
        drain_until = time.monotonic() + DRAIN_DEADLINE_S
        while self.delivered < self.sent and time.monotonic() < drain_until:
            await asyncio.sleep(0.05)
        self.stop.set()
        await asyncio.sleep(0.2)
        for task in runners + tasks:
            task.cancel()
        await asyncio.gather(*runners, *tasks, return_exceptions=True)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "latencies": self.latencies,
            "received_at": self.received_at,
            "sent": self.sent,
            "delivered": self.delivered,
            "errors": self.errors,
            "closes": self.closes,
            "pongs": self.pongs,
            "snapshot_requests": self.snapshot_requests,
            "connect_failures": self.connect_failures,
            "cpu_s": usage.ru_utime + usage.ru_stime,
        }


def client_main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    result = asyncio.run(Worker(spec).run())
    print(json.dumps({"result": result}), flush=True)


# --- server ---------------------------------------------------------------------------------------


def server_command(server: str, fd: int, app: str) -> list[str]:
    """The ASGI server under test, listening on the inherited socket ``fd``."""
    if server == "uvicorn":
        from config import serve

        return serve.command_line(fd, app)  # exactly what `make run` starts
    return [str(VENV_BIN / "daphne"), "--fd", str(fd), "-v", "1", "--access-log", os.devnull, app]


def ensure_database(env: dict[str, str]) -> None:
    """Create and migrate the bench database on first use (a no-op afterwards)."""
    import psycopg

    url = env["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')  # the name comes from the command line
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "--skip-checks", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )


def start_servers(
    workers: int, app: str, env: dict[str, str], log_path: Path, server: str = "daphne"
) -> tuple[int, list[subprocess.Popen]]:
    """Bind a loopback port and start ``workers`` server processes that share it (``--fd``)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    sock.set_inheritable(True)
    port, fd = sock.getsockname()[1], sock.fileno()
    log = log_path.open("w")
    cmd = server_command(server, fd, app)
    procs = [
        subprocess.Popen(cmd, pass_fds=(fd,), env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        for _ in range(workers)
    ]
    sock.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # any HTTP answer means one process serves; the other follows
        if any(p.poll() is not None for p in procs):
            raise RuntimeError(f"server exited: {log_path.read_text()[-2000:]}")
        with socket.socket() as probe:
            probe.settimeout(2)
            try:
                probe.connect(("127.0.0.1", port))
                probe.sendall(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                if probe.recv(16):
                    break
            except OSError:
                pass
        time.sleep(0.3)
    time.sleep(2.0)
    return port, procs


def stop_servers(procs: list[subprocess.Popen], port: int) -> bool:
    """SIGTERM, then SIGKILL after 5 s; returns whether the port is free afterwards."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
    for _ in range(20):
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return True
        time.sleep(0.25)
    return False


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_pressure_us() -> int:
    """Total time some runnable task waited for a CPU (/proc/pressure/cpu), 0 where unavailable."""
    try:
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except OSError:
        return 0
    return int(line.rsplit("total=", 1)[1])


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(BENCH_REDIS_URL).flushdb()


def start_profilers(procs: list[subprocess.Popen], seconds: float, out_dir: Path) -> None:
    """Sample every server process with py-spy over the measured window (``--profile``).

    py-spy reads the processes from outside (no pause, no instrumentation); it is not a project
    dependency: ``pip install py-spy``. Each process writes collapsed stacks to ``out_dir``.
    """
    import shutil

    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(VENV_BIN))
    if spy is None:
        print("--profile: py-spy is not installed (pip install py-spy); measuring without it", flush=True)
        return
    out_dir.mkdir(exist_ok=True)
    for proc in procs:
        command = [spy, "record", "--pid", str(proc.pid), "--duration", str(int(seconds))]
        command += ["--nonblocking", "--format", "raw", "-o", str(out_dir / f"{proc.pid}.txt")]
        subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    print(f"--profile: collapsed stacks of each server process go to {out_dir}", flush=True)


# --- one point ------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def run_point(n: int, args: argparse.Namespace, env: dict[str, str], tmp: Path) -> dict:
    from bench import relay_setup

    tag = f"{int(time.time())}{random.randrange(1000):03d}"
    t0 = time.monotonic()
    sessions = (
        relay_setup.create_sessions(n, tag, recording=args.recording)
        if not args.echo
        else [{"id": i + 1, "grant": "-", "cookie": "-"} for i in range(n)]
    )
    setup_s = time.monotonic() - t0
    flush_redis()
    app = "bench.echo_asgi:application" if args.echo else "config.asgi:application"
    port, procs = start_servers(args.workers, app, env, tmp / f"server-{n}.log", args.server)
    clients: list[subprocess.Popen] = []
    try:
        for k in range(args.clients):
            spec = {
                "port": port,
                "rate": args.rate,
                "sessions": sessions[k :: args.clients],
                "compression": "deflate" if args.deflate else None,
            }
            spec_path = tmp / f"spec-{n}-{k}.json"
            spec_path.write_text(json.dumps(spec))
            clients.append(
                subprocess.Popen(
                    [sys.executable, __file__, "--client", str(spec_path)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    cwd=ROOT,
                    env={**os.environ, "PYTHONPATH": str(ROOT)},
                )
            )
        ready = [json.loads(c.stdout.readline() or "{}") for c in clients]
        start = time.time() + 1.0
        end = start + args.duration
        for c in clients:
            c.stdin.write(json.dumps([start, end]) + "\n")
            c.stdin.flush()
        time.sleep(max(0.0, start - time.time()))
        ticks0 = {p.pid: cpu_ticks(p.pid) for p in procs}
        if args.profile:
            start_profilers(procs, args.duration, tmp / f"profile-{n}")
        pressure0 = cpu_pressure_us()
        peak_rss = {p.pid: rss_mb(p.pid) for p in procs}
        while time.time() < end:
            time.sleep(min(1.0, max(0.0, end - time.time())))
            for p in procs:
                peak_rss[p.pid] = max(peak_rss[p.pid], rss_mb(p.pid))
        ticks1 = {p.pid: cpu_ticks(p.pid) for p in procs}
        pressure1 = cpu_pressure_us()
        results = []
        for c in clients:
            out, _ = c.communicate(timeout=args.duration + DRAIN_DEADLINE_S + 30)
            lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
            results.append(next(x["result"] for x in lines if "result" in x))
    finally:
        for c in clients:
            if c.poll() is None:
                c.kill()
                c.wait(5)
        time.sleep(args.settle)  # the sockets are closed: let the recorders store their tails
        port_free = stop_servers(procs, port)
    recorded = relay_setup.recording_totals([s["id"] for s in sessions]) if args.recording else None
    gc_pauses = gc_pause_summary(tmp / f"server-{n}.log") if args.gc_pauses else None
    latencies = [v for r in results for v in r["latencies"]]
    delivered = sum(r["delivered"] for r in results)
    merged: dict[str, Any] = {"errors": {}, "closes": {}}
    for r in results:
        for bucket in ("errors", "closes"):
            for key, count in r[bucket].items():
                merged[bucket][key] = merged[bucket].get(key, 0) + count
    return {
        "n": n,
        "echo": args.echo,
        "recording": args.recording,
        "recorded": recorded,
        "workers": args.workers,
        "setup_s": round(setup_s, 1),
        "ready": sum(r.get("ready", 0) for r in ready),
        "connect_failures": [f for r in results for f in r["connect_failures"]][:5],
        "sent": sum(r["sent"] for r in results),
        "delivered": delivered,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "max": max(latencies, default=float("nan")),
        "cpu_pct": [round(100 * (ticks1[p.pid] - ticks0[p.pid]) / CLK_TCK / args.duration) for p in procs],
        "rss_mb": [round(peak_rss[p.pid]) for p in procs],
        "cpu_ms_per_msg": round(
            1000 * sum(ticks1[p.pid] - ticks0[p.pid] for p in procs) / CLK_TCK / max(1, delivered), 2
        ),
        "cpu_wait_pct": round(100 * (pressure1 - pressure0) / 1e6 / args.duration),
        "client_cpu_pct": round(100 * sum(r["cpu_s"] for r in results) / (args.duration + 2)),
        "pongs": sum(r["pongs"] for r in results),
        "snapshot_requests": sum(r["snapshot_requests"] for r in results),
        "errors": merged["errors"],
        "closes": merged["closes"],
        "load": Path("/proc/loadavg").read_text().split()[:3],
        "port_free": port_free,
        "gc_pauses": gc_pauses,
    }


def gc_pause_summary(log_path: Path) -> dict[str, Any]:
    """Collections that stalled a server process ≥ 5 ms, over the whole point (set-up included)."""
    pauses = [
        (int(m.group(1)), float(m.group(2)))
        for m in re.finditer(r"gc pause generation=(\d) ms=([\d.]+)", log_path.read_text())
    ]
    return {
        "count": len(pauses),
        "by_generation": {
            g: sum(1 for gen, _ in pauses if gen == g)
            for g in (0, 1, 2)
            if any(gen == g for gen, _ in pauses)
        },
        "max_ms": max((ms for _, ms in pauses), default=0.0),
    }


def print_table(rows: list[dict]) -> None:
    head = (
        f"{'relay':<6} {'N':>4} {'procs':>6} {'sent':>6} {'deliv':>6} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7} "
        f"{'CPU % per process':>17} {'CPU ms/msg':>10} {'RSS MB':>10} {'client CPU %':>12} "
        f"{'load 1m':>7} {'CPU wait %':>10}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        relay = "echo" if r["echo"] else "rec" if r.get("recording") else "real"
        print(
            f"{relay:<6} {r['n']:>4} {r['workers']:>6} "
            f"{r['sent']:>6} {r['delivered']:>6} "
            f"{r['p50']:>7.1f} {r['p95']:>7.1f} {r['p99']:>7.1f} {r['max']:>7.1f} "
            f"{'/'.join(map(str, r['cpu_pct'])):>17} {r['cpu_ms_per_msg']:>10} "
            f"{'/'.join(map(str, r['rss_mb'])):>10} "
            f"{r['client_cpu_pct']:>12} {r['load'][0]:>7} {r['cpu_wait_pct']:>10}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", default="10,50,200", help="comma-separated N")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per point (max 20)")
    parser.add_argument("--echo", action="store_true", help="bare relay (bench/echo_consumer.py): the floor")
    parser.add_argument(
        "--recording", action="store_true", help="sessions with recording consent: the relay records them"
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=0.0,
        help="seconds between the clients leaving and stopping the servers (recorders flush their tails)",
    )
    parser.add_argument("--workers", type=int, default=2, help="server processes sharing the socket")
    parser.add_argument(
        "--server", choices=("uvicorn", "daphne"), default="uvicorn", help="ASGI server (uvicorn as deployed)"
    )
    parser.add_argument(
        "--gc-pauses", action="store_true", help="servers log collections ≥ 5 ms; the point reports them"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample the servers with py-spy over the measured window (collapsed stacks per process)",
    )
    parser.add_argument(
        "--deflate", action="store_true", help="clients negotiate permessage-deflate, as browsers do"
    )
    parser.add_argument("--clients", type=int, default=2, help="load generator processes")
    parser.add_argument("--rate", type=float, default=5.0, help="rrweb batches per second per session")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client_main(args.client)
        return
    args.duration = min(args.duration, 20.0)
    if args.recording and args.echo:
        parser.error("--recording measures the real relay; it does not go with --echo")
    tmp = Path("/tmp") / f"bench-relay-{os.getpid()}"
    tmp.mkdir(exist_ok=True)
    env = server_env(args.database_url, tmp / "media" if args.recording else None)
    if args.gc_pauses:
        env["WEB_GC_PAUSE_LOG_MS"] = "5"
    os.environ.update(
        {
            k: env[k]
            for k in env
            if k.startswith(
                ("DJANGO", "AUDIT", "DATABASE", "REDIS", "CHANNEL", "CACHE", "RECORDING", "MEDIA")
            )
        }
    )
    sys.path.insert(0, str(ROOT))
    ensure_database(env)
    print(f"load average before: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}", flush=True)
    rows = []
    for n in [int(x) for x in args.sessions.split(",") if x.strip()]:
        row = run_point(n, args, env, tmp)
        rows.append(row)
        extra = {
            k: row[k]
            for k in (
                "setup_s",
                "ready",
                "pongs",
                "snapshot_requests",
                "errors",
                "closes",
                "port_free",
                "gc_pauses",
            )
        }
        if row["recorded"] is not None:
            extra["recorded"] = row["recorded"]
        print(f"N={n}: {json.dumps(extra)}", flush=True)
        if row["connect_failures"]:
            print(f"  connect failures: {row['connect_failures']}", flush=True)
    print()
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
