"""The replay in Chromium at 1280x720: the replayed page is scaled to fit with the controls on screen,
and a long browser-session recording opens from its index, fetching only the chunks it plays."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect

from recordings import live
from tests.live_server import login
from tests.recordings.rec_helpers import build_recording, envelopes, recorded_session, recording_env  # noqa: F401
from tests.recordings.test_e2e_frames_replay import _record, _wait_frame
from tests.recordings.test_frames_replay import TINY_JPEG, browser_session

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("built_bundles"),
]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
VIEWPORT = {"width": 1280, "height": 720}


def _wait_until(page, expression: str, timeout_s: float = 5.0) -> None:
    """Poll ``expression`` from outside the page: ``wait_for_function`` evaluates it inside, where the
    replay page's Content-Security-Policy (no 'unsafe-eval') refuses it once it has to poll."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout_s} s: {expression}"
        page.wait_for_timeout(50)


@pytest.fixture
def server(request):
    request.getfixturevalue("recording_env")  # keys and media root are set before the server forks
    return request.getfixturevalue("live_server_asgi")


@pytest.fixture
def set_clock(monkeypatch) -> Callable[[Callable[[], int]], None]:
    return lambda clock: monkeypatch.setattr(live, "_now_ms", clock)


def _boxes(page, content: str) -> dict:
    return page.evaluate(
        """(sel) => {
          const r = (el) => { const b = el.getBoundingClientRect();
            return {left: b.left, top: b.top, right: b.right, bottom: b.bottom, width: b.width, height: b.height}; };
          return {content: r(document.querySelector(sel)),
                  stage: r(document.querySelector('[data-testid=replay-stage]')),
                  controls: r(document.querySelector('.replay__controls')),
                  play: r(document.querySelector('[data-testid=replay-play]')),
                  seek: r(document.querySelector('#replay-seek'))};
        }""",
        content,
    )


def _assert_fits(boxes: dict) -> None:
    content, stage, controls = boxes["content"], boxes["stage"], boxes["controls"]
    assert controls["bottom"] <= VIEWPORT["height"], boxes  # the controls are on screen, unscrolled
    assert boxes["play"]["bottom"] <= VIEWPORT["height"] and boxes["seek"]["bottom"] <= VIEWPORT["height"]
    assert content["width"] > 100 and content["height"] > 60, boxes
    assert content["left"] >= stage["left"] - 0.5 and content["right"] <= stage["right"] + 0.5, boxes
    assert content["bottom"] <= controls["top"] + 0.5, boxes


def test_dom_replay_is_scaled_to_fit_with_the_controls_in_view(server, browser, agent, customer, manager):
    items = envelopes()
    meta = items[0]["data"]["events"][0]
    meta["data"] = {**meta["data"], "width": 1920, "height": 1080}  # larger than the window
    recording = build_recording(recorded_session(agent, customer), items)
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        login(page, server.url, manager.username)
        page.goto(f"{server.url}/manager/recordings/{recording.pk}/")
        page.wait_for_selector("body[data-replay-ready='1']", timeout=15_000)
        boxes = _boxes(page, "#replay-player iframe")
        _assert_fits(boxes)
        # Scaled by the same factor both ways: the recorded 16:9 viewport keeps its shape.
        assert abs(boxes["content"]["width"] / boxes["content"]["height"] - 1920 / 1080) < 0.02
        assert boxes["content"]["width"] < 1920 * 0.6
        # A narrower window re-fits it.
        page.set_viewport_size({"width": 900, "height": 720})
        expect(page.locator("#replay-player")).to_have_css("width", re.compile(r"^[1-8]\d{2}(\.\d+)?px$"))
        # The re-fit runs from ResizeObserver callbacks; under load a check can land between two.
        _wait_until(
            page, "document.querySelector('.replay__controls').getBoundingClientRect().bottom <= innerHeight"
        )
        _assert_fits(_boxes(page, "#replay-player iframe"))
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "recording-replay-fit.png"))
    finally:
        context.close()


@pytest.fixture(scope="module")
def large_shot(browser) -> bytes:
    """A 1600x1000 Chromium screenshot: larger than the room a 1280x720 window leaves for it."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    try:
        page.set_content("<body style='margin:0;background:rgb(37,99,235)'></body>")
        return page.screenshot(type="jpeg", quality=30)
    finally:
        context.close()


def test_long_browser_recording_opens_from_its_index_and_fetches_chunks_on_demand(
    server, browser, agent, customer, manager, large_shot, set_clock
):
    # 45 minutes at two frames a second, a chunk cut every 30 s as the flush timer would cut them.
    frames = 45 * 60 * 2
    steps = [("frame", i * 500, large_shot if i < 4 else TINY_JPEG) for i in range(frames)]
    steps.insert(
        3601, ("action", 1_800_100, {"kind": "click", "target": "point 4,4", "outcome": "ok", "url": ""})
    )
    session = browser_session(agent, customer)
    recording = _record(session.pk, steps, set_clock, cut_chunks_at=tuple(range(60, len(steps), 60)))
    assert recording.complete and recording.chunk_count >= 90
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    chunk_requests: list[int] = []
    page.on(
        "request",
        lambda req: (
            chunk_requests.append(int(req.url.split("/chunks/")[1].split("/")[0]))
            if "/chunks/" in req.url
            else None
        ),
    )
    try:
        login(page, server.url, manager.username)
        page.goto(f"{server.url}/manager/recordings/{recording.pk}/")
        page.wait_for_selector("body[data-replay-ready='1']", timeout=15_000)
        _wait_frame(page, 0)
        assert (
            page.inner_text("[data-testid=replay-time]") == "0:00 / 44:59"
        )  # the last frame, 5,399 x 500 ms
        _assert_fits(_boxes(page, "[data-testid=replay-frame]"))
        # Only the first chunk and a few ahead of the playhead, not the 90+ of the recording.
        assert 0 in chunk_requests and max(chunk_requests) <= 3 and len(set(chunk_requests)) <= 4

        # A seek to 30:00 fetches the chunk it lands in (and the next few), shows that frame and
        # the agent's click recorded there.
        before = len(chunk_requests)
        page.locator("#replay-seek").fill("1800000")
        _wait_frame(page, 1_800_000)
        fetched = set(chunk_requests[before:])
        assert 60 in fetched and len(fetched) <= 4, fetched
        expect(page.locator("[data-testid=action-marker]")).to_have_count(1)
        assert page.inner_text("[data-testid=replay-time]").startswith("30:00")
    finally:
        context.close()


def test_customer_copy_replays_from_its_own_index_and_chunks(server, browser, agent, customer, manager):
    from recordings import services

    recording = build_recording(recorded_session(agent, customer))
    req = services.request_access(recording, customer=customer)
    link = services.decide_access_request(req.pk, manager=manager, approve=True).link
    path = "/portal/recordings/copy/" + link.rsplit("/copy/", 1)[1]
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url.split("?")[0]) if "/copy/" in r.url else None)
    try:
        login(page, server.url, customer.username)
        page.goto(f"{server.url}{path}")
        page.wait_for_selector("body[data-replay-ready='1']", timeout=15_000)
        frame = page.wait_for_selector("#replay-player iframe", state="attached").content_frame()
        frame.wait_for_selector("#title", state="attached", timeout=5_000)
        assert any(u.endswith("/index/") for u in fetched)
        assert sum("/chunks/" in u for u in fetched) == 5 and not any(u.endswith("/events/") for u in fetched)
        _assert_fits(_boxes(page, "#replay-player iframe"))
    finally:
        context.close()
