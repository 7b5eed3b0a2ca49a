"""The frames player in real Chromium: a browser-session recording made of Chromium screenshots plays,
seeks to the agent's actions from the timeline and the activity list, and says when it was tampered with."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from recordings import live
from recordings.blobstore import BlobStore
from recordings.models import Recording
from tests.live_server import login
from tests.recordings.rec_helpers import recording_env  # noqa: F401
from tests.recordings.test_frames_replay import Step, browser_session, record_browser_steps

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("built_bundles"),
]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
APPLY = "http://localhost:8001/apply"
COLORS = {"red": (220, 38, 38), "green": (22, 163, 74), "blue": (37, 99, 235)}


@pytest.fixture
def server(request):
    request.getfixturevalue("recording_env")  # keys and media root are set before the server forks
    return request.getfixturevalue("live_server_asgi")


@pytest.fixture
def set_clock(monkeypatch) -> Callable[[Callable[[], int]], None]:
    return lambda clock: monkeypatch.setattr(live, "_now_ms", clock)


@pytest.fixture(scope="module")
def screenshots(browser) -> dict[str, bytes]:
    """One JPEG screenshot per colour of a small page, taken by Chromium as the screencast would."""
    context = browser.new_context(viewport={"width": 320, "height": 200})
    page = context.new_page()
    shots = {}
    try:
        for name, (r, g, b) in COLORS.items():
            page.set_content(
                f"<body style='margin:0;background:rgb({r},{g},{b});color:#fff;font:32px sans-serif'>"
                f"<p style='margin:0;padding:70px 0 0 20px'>{name} step</p></body>"
            )
            shots[name] = page.screenshot(type="jpeg", quality=80)
    finally:
        context.close()
    return shots


def _steps(shots: dict[str, bytes]) -> list[Step]:
    return [
        ("frame", 0, shots["red"]),
        ("frame", 3000, shots["green"]),
        ("action", 3100, {"kind": "click", "target": "point 160,100", "outcome": "ok", "url": APPLY}),
        (
            "action",
            4000,
            {"kind": "type", "target": "password field", "outcome": "never_allowed", "url": APPLY},
        ),
        ("frame", 6000, shots["blue"]),
        ("action", 6200, {"kind": "goto", "target": f"{APPLY}/step-3", "outcome": "ok", "url": APPLY}),
    ]


def _record(session_id: int, steps: list[Step], set_clock: Callable, **kwargs: Any) -> Recording:
    """Record in a thread with its own event loop (Playwright's sync API owns this thread's)."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(record_browser_steps(session_id, steps, set_clock=set_clock, **kwargs))
        except BaseException as exc:  # re-raised in the test
            failure.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert not thread.is_alive() and not failure, failure
    return Recording.objects.get(session_id=session_id)


def _pixel(page) -> tuple[int, int, int]:
    """The colour in the middle of the left edge of the frame on screen, as drawn on a canvas."""
    return tuple(
        page.evaluate(
            """() => {
              const img = document.querySelector('[data-testid=replay-frame]');
              const c = document.createElement('canvas');
              c.width = img.naturalWidth; c.height = img.naturalHeight;
              const ctx = c.getContext('2d');
              ctx.drawImage(img, 0, 0);
              return Array.from(ctx.getImageData(5, 5, 1, 1).data.slice(0, 3));
            }"""
        )
    )


def _close(pixel: tuple[int, int, int], name: str) -> bool:
    return all(abs(a - b) <= 24 for a, b in zip(pixel, COLORS[name], strict=True))


def _wait_frame(page, offset: int) -> None:
    """Wait until the frame recorded ``offset`` ms into the recording is on screen."""
    # Polled with evaluate, not wait_for_function: the page's CSP allows no eval, which that needs.
    check = """(at) => { const img = document.querySelector('[data-testid=replay-frame]');
                return !!(img && img.dataset.frameAt === String(at) && img.complete && img.naturalWidth > 0); }"""
    deadline = time.monotonic() + 5
    while not page.evaluate(check, offset):
        assert time.monotonic() < deadline, f"frame at {offset} ms not shown"
        page.wait_for_timeout(25)


