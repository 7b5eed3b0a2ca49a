"""Soak: live sessions for a long stretch through nginx in front of two web nodes, as `make cluster`.

    .venv/bin/python bench/soak.py [--sessions 100] [--minutes 30] [--rate 2] [--graphs docs/img]
    .venv/bin/python bench/soak.py --compare 200 [--duration 20] [--repeat 2]

The soak starts nginx (``config.cluster``) in front of two web nodes (``python -m config.serve``,
one process each), a ``default`` Celery worker and beat, all on the bench database and Redis
(``bench/relay.py``'s environment). ``--sessions`` consented sessions (a third of them recorded) each
get a customer socket sending ``--rate`` rrweb batches a second and an agent socket, every socket
through nginx (the load generator is ``bench/relay.py``'s, in two processes). Beside them an HTTP
prober walks what pages do meanwhile: the widget's grant refresh for every session in turn, an
agent's console page, the sign-in page.

Each minute it samples the RSS and CPU of every process it started (by process group, children
included); at the end it prints per minute the customer → agent latency (p50/p99) and the batches
delivered, every process's RSS per minute with its trend, the HTTP statuses (and the 5xx among the
socket upgrades nginx logged), sent against delivered, and what was recorded. ``--graphs DIR``
draws ``soak-rss.png`` and ``soak-latency.png``. Nothing here fails on a figure: it reports.

``--compare N``: the relay at N sessions for ``--duration`` seconds with every socket through nginx,
then directly to the two nodes (half the sessions on each), ``--repeat`` times alternately; prints
both and the ratios (latency percentiles, and CPU per delivered batch with nginx's own CPU counted).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import relay  # noqa: E402 - after the path
from config import cluster  # noqa: E402

MINUTE_S = 60.0
PROBE_EVERY_S = 0.5


# --- processes -------------------------------------------------------------------------------------


def group_pids(leader: int) -> list[int]:
    """Every live process in ``leader``'s process group (the leader and the children it started)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == leader:  # pgrp
            pids.append(int(entry.name))
    return sorted(pids)


