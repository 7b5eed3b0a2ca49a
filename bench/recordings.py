"""Recording crypto and storage figures: throughput, bytes per minute, time to open a long recording.

Run from the repository root:  .venv/bin/python bench/recordings.py [--minutes 30]
Prints figures only; never fails on time. Targets: >= 100 MB/s per core, <= 1 s to open 30 minutes.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # this file is bench/recordings.py: keep it from shadowing the app
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import orjson  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from django.core.files.storage import FileSystemStorage  # noqa: E402

from recordings import crypto  # noqa: E402
from recordings.blobstore import BlobStore  # noqa: E402
from recordings.capture import FLUSH_INTERVAL, REMOTE_PREFETCH, RecordingWriter, open_recording  # noqa: E402
from recordings.keys import generate_entry, parse_keyring  # noqa: E402

MB = 1_000_000
GET_LATENCY = 0.02  # a typical in-region object storage GET, first byte


def _best(fn: Callable[[], Any], repeat: int = 5, number: int = 1) -> float:
    """Best wall time of ``repeat`` runs of ``number`` calls (single thread, i.e. one core)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - started) / number)
    return min(times)


# --- a synthetic rrweb stream --------------------------------------------------------------------


class Session:
    """One full snapshot (~30 KB of JSON), then ~10 incremental events per second of ~100 B."""

    def __init__(self, seed: int = 1) -> None:
        self.rnd = random.Random(seed)
        self.next_id = 1
        self.ts = 1_700_000_000_000

    def _node(self, depth: int) -> dict[str, Any]:
        self.next_id += 1
        rnd = self.rnd
        if depth >= 4 or rnd.random() < 0.25:
            return {
                "type": 3,
                "id": self.next_id,
                "textContent": rnd.choice(["Loan amount", "Next", "Income"]),
            }
        tag = rnd.choice(["div", "label", "input", "span", "p", "section"])
        attrs: dict[str, str] = {"class": f"form-row col-{rnd.randrange(12)}"}
        if tag == "input":
            attrs.update(type="text", name=f"field_{self.next_id}", value="*" * rnd.randrange(0, 12))
        children = [self._node(depth + 1) for _ in range(rnd.randrange(1, 4))]
        return {"type": 2, "id": self.next_id, "tagName": tag, "attributes": attrs, "childNodes": children}

    def snapshot(self) -> list[dict[str, Any]]:
        body: list[dict[str, Any]] = []
        while len(orjson.dumps(body)) < 29_000:
            body.append(self._node(1))
        meta = {"type": 4, "data": {"href": "https://loans.example/apply", "width": 1280, "height": 720}}
        full = {"type": 2, "data": {"node": {"type": 0, "id": 1, "childNodes": body}, "initialOffset": {}}}
        return [{**meta, "timestamp": self.ts}, {**full, "timestamp": self.ts + 3}]

    def incremental(self) -> dict[str, Any]:
        rnd = self.rnd
        self.ts += rnd.randrange(60, 140)
        roll = rnd.random()
        node = rnd.randrange(2, self.next_id)
        if roll < 0.45:
            positions = [{"x": rnd.randrange(1280), "y": rnd.randrange(720), "id": node, "timeOffset": -20}]
            data: dict[str, Any] = {"source": 1, "positions": positions}
        elif roll < 0.65:
            data = {"source": 3, "id": 1, "x": 0, "y": rnd.randrange(3000)}
        elif roll < 0.85:
            data = {"source": 5, "id": node, "text": "*" * rnd.randrange(1, 14), "isChecked": False}
        elif roll < 0.95:
            data = {"source": 2, "type": rnd.choice([0, 1, 2]), "id": node, "x": 400, "y": 300}
        else:  # a DOM mutation: validation message added, old one removed
            adds = [{"parentId": node, "nextId": None, "node": self._node(3)}]
            data = {
                "source": 0,
                "texts": [],
                "attributes": [],
                "removes": [{"parentId": node, "id": node + 1}],
            }
            data["adds"] = adds
        return {"type": 3, "data": data, "timestamp": self.ts}


def synth_events(minutes: float, per_second: float = 10.0, seed: int = 1) -> list[dict[str, Any]]:
    session = Session(seed)
    return session.snapshot() + [session.incremental() for _ in range(int(minutes * 60 * per_second))]


# --- figures -------------------------------------------------------------------------------------


