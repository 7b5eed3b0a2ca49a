"""Opening time of a long browser-session recording, before and after the ranged replay.

Not part of the suite (``python_files`` is ``test_*.py``); run it on its own, figures only, no
timing assertions:

    env DATABASE_URL=... REDIS_URL=... .venv/bin/pytest tests/recordings/bench_replay_open.py -s -q

It writes a synthetic 45-minute recording at two frames a second (~50 KB JPEG frames, as the
screencast stores them), then opens its replay page in Chromium at 1280x720 and measures, from
navigation start, the moment the first frame is decoded on screen. "Before" serves the replay bundle
built from ``REPLAY_BEFORE_REV`` (default: the commit before the ranged replay), which streamed the
whole recording first; "after" is the working tree's bundle, cold (no cached index) and warm.
"""

from __future__ import annotations

import base64
import os
import random
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from django.core.cache import cache
from django.utils import timezone

from recordings import selectors, services
from recordings.capture import RecordingWriter
from tests.live_server import login
from tests.recordings.rec_helpers import recording_env  # noqa: F401
from tests.recordings.test_frames_replay import browser_session

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("built_bundles"),
]

ROOT = Path(__file__).resolve().parents[2]
BEFORE_REV = os.environ.get("REPLAY_BEFORE_REV", "088b94e")
MINUTES = float(os.environ.get("REPLAY_BENCH_MINUTES", "45"))
RUNS = int(os.environ.get("REPLAY_BENCH_RUNS", "3"))
FRAME_BYTES = 50_000
PAINTED = """() => { const i = document.querySelector('[data-testid=replay-frame]');
  return !!(i && i.complete && i.naturalWidth > 0) && performance.now(); }"""


@pytest.fixture
def server(request):
    request.getfixturevalue("recording_env")
    return request.getfixturevalue("live_server_asgi")


def _old_bundle(tmp: Path) -> tuple[bytes, bytes]:
    archive = subprocess.run(
        ["git", "archive", BEFORE_REV, "frontend/replay"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
    (tmp / "node_modules").symlink_to(ROOT / "node_modules")
    script = (
        "require('esbuild').build({entryPoints:['frontend/replay/replay.js'],bundle:true,"
        "outfile:'out/tandem-replay.js',format:'iife',target:'es2018',minify:true})"
    )
    subprocess.run(["node", "-e", script], cwd=tmp, check=True, timeout=120)
    return (tmp / "out/tandem-replay.js").read_bytes(), (tmp / "out/tandem-replay.css").read_bytes()


def _frame(browser) -> bytes:
    """A real 1280x720 JPEG padded after its end marker with random bytes to ~50 KB (decodes as is)."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_content(
        "<body style='font:16px sans-serif;margin:40px'><h1>Loan application</h1>"
        + "<p><label>Field</label> <input value='example'></p>" * 12
        + "</body>"
    )
    shot = page.screenshot(type="jpeg", quality=50)
    context.close()
    assert len(shot) < FRAME_BYTES, len(shot)
    return shot + random.Random(1).randbytes(FRAME_BYTES - len(shot))


def _write(session, jpeg: bytes):
    target = services.begin_capture(session.pk)
    recording = target.recording
    writer = RecordingWriter(recording.pk, target.data_key, bytes(recording.wrapped_key), background=False)
    start = int(recording.started_at.timestamp() * 1000)
    frames = int(MINUTES * 60 * 2)
    rnd = random.Random(2)
    for i in range(frames):
        # Vary a few bytes per frame so that no two frames are the same.
        data = jpeg[:-8] + rnd.randbytes(8)
        at = start + i * 500
        writer.append(
            {
                "type": "frame",
                "seq": None,
                "ts": at,
                "at": at,
                "data": {"jpeg": base64.b64encode(data).decode()},
            }
        )
        if writer.flush_due():
            writer.flush()
    summary = writer.close()
    return services.record_progress(
        recording.pk,
        chunks=summary.chunks,
        stored_bytes=summary.stored_bytes,
        events=summary.events,
        last_event_at=timezone.now(),
        final=True,
    ), summary


def _open(browser, server, manager, url: str, old: tuple[bytes, bytes] | None) -> tuple[float, int]:
    context = browser.new_context(viewport={"width": 1280, "height": 720}, bypass_csp=True)
    page = context.new_page()
    received = [0]
    page.on(
        "response", lambda r: received.__setitem__(0, received[0] + int(r.headers.get("content-length") or 0))
    )
    try:
        login(page, server.url, manager.username)
        if old is not None:
            page.route(
                "**/static/dist/tandem-replay.js",
                lambda r: r.fulfill(body=old[0], content_type="text/javascript"),
            )
            page.route(
                "**/static/dist/tandem-replay.css", lambda r: r.fulfill(body=old[1], content_type="text/css")
            )
        page.goto(url, wait_until="commit")
        painted = page.wait_for_function(PAINTED, polling="raf", timeout=180_000).json_value()
        return float(painted), received[0]
    finally:
        context.close()


def test_bench_replay_open(server, browser, agent, customer, manager):
    with tempfile.TemporaryDirectory() as tmp:
        old = _old_bundle(Path(tmp))
    session = browser_session(agent, customer)
    started = time.perf_counter()
    recording, summary = _write(session, _frame(browser))
    print(
        f"\n{MINUTES:g}-minute recording, 2 fps: {summary.events} frames, {summary.json_bytes / 1e6:.0f} MB of "
        f"event JSON, {summary.stored_bytes / 1e6:.0f} MB stored in {summary.chunks} chunks "
        f"(written in {time.perf_counter() - started:.1f} s)"
    )
    for label, run in (
        (
            "server: whole stream, verified and decrypted",
            lambda: sum(map(len, selectors.replay_stream(recording))),
        ),
        (
            "server: index, cold",
            lambda: (cache.delete(selectors._index_cache_key(recording)), selectors.chunk_index(recording)),
        ),
        ("server: index, warm", lambda: selectors.chunk_index(recording)),
        ("server: one chunk", lambda: selectors.replay_chunk(recording, 700)),
    ):
        times = []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            run()
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        print(f"{label}: median {times[len(times) // 2]:.0f} ms, runs {[round(t) for t in times]}")
    url = f"{server.url}/manager/recordings/{recording.pk}/"
    results: dict[str, list[float]] = {
        "before (whole stream)": [],
        "after, cold index": [],
        "after, warm index": [],
    }
    for _ in range(RUNS):
        ms, _ = _open(browser, server, manager, url, old)
        results["before (whole stream)"].append(ms)
        cache.delete(selectors._index_cache_key(recording))
        ms, _ = _open(browser, server, manager, url, None)
        results["after, cold index"].append(ms)
        ms, _ = _open(browser, server, manager, url, None)
        results["after, warm index"].append(ms)
    for label, times in results.items():
        times.sort()
        print(
            f"first frame painted, {label}: median {times[len(times) // 2]:.0f} ms, runs {[round(t) for t in times]}"
        )