def test_manager_replays_browser_frames_and_seeks_to_actions(
    server, browser, agent, customer, manager, screenshots, set_clock
):
    session = browser_session(agent, customer)
    recording = _record(session.pk, _steps(screenshots), set_clock)
    assert recording.complete and recording.event_count == 6
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        login(page, server.url, manager.username)
        page.goto(f"{server.url}/manager/recordings/{recording.pk}/")
        page.wait_for_selector("body[data-replay-ready='1']", timeout=15_000)
        assert page.is_hidden("[data-testid=replay-status]")
        assert page.is_hidden("[data-testid=recording-open]")
        image = page.locator("[data-testid=replay-frame]")
        assert image.is_visible()
        _wait_frame(page, 0)
        assert _close(_pixel(page), "red")
        assert page.get_attribute("[data-testid=replay-stage]", "data-player") == "frames"
        assert page.inner_text("[data-testid=replay-time]") == "0:00 / 0:06"

        # The actions are on the timeline, in order, and in the activity list (the refusal says so).
        markers = page.locator("[data-testid=action-marker]")
        assert markers.count() == 3
        assert "Agent clicked at 160, 100" in (markers.nth(0).get_attribute("title") or "")
        assert "Agent opened http://localhost:8001/apply/step-3" in (
            markers.nth(2).get_attribute("title") or ""
        )
        steps = page.locator("[data-testid=replay-step]")
        assert steps.count() == 3
        assert steps.nth(0).inner_text() == "0:03 Agent clicked at 160, 100"
        assert steps.nth(1).inner_text() == "0:04 Agent typed into password field (refused: never allowed)"

        # Seeking to the click shows the frame of that moment, and says what the agent did.
        markers.nth(0).click()
        _wait_frame(page, 3000)
        assert _close(_pixel(page), "green")
        overlay = page.locator("[data-testid=annotation-overlay]")
        overlay.wait_for(state="visible", timeout=3_000)
        assert overlay.inner_text() == "Agent clicked at 160, 100"
        assert page.inner_text("[data-testid=replay-time]").startswith("0:03")

        # From the activity list: the navigation, on the last frame.
        steps.nth(2).click()
        _wait_frame(page, 6000)
        assert _close(_pixel(page), "blue")

        # Play from the start at 4x: the frames follow the clock to the end, then the player stops.
        page.locator("#replay-seek").fill("0")
        _wait_frame(page, 0)
        page.select_option("[data-testid=replay-speed]", "4")
        page.click("[data-testid=replay-play]")
        assert page.inner_text("[data-testid=replay-play]") == "Pause"
        _wait_frame(page, 3000)
        _wait_frame(page, 6000)
        expect(page.locator("[data-testid=replay-play]")).to_have_text("Play", timeout=5_000)
        assert page.inner_text("[data-testid=replay-time]") == "0:06 / 0:06"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "recording-frames-replay.png"), full_page=True)
        assert not errors, errors
    finally:
        context.close()


def test_tampered_browser_recording_says_so_and_plays_what_came_before(
    server, browser, agent, customer, manager, screenshots, set_clock
):
    session = browser_session(agent, customer)
    # Chunks: [red], [green, click], [refused type, blue, goto] (+ the final chunk).
    recording = _record(session.pk, _steps(screenshots), set_clock, cut_chunks_at=(1, 3))
    store = BlobStore()
    path = Path(store.storage.path(store.chunk_path(recording.pk, 2)))
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x10
    path.write_bytes(bytes(data))
    context = browser.new_context()
    page = context.new_page()
    try:
        login(page, server.url, manager.username)
        page.goto(f"{server.url}/manager/recordings/{recording.pk}/")
        page.wait_for_selector("[data-testid=replay-status]:not([hidden])", timeout=15_000)
        text = page.inner_text("[data-testid=replay-status]")
        assert "failed verification" in text and "chunk 2" in text
        assert page.get_attribute("body", "data-replay-state") == "tampered"
        page.wait_for_selector("body[data-replay-ready='1']", timeout=5_000)
        _wait_frame(page, 0)
        # The later ones were in the damaged chunk.
        expect(page.locator("[data-testid=action-marker]")).to_have_count(1)
        page.locator("[data-testid=action-marker]").click()
        _wait_frame(page, 3000)
        assert _close(_pixel(page), "green")
    finally:
        context.close()


def test_unfinished_browser_recording_is_flagged(
    server, browser, agent, customer, manager, screenshots, set_clock
):
    session = browser_session(agent, customer)
    # The browser went away while the session goes on: capture is suspended, no final chunk yet.
    recording = _record(session.pk, _steps(screenshots)[:2], set_clock, reason="disconnect")
    assert not recording.complete and recording.ended_at is None
    context = browser.new_context()
    page = context.new_page()
    try:
        login(page, server.url, manager.username)
        page.goto(f"{server.url}/manager/recordings/{recording.pk}/")
        page.wait_for_selector("body[data-replay-ready='1']", timeout=15_000)
        assert page.is_visible("[data-testid=recording-open]")
        assert page.get_attribute("body", "data-replay-state") == "in_progress"
        _wait_frame(page, 0)
        assert page.locator("[data-testid=action-marker]").count() == 0
    finally:
        context.close()
