"""Recording a server-side browser session: with recording consent the runner stores the frames it
sent (at most two a second) and one event per action (kind, target, outcome; never typed text);
without consent nothing is recorded."""

from __future__ import annotations

import asyncio
import contextlib
import itertools

import orjson
import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from browser import services
from browser.worker import BrowserHost, BrowserSessionRunner
from consent import services as consent_services
from recordings import selectors as recording_selectors
from recordings.models import Recording
from tests.browser.conftest import SiteServer
from tests.browser.test_worker import Viewer
from tests.factories import make_account, make_ticket, make_user
from tests.recordings.rec_helpers import recording_env  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(120),
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("recording_env"),
]

PAGE = b"""<!doctype html><title>Rec</title><body style="font:24px sans-serif">
<h1 id="h">Hello</h1><input id="name"><input id="pw" type="password">
<button id="go" type="button" onclick="document.getElementById('h').textContent='Clicked'">Go</button>
</body>"""


@pytest.fixture
async def site(settings):
    server = await SiteServer("127.0.0.1", lambda *a: (200, {"Content-Type": "text/html"}, PAGE)).start()
    settings.BROWSER_EGRESS_ALLOW_HOSTS = [f"127.0.0.1:{server.port}"]
    yield server
    await server.close()


def _session(origin: str, *, recording: bool):
    account = make_account("Rec Co", allowed_origins=[origin], site_url=origin + "/")
    customer = make_user("rec-customer", role="customer", account=account)
    agent = make_user("rec-agent", role="agent", agent_level="L2")
    started = services.start_browser_session(
        make_ticket(customer), agent=agent, start_url=origin + "/", channel="copy"
    )
    invite = consent_services.claim_invite(started.join_url.rstrip("/").split("/")[-1])
    return consent_services.grant_consent(invite, mode="controlled", recording=recording).session


async def _run_and_act(session_id: int) -> None:
    layer = get_channel_layer()
    async with BrowserHost() as host, Viewer(layer, session_id) as viewer:
        runner = BrowserSessionRunner(session_id, host)
        task = asyncio.create_task(runner.run())
        try:
            await viewer.wait_frames(1, timeout=20)
            for action in (
                {"kind": "type", "selector": "#name", "text": "Asha Secret"},
                {"kind": "click", "selector": "#go"},
                {"kind": "type", "selector": "#pw", "text": "hunter2"},  # refused: never performed
            ):
                await services.arequest(session_id, "action", action, timeout=15)
            await asyncio.sleep(1.2)  # the page changed: more frames, the recorder keeps ≤ 2/s
        finally:
            runner.stop(None, "test_done")
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 30)


def _stored(session_id: int) -> list[dict]:
    recording = Recording.objects.get(session_id=session_id)
    body = orjson.loads(b"".join(recording_selectors.replay_stream(recording)))
    return [event for chunk in body["chunks"] for event in chunk]


async def test_a_recorded_browser_session_keeps_frames_and_actions(site):
    session = await sync_to_async(_session)(site.origin, recording=True)
    await _run_and_act(session.pk)
    recording = await sync_to_async(Recording.objects.get)(session_id=session.pk)
    assert recording.complete
    events = await sync_to_async(_stored)(session.pk)
    frames = [e for e in events if e["type"] == "frame"]
    actions = [e["data"] for e in events if e["type"] == "action"]
    assert frames and frames[0]["data"]["jpeg"].startswith("/9j/")  # base64 of a JPEG
    at = [f["at"] for f in frames]
    assert all(b - a >= 500 for a, b in itertools.pairwise(at))
    assert [(a["kind"], a["outcome"]) for a in actions] == [
        ("type", "ok"),
        ("click", "ok"),
        ("type", "never_allowed"),
    ]
    assert actions[0]["target"] == "#name" and actions[2]["target"] == "password field"
    text = orjson.dumps(events).decode()
    assert "Asha Secret" not in text and "hunter2" not in text


async def test_no_recording_without_consent(site):
    session = await sync_to_async(_session)(site.origin, recording=False)
    await _run_and_act(session.pk)
    assert not await sync_to_async(Recording.objects.filter(session_id=session.pk).exists)()