def throughput(events: list[dict[str, Any]]) -> None:
    data_key = crypto.new_data_key()
    aead = AESGCM(data_key)
    raw = os.urandom(256 * 1024)
    nonce = os.urandom(12)
    sealed_raw = aead.encrypt(nonce, raw, b"aad")
    enc = len(raw) / _best(lambda: aead.encrypt(nonce, raw, b"aad"), number=50) / MB
    dec = len(raw) / _best(lambda: aead.decrypt(nonce, sealed_raw, b"aad"), number=50) / MB
    print(f"AES-256-GCM alone, 256 KB buffers:        encrypt {enc:8.0f} MB/s   decrypt {dec:8.0f} MB/s")

    payload = b""
    count = 0
    while len(payload) < 256 * 1024:  # one size-triggered chunk of incremental events
        count += 200
        payload = orjson.dumps(events[2 : 2 + count])
    default = crypto.GZIP_LEVEL
    for level in sorted({1, default, 6, 9}):
        crypto.GZIP_LEVEL = level
        blob = crypto.seal_chunk(data_key, "bench", 0, payload, final=False)
        seal = (
            len(payload) / _best(lambda: crypto.seal_chunk(data_key, "bench", 0, payload, final=False)) / MB
        )
        opened = (
            len(payload) / _best(lambda b=blob: crypto.open_chunk(data_key, "bench", 0, b), number=5) / MB
        )
        label = "(default)" if level == default else ""
        print(
            f"chunk pipeline, gzip-{level} {label:<9} {len(payload) // 1024} KB JSON -> "
            f"{len(blob) // 1024:2d} KB: "
            f"seal {seal:4.0f} MB/s, open {opened:4.0f} MB/s (MB of event JSON)"
        )
    crypto.GZIP_LEVEL = default
    sample = events[2:20_002]
    keyring = parse_keyring([generate_entry("bench")])

    def append_all() -> None:
        writer = RecordingWriter.start("append", keyring=keyring, background=False, chunk_bytes=1 << 30)
        for event in sample:
            writer.append(event)

    per_event = _best(append_all, repeat=3) / len(sample)
    print(f"RecordingWriter.append (serialize + buffer, no storage): {per_event * 1e6:.1f} us per event")


def session_figures(minutes: float, root: Path) -> None:
    keyring = parse_keyring([generate_entry("bench")])
    store = BlobStore(FileSystemStorage(location=root))
    events = synth_events(minutes)
    now = [0.0]
    writer = RecordingWriter.start(
        "bench-session", keyring=keyring, store=store, background=False, clock=lambda: now[0]
    )
    started = time.perf_counter()
    for event in events:
        now[0] = (event["timestamp"] - events[0]["timestamp"]) / 1000
        writer.append(event)
        if writer.flush_due():  # what the background thread does every FLUSH_INTERVAL seconds
            writer.flush()
    summary = writer.close()
    write_time = time.perf_counter() - started
    disk = sum(p.stat().st_blocks * 512 for p in (root / "recordings" / "bench-session").iterdir())
    print(
        f"\n{minutes:g}-minute session: {summary.events} events, {summary.json_bytes / 1e6:.2f} MB of event "
        f"JSON, {summary.chunks} chunks (time flush every {FLUSH_INTERVAL:g} s)"
    )
    per_minute = summary.stored_bytes / minutes / 1e3
    ratio = summary.json_bytes / summary.stored_bytes
    print(
        f"stored: {summary.stored_bytes / 1e3:.0f} KB = {per_minute:.1f} KB per minute "
        f"({ratio:.1f}x below the JSON)"
    )
    print(
        f"  on a file system with 4 KB blocks: {disk / 1e3:.0f} KB = {disk / minutes / 1e3:.1f} KB per minute"
    )
    print(f"writing it (serialize, gzip, encrypt, fsync'd files): {write_time:.2f} s wall in total")

    def reader():
        return open_recording("bench-session", writer.wrapped_key, keyring=keyring, store=store)

    assert len(reader().read(require_complete=True).events) == len(events)
    for label, run in (
        (
            "verify + decrypt to JSON bytes (payloads)",
            lambda: sum(len(c.payload) for c in reader().payloads()),
        ),
        ("verify + decrypt + parse to Python (read)", lambda: len(reader().read().events)),
    ):
        times = []
        for _ in range(7):
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
        median, worst = statistics.median(times) * 1000, max(times) * 1000
        print(f"open {minutes:g} min, {label}: median {median:4.0f} ms, worst {worst:4.0f} ms")

    class SimulatedObjectStore(BlobStore):
        is_local = False

        def get_chunk(self, recording_id: Any, index: int) -> bytes:
            time.sleep(GET_LATENCY)
            return super().get_chunk(recording_id, index)

    remote = SimulatedObjectStore(FileSystemStorage(location=root))
    for prefetch in (0, REMOTE_PREFETCH):
        t0 = time.perf_counter()
        open_recording(
            "bench-session", writer.wrapped_key, keyring=keyring, store=remote, prefetch=prefetch
        ).read()
        elapsed = time.perf_counter() - t0
        print(
            f"open {minutes:g} min from object storage at {GET_LATENCY * 1000:.0f} ms per GET, "
            f"prefetch {prefetch:2d}: {elapsed * 1000:5.0f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, one thread; {os.cpu_count()} CPUs on this machine\n")
    throughput(synth_events(5))
    with tempfile.TemporaryDirectory() as tmp:
        session_figures(args.minutes, Path(tmp))


if __name__ == "__main__":
    main()