def describe(pid: int) -> str:
    try:
        argv = (Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"))[:6]
    except OSError:
        return "?"
    return " ".join(a.decode(errors="replace").rsplit("/", 1)[-1] for a in argv if a)[:60]


class Fleet:
    """The processes under test: name → ``cluster.Process``; sampled by process group."""

    def __init__(self) -> None:
        self.processes: dict[str, cluster.Process] = {}

    def start(self, name: str, process: cluster.Process) -> cluster.Process:
        self.processes[name] = process.start()
        return process

    def sample(self) -> dict[str, dict[str, float]]:
        """``{"web-1 pid 123 (python …)": {"rss_mb", "cpu_s"}}`` for every process of every group."""
        out: dict[str, dict[str, float]] = {}
        for name, process in self.processes.items():
            if not process.alive():
                continue
            for pid in group_pids(process.pid):
                try:
                    rss = relay.rss_mb(pid)
                    cpu = relay.cpu_ticks(pid) / relay.CLK_TCK
                except OSError:
                    continue
                role = "" if pid == process.pid else " child"
                out[f"{name}{role} {pid}"] = {"rss_mb": round(rss, 1), "cpu_s": round(cpu, 2)}
        return out

    def cpu_ticks(self) -> dict[str, int]:
        ticks: dict[str, int] = {}
        for name, process in self.processes.items():
            total = 0
            for pid in group_pids(process.pid):
                try:
                    total += relay.cpu_ticks(pid)
                except OSError:
                    continue
            ticks[name] = total
        return ticks

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop(timeout=10)


def start_cluster(env: dict[str, str], tmp: Path, *, workers: bool) -> tuple[Fleet, int, list[int]]:
    """nginx on a free port in front of two single-process web nodes (and the Celery worker and beat)."""
    fleet = Fleet()
    nodes = [cluster.free_port(), cluster.free_port()]
    while nodes[1] == nodes[0]:
        nodes[1] = cluster.free_port()
    for k, port in enumerate(nodes, 1):
        fleet.start(f"web-{k}", cluster.web_node(port, env, workers=1, log=tmp / f"web-{k}.log"))
    listen = cluster.free_port()
    (tmp / "nginx" / "logs" / "sockets.log").unlink(missing_ok=True)  # this run's sockets only
    fleet.start("nginx", cluster.nginx(listen, nodes, tmp / "nginx"))
    if workers:
        celery = str(relay.VENV_BIN / "celery")
        worker = [celery, "-A", "config", "worker", "-Q", "default", "-n", "soak@%h", "-l", "warning"]
        worker += ["--concurrency", "2"]
        beat = [celery, "-A", "config", "beat", "-l", "warning", "--schedule", str(tmp / "beat-schedule")]
        fleet.start("worker", cluster.Process("worker", worker, env, tmp / "worker.log"))
        fleet.start("beat", cluster.Process("beat", beat, env, tmp / "beat.log"))
    for port in nodes:
        cluster.wait_until_serving(f"http://127.0.0.1:{port}", 60)
    cluster.wait_until_serving(f"http://127.0.0.1:{listen}", 30)
    return fleet, listen, nodes


# --- load ------------------------------------------------------------------------------------------


def start_clients(
    sessions: list[dict], ports: list[int], rate: float, tmp: Path, tag: str, placement: dict | None = None
) -> list:
    """``bench/relay.py``'s load generator, one process per port in ``ports`` (sessions dealt out);
    ``placement`` (``{"agent_port", "customer_port"}``) sends every agent and every customer socket
    to one port each instead."""
    clients = []
    for k, port in enumerate(ports):
        spec = {"port": port, "rate": rate, "sessions": sessions[k :: len(ports)], "compression": None}
        spec.update(placement or {})
        spec["stamps"] = True
        spec_path = tmp / f"spec-{tag}-{k}.json"
        spec_path.write_text(json.dumps(spec))
        clients.append(
            subprocess.Popen(
                [sys.executable, relay.__file__, "--client", str(spec_path)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
        )
    return clients


def go(clients: list, seconds: float) -> tuple[float, float, list[dict]]:
    ready = [json.loads(c.stdout.readline() or "{}") for c in clients]
    start = time.time() + 1.0
    end = start + seconds
    for c in clients:
        c.stdin.write(json.dumps([start, end]) + "\n")
        c.stdin.flush()
    return start, end, ready


def collect(clients: list, seconds: float) -> list[dict]:
    results = []
    for c in clients:
        out, _ = c.communicate(timeout=seconds + relay.DRAIN_DEADLINE_S + 60)
        lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
        results.append(next(x["result"] for x in lines if "result" in x))
    return results


class Prober(threading.Thread):
    """What pages do beside the sockets: grant refreshes, a console page, the sign-in page."""

    def __init__(self, base: str, sessions: list[dict]) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.sessions = sessions
        self.halt = threading.Event()
        self.statuses: Counter[str] = Counter()
        self.failures_by_minute: Counter[int] = Counter()
        self.started = time.time()

    def _request(self, kind: str, request: urllib.request.Request) -> None:
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                code = response.status
        except urllib.error.HTTPError as exc:
            code = exc.code
        except (urllib.error.URLError, OSError):
            code = 0  # no answer at all
        self.statuses[f"{kind} {code}"] += 1
        if code == 0 or code >= 500:
            self.failures_by_minute[int((time.time() - self.started) // MINUTE_S)] += 1

    def run(self) -> None:
        i = 0
        while not self.halt.wait(PROBE_EVERY_S):
            session = self.sessions[i % len(self.sessions)]
            turn = i % 4
            if turn in (0, 1):  # the widget keeps its grant alive (every session in turn)
                request = urllib.request.Request(
                    f"{self.base}/api/cobrowse/grants/refresh/",
                    method="POST",
                    headers={"X-Tandem-Grant": session["grant"], "Origin": relay.CUSTOMER_ORIGIN},
                )
                self._request("grant refresh", request)
            elif turn == 2:
                request = urllib.request.Request(
                    f"{self.base}/agent/sessions/{session['id']}/",
                    headers={"Cookie": f"sessionid={session['cookie']}"},
                )
                self._request("console page", request)
            else:
                self._request("sign-in page", urllib.request.Request(f"{self.base}/login/"))
            i += 1


def socket_statuses(prefix: Path) -> Counter[str]:
    """Status of every co-browse socket nginx logged (``101`` upgraded; 5xx: no node could take it)."""
    log = prefix / "logs" / "sockets.log"
    counts: Counter[str] = Counter()
    if log.exists():
        for line in log.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 4:
                counts[f"{parts[1]} {parts[-1]}"] += 1
    return counts


def socket_nodes(prefix: Path) -> dict[str, dict[str, int]]:
    """Which node nginx gave each co-browse socket: ``{role: {upstream: count}}``."""
    log = prefix / "logs" / "sockets.log"
    out: dict[str, Counter[str]] = {}
    if log.exists():
        for line in log.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 4:
                out.setdefault(parts[1], Counter())[parts[2].rstrip(",")] += 1
    return {role: dict(counts) for role, counts in out.items()}


# --- figures ---------------------------------------------------------------------------------------


def per_minute(results: list[dict], start: float, minutes: int) -> list[dict]:
    buckets: list[list[float]] = [[] for _ in range(minutes)]
    for r in results:
        for at, ms in zip(r["received_at"], r["latencies"], strict=True):
            m = int((at - start) // MINUTE_S)
            if 0 <= m < minutes:
                buckets[m].append(ms)
    return [
        {
            "minute": m + 1,
            "delivered": len(b),
            "p50": relay.percentile(b, 50),
            "p99": relay.percentile(b, 99),
            "max": max(b, default=float("nan")),
        }
        for m, b in enumerate(buckets)
    ]


def rss_trends(samples: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Per process: RSS at the first sample after warm-up (minute 2), at the end, and the change."""
    names = sorted({name for sample in samples for name in sample})
    out = {}
    for name in names:
        series = [s[name]["rss_mb"] for s in samples if name in s]
        if len(series) < 3:
            continue
        baseline = statistics.mean(series[1:3])  # minutes 2-3: imports and first sessions are in
        last = statistics.mean(series[-2:])
        out[name] = {
            "first_mb": series[0],
            "baseline_mb": round(baseline, 1),
            "last_mb": round(last, 1),
            "peak_mb": max(series),
            "change_pct": round(100 * (last - baseline) / baseline, 1) if baseline else 0.0,
        }
    return out


def draw(graphs: Path, samples: list[dict], minutes_table: list[dict], title: str) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    graphs.mkdir(parents=True, exist_ok=True)
    paths = []
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=100)
    names = sorted(
        {n for s in samples for n in s}, key=lambda n: -max(s.get(n, {}).get("rss_mb", 0) for s in samples)
    )
    for name in names[:12]:
        ms = [m for m, s in enumerate(samples) if name in s]
        ax.plot([m + 1 for m in ms], [samples[m][name]["rss_mb"] for m in ms], marker=".", label=name)
    ax.set_xlabel("minute")
    ax.set_ylabel("RSS (MB)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylim(bottom=0)
    ax.set_title(f"RSS of every process, sampled each minute — {title}")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    paths.append(graphs / "soak-rss.png")
    fig.savefig(paths[-1])
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=100)
    xs = [row["minute"] for row in minutes_table]
    ax.plot(xs, [row["p99"] for row in minutes_table], marker=".", label="p99")
    ax.plot(xs, [row["p50"] for row in minutes_table], marker=".", label="p50")
    ax.set_xlabel("minute")
    ax.set_ylabel("customer → agent latency (ms)")
    ax.set_ylim(bottom=0)
    ax.set_title(f"Relay latency per minute through nginx — {title}")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    paths.append(graphs / "soak-latency.png")
    fig.savefig(paths[-1])
    plt.close(fig)
    return paths


# --- the two runs ----------------------------------------------------------------------------------


def soak(args: argparse.Namespace, env: dict[str, str], tmp: Path) -> dict[str, Any]:
    from bench import relay_setup

    tag = f"{int(time.time())}{random.randrange(1000):03d}"
    recorded = max(0, round(args.sessions * args.recorded_share))
    t0 = time.monotonic()
    sessions = relay_setup.create_sessions(args.sessions - recorded, f"{tag}p")
    sessions += relay_setup.create_sessions(recorded, f"{tag}r", recording=True)
    print(f"{len(sessions)} sessions ({recorded} recorded) in {time.monotonic() - t0:.0f} s", flush=True)
    relay.flush_redis()
    fleet, listen, nodes = start_cluster(env, tmp, workers=True)
    base = f"http://127.0.0.1:{listen}"
    print(f"nginx {base} → nodes {nodes}; processes: {sorted(fleet.sample())}", flush=True)
    seconds = args.minutes * MINUTE_S
    clients = start_clients(sessions, [listen, listen], args.rate, tmp, "soak")
    prober = Prober(base, sessions)
    samples: list[dict[str, dict[str, float]]] = []
    loads: list[str] = []
    try:
        start, _end, ready = go(clients, seconds)
        print(f"ready: {ready}", flush=True)
        time.sleep(max(0.0, start - time.time()))
        prober.started = start
        prober.start()
        for minute in range(args.minutes):
            time.sleep(max(0.0, start + (minute + 1) * MINUTE_S - 1 - time.time()))
            samples.append(fleet.sample())
            loads.append(Path("/proc/loadavg").read_text().split()[0])
            web = [v["rss_mb"] for k, v in samples[-1].items() if k.startswith("web")]
            print(f"minute {minute + 1}: web RSS {web} MB, load {loads[-1]}", flush=True)
        results = collect(clients, seconds)
    finally:
        prober.halt.set()
        for c in clients:
            if c.poll() is None:
                c.kill()
        time.sleep(args.settle)
        sockets = socket_statuses(tmp / "nginx")
        fleet.stop()
    stored = relay_setup.recording_totals([s["id"] for s in sessions[args.sessions - recorded :]])
    minutes_table = per_minute(results, start, args.minutes)
    closes: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for r in results:
        closes.update(r["closes"])
        errors.update(r["errors"])
    return {
        "sessions": args.sessions,
        "recorded_sessions": recorded,
        "minutes": args.minutes,
        "rate": args.rate,
        "sent": sum(r["sent"] for r in results),
        "delivered": sum(r["delivered"] for r in results),
        "p50": relay.percentile([v for r in results for v in r["latencies"]], 50),
        "p99": relay.percentile([v for r in results for v in r["latencies"]], 99),
        "per_minute": minutes_table,
        "rss": rss_trends(samples),
        "samples": samples,
        "load_per_minute": loads,
        "http": dict(prober.statuses),
        "http_failures_by_minute": dict(prober.failures_by_minute),
        "sockets": dict(sockets),
        "closes": dict(closes),
        "errors": dict(errors),
        "recordings": stored,
        "connect_failures": [f for r in results for f in r["connect_failures"]][:5],
    }


def compare_point(n: int, via: str, args: argparse.Namespace, env: dict[str, str], tmp: Path) -> dict:
    from bench import relay_setup

    tag = f"{int(time.time())}{random.randrange(1000):03d}"
    sessions = relay_setup.create_sessions(n, tag)
    relay.flush_redis()
    fleet, listen, nodes = start_cluster(env, tmp, workers=False)
    # nginx's round robin of this load generator's sockets (an agent, then its customer) puts every
    # customer socket on one node and every agent on the other: direct runs place them the same way,
    # so that the ratio is nginx's own cost, not a different spread of the work.
    placement = None if via == "nginx" else {"agent_port": nodes[0], "customer_port": nodes[1]}
    clients = start_clients(
        sessions,
        [listen, listen] if via == "nginx" else nodes,
        args.rate_compare,
        tmp,
        f"{via}-{tag}",
        placement,
    )
    try:
        start, end, _ = go(clients, args.duration)
        time.sleep(max(0.0, start - time.time()))
        ticks0 = fleet.cpu_ticks()
        time.sleep(max(0.0, end - time.time()))
        ticks1 = fleet.cpu_ticks()
        results = collect(clients, args.duration)
    finally:
        for c in clients:
            if c.poll() is None:
                c.kill()
        sockets = socket_nodes(tmp / "nginx")
        fleet.stop()
    latencies = [v for r in results for v in r["latencies"]]
    delivered = sum(r["delivered"] for r in results)
    cpu = {k: (ticks1[k] - ticks0[k]) / relay.CLK_TCK for k in ticks1}
    web_cpu = sum(v for k, v in cpu.items() if k.startswith("web"))
    return {
        "via": via,
        "n": n,
        "sent": sum(r["sent"] for r in results),
        "delivered": delivered,
        "p50": relay.percentile(latencies, 50),
        "p95": relay.percentile(latencies, 95),
        "p99": relay.percentile(latencies, 99),
        "web_cpu_ms_per_batch": round(1000 * web_cpu / max(1, delivered), 3),
        "nginx_cpu_ms_per_batch": round(1000 * cpu.get("nginx", 0.0) / max(1, delivered), 3),
        "load": Path("/proc/loadavg").read_text().split()[0],
        "sockets_by_node": sockets if via == "nginx" else {"agent": {nodes[0]: n}, "customer": {nodes[1]: n}},
    }


def print_soak(row: dict) -> None:
    print()
    print(f"{'minute':>6} {'delivered':>9} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'load':>5}")
    for m, load in zip(row["per_minute"], row["load_per_minute"], strict=False):
        figures = f"{m['p50']:>7.1f} {m['p99']:>7.1f} {m['max']:>7.1f}"
        print(f"{m['minute']:>6} {m['delivered']:>9} {figures} {load:>5}")
    print()
    print(f"{'process':<28} {'first':>7} {'min 2-3':>8} {'last':>7} {'peak':>7} {'change':>7}")
    for name, t in row["rss"].items():
        print(
            f"{name:<28} {t['first_mb']:>7} {t['baseline_mb']:>8} {t['last_mb']:>7} {t['peak_mb']:>7} "
            f"{t['change_pct']:>6}%"
        )
    print()
    for key in ("sent", "delivered", "p50", "p99", "http", "sockets", "closes", "errors", "recordings"):
        print(f"{key}: {row[key]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--minutes", type=int, default=30)
    parser.add_argument("--rate", type=float, default=2.0, help="rrweb batches per second per session")
    parser.add_argument("--recorded-share", type=float, default=1 / 3)
    parser.add_argument("--settle", type=float, default=8.0, help="seconds for the recorders' tails")
    parser.add_argument("--graphs", type=Path, help="write soak-rss.png and soak-latency.png here")
    parser.add_argument("--compare", type=int, help="instead: the relay at N sessions, nginx against direct")
    parser.add_argument("--duration", type=float, default=20.0, help="--compare: measured seconds per run")
    parser.add_argument("--repeat", type=int, default=2, help="--compare: runs of each, alternately")
    parser.add_argument("--rate-compare", type=float, default=5.0, help="--compare: batches/s per session")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", relay.DEFAULT_DB))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    tmp = Path("/tmp") / f"bench-soak-{os.getpid()}"
    tmp.mkdir(exist_ok=True)
    env = relay.server_env(args.database_url, tmp / "media")
    shared = ("DJANGO", "AUDIT", "DATABASE", "REDIS", "CHANNEL", "CACHE", "RECORDING", "MEDIA")
    os.environ.update({k: env[k] for k in env if k.startswith(shared)})
    relay.ensure_database(env)
    print(f"load average before: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}", flush=True)
    if args.compare:
        rows = []
        for _ in range(args.repeat):
            for via in ("nginx", "direct"):
                rows.append(compare_point(args.compare, via, args, env, tmp))
                print(json.dumps(rows[-1]), flush=True)
        by = {v: [r for r in rows if r["via"] == v] for v in ("nginx", "direct")}
        print()
        for key in ("p50", "p95", "p99", "web_cpu_ms_per_batch", "nginx_cpu_ms_per_batch"):
            nginx = statistics.median(r[key] for r in by["nginx"])
            direct = statistics.median(r[key] for r in by["direct"])
            ratio = f"{nginx / direct:.2f}" if direct else "-"
            print(f"{key:<24} nginx {nginx:>8.2f}  direct {direct:>8.2f}  ratio {ratio}")
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1))
        return
    row = soak(args, env, tmp)
    print_soak(row)
    if args.graphs:
        title = f"{row['sessions']} sessions, {row['minutes']} min"
        for path in draw(args.graphs, row["samples"], row["per_minute"], title):
            print(f"graph: {path}")
    if args.json:
        args.json.write_text(json.dumps(row, indent=1))


if __name__ == "__main__":
    main()
