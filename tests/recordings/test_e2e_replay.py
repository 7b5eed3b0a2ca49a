"""The replay page in real Chromium: the rrweb replay, the annotation marker and overlay, tampering."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from recordings.blobstore import BlobStore
from tests.live_server import login
from tests.recordings.rec_helpers import build_recording, recorded_session, recording_env  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("built_bundles"),
]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture
def server(request):
    request.getfixturevalue("recording_env")  # keys and media root are set before the server forks
    return request.getfixturevalue("live_server_asgi")


def test_manager_replays_a_recording_with_its_annotation(server, browser, agent, customer, manager):
    recording = build_recording(recorded_session(agent, customer))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        login(page, server.url, manager.username)
        page.goto(f"{server.url}/manager/recordings/{recording.pk}/")
        page.wait_for_selector("body[data-replay-ready='1']", timeout=15_000)

        frame_el = page.wait_for_selector("#replay-player iframe", state="attached")
        frame = frame_el.content_frame()
        frame.wait_for_selector("#title", state="attached", timeout=5_000)
        assert frame.inner_text("#title") == "Loan application"
        assert page.is_hidden("[data-testid=replay-status]")

        markers = page.locator("[data-testid=annotation-marker]")
        assert markers.count() == 1
        assert "highlighted" in (markers.first.get_attribute("title") or "")
        overlay = page.locator("[data-testid=annotation-overlay]")
        assert overlay.is_hidden()
        markers.first.click()
        overlay.wait_for(state="visible", timeout=3_000)
        assert "Agent highlighted an element" in overlay.inner_text()
        assert page.locator(".replay__nodebox").is_visible()  # drawn over the button it pointed at

        page.select_option("[data-testid=replay-speed]", "4")
        page.click("[data-testid=replay-play]")
        # Locator waits, not wait_for_function: the page's CSP allows no eval, which that needs.
        expect(page.locator("[data-testid=replay-time]")).to_have_text(re.compile(r"^0:09"), timeout=8_000)
        assert overlay.is_hidden()  # the annotation was shown at its time only
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "recording-replay.png"), full_page=True)
        assert not errors, errors
    finally:
        context.close()


def test_tampered_recording_says_so(server, browser, agent, customer, manager):
    recording = build_recording(recorded_session(agent, customer))
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
        # What came before the damage still plays.
        page.wait_for_selector("#replay-player iframe", state="attached", timeout=5_000)
    finally:
        context.close()
