"""Recordings of server-side browser sessions: frames and actions captured through the relay API
(``open_recorder`` / ``append_frame`` / ``append``), stored, streamed and offered to the frames player."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any

import orjson
import pytest
from channels.db import database_sync_to_async
from django.test import Client

from consent import services as consent_services
from recordings import live, selectors
from recordings.models import Recording, RecordingKind
from tests.consent.helpers import start
from tests.factories import make_ticket
from tests.recordings.rec_helpers import recording_env  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("recording_env")]

# An 8x8 grey JPEG: a Chromium screenshot (``page.screenshot(type="jpeg")``) without its JFIF and ICC
# segments; Chromium decodes it to an 8x8 image.
TINY_JPEG = base64.b64decode(
    "/9j/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2P/"
    "2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAAR"
    "CAAIAAgDASIAAhEBAxEB/8QAFAABAAAAAAAAAAAAAAAAAAAAAP/EABQQAQAAAAAAAAAAAAAAAAAAAAD/xAAUAQEAAAAAAAAA"
    "AAAAAAAAAAAA/8QAFBEBAAAAAAAAAAAAAAAAAAAAAP/aAAwDAQACEQMRAD8AAA//2Q=="
)

#: A step of a recorded browser session: ("frame", offset ms, jpeg bytes) or ("action", offset ms, data).
Step = tuple[str, int, Any]


def browser_session(agent: Any, customer: Any) -> Any:
    """A server-side browser session the customer consented to, recording included."""
    ticket = make_ticket(customer)
    _session, raw = start(ticket, agent, kind="browser")
    invite = consent_services.claim_invite(raw)
    return consent_services.grant_consent(invite, mode="controlled", recording=True).session


async def record_browser_steps(
    session_id: int,
    steps: Sequence[Step],
    *,
    set_clock: Callable[[Callable[[], int]], None],
    cut_chunks_at: Sequence[int] = (),
    reason: str = "ended",
) -> None:
    """Record ``steps`` as the relay would, on a fake clock (``set_clock`` installs it as
    ``recordings.live._now_ms``) so that the frames are spread over time without waiting."""
    now = [0]
    set_clock(lambda: now[0])
    recorder = await live.open_recorder(session_id)
    assert recorder is not None
    base = live.time.time_ns() // 1_000_000
    for index, (kind, offset, payload) in enumerate(steps):
        if index in cut_chunks_at:
            await recorder._writer.aflush()  # a chunk boundary, as the flush timer would cut one
        now[0] = base + offset
        if kind == "frame":
            recorder.append_frame(payload, now[0])
        else:
            recorder.append({"type": kind, "seq": None, "ts": now[0], "data": payload})
    await recorder.stop(reason)


@pytest.fixture
def set_clock(monkeypatch) -> Callable[[Callable[[], int]], None]:
    return lambda clock: monkeypatch.setattr(live, "_now_ms", clock)


def _stream(recording: Recording) -> dict:
    return orjson.loads(b"".join(selectors.replay_stream(recording)))


STEPS: list[Step] = [
    ("frame", 0, TINY_JPEG),
    ("frame", 200, TINY_JPEG),  # within 500 ms of the previous frame: dropped
    ("frame", 1000, TINY_JPEG),
    # Actions as the browser worker records them: kind, target, outcome, page (never typed text).
    ("action", 1100, {"kind": "click", "target": "#go", "outcome": "ok", "url": "http://localhost:8001/"}),
    ("frame", 2000, TINY_JPEG),
    ("action", 2100, {"kind": "type", "target": "password field", "outcome": "never_allowed", "url": ""}),
]


async def test_frames_and_actions_are_stored_in_order(agent, customer, set_clock):
    session = await database_sync_to_async(browser_session)(agent, customer)
    await record_browser_steps(session.pk, STEPS, set_clock=set_clock)

    recording = await database_sync_to_async(Recording.objects.select_related("session").get)(session=session)
    assert recording.kind == RecordingKind.BROWSER
    assert recording.complete and recording.event_count == 5
    body = await database_sync_to_async(_stream)(recording)
    assert body["status"]["state"] == "complete"
    stored = [event for chunk in body["chunks"] for event in chunk]
    assert [event["type"] for event in stored] == ["frame", "frame", "action", "frame", "action"]
    frames = [event for event in stored if event["type"] == "frame"]
    assert all(base64.b64decode(f["data"]["jpeg"]) == TINY_JPEG for f in frames)
    offsets = [event["at"] - stored[0]["at"] for event in stored]
    assert offsets == [0, 1000, 1100, 2000, 2100]  # the player's clock
    assert stored[2]["data"]["target"] == "#go" and stored[4]["data"]["outcome"] == "never_allowed"


async def test_replay_page_hands_the_frames_player_its_kind(agent, customer, manager, set_clock):
    session = await database_sync_to_async(browser_session)(agent, customer)
    await record_browser_steps(session.pk, STEPS, set_clock=set_clock)
    recording = await database_sync_to_async(Recording.objects.get)(session=session)

    def fetch() -> tuple[Any, Any]:
        client = Client()
        client.force_login(manager)
        page = client.get(f"/manager/recordings/{recording.pk}/")
        events = client.get(f"/manager/recordings/{recording.pk}/events/")
        return page, events

    page, events = await database_sync_to_async(fetch)()
    assert page.status_code == 200
    assert page.context["config"]["kind"] == "browser"
    html = page.content.decode()
    config = json.loads(
        html.split('id="replay-config" type="application/json">', 1)[1].split("</script>", 1)[0]
    )
    assert config["kind"] == "browser" and config["recording"] == recording.pk
    assert events.status_code == 200 and events["Cache-Control"] == "no-store"
    body = orjson.loads(b"".join(events.streaming_content))
    assert sum(1 for chunk in body["chunks"] for e in chunk if e["type"] == "frame") == 3


async def test_dom_recordings_keep_their_kind(agent, customer, manager):
    from tests.recordings.rec_helpers import build_recording, recorded_session

    def make() -> Any:
        recording = build_recording(recorded_session(agent, customer))
        client = Client()
        client.force_login(manager)
        return client.get(f"/manager/recordings/{recording.pk}/")

    page = await database_sync_to_async(make)()
    assert page.context["config"]["kind"] == "dom"
