"""The session runner in-process against a page on 127.0.0.1 (allow-listed by address and port):
frames flow, a still page sends nothing, identical repaints are skipped, actions change the frame,
a refused URL never reaches the browser, a lost browser recovers, a cancelled runner ends cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from browser import selectors, services
from browser.worker import BrowserHost, BrowserSessionRunner, NoCapacity
from cobrowse.groups import browser_viewers_group
from cobrowse.models import CoBrowseSession, SessionState
from consent import services as consent_services
from tests.browser.conftest import SiteServer
from tests.factories import make_account, make_ticket, make_user

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

PAGE = b"""<!doctype html><html><head><title>Runner test</title></head>
<body style="margin:0;font:24px sans-serif">
<h1 id="h">Hello</h1>
<input id="name" style="font-size:32px">
<button id="go" onclick="document.getElementById('h').textContent =
  'Clicked ' + document.getElementById('name').value">Go</button>
<div style="position:relative;width:60px;height:60px">
  <div id="hidden" style="position:absolute;inset:10px;background:red;will-change:transform"></div>
  <div style="position:absolute;inset:0;background:white;z-index:2"></div>
</div>
<script>
if (location.search.includes("repaint")) {
  setInterval(() => { const b = document.getElementById("hidden");
    b.style.transform = b.style.transform ? "" : "translateX(1px)"; }, 30);
}
</script></body></html>"""


def _site(method, path, headers, body):
    return 200, {"Content-Type": "text/html; charset=utf-8"}, PAGE


@pytest.fixture
async def site():
    server = await SiteServer("127.0.0.1", _site).start()
    yield server
    await server.close()


def _consented_browser_session(origin: str) -> CoBrowseSession:
    account = make_account("Runner Co", allowed_origins=[origin], site_url=origin + "/")
    customer = make_user("rc-customer", role="customer", account=account)
    agent = make_user("rc-agent", role="agent", agent_level="L2")
    ticket = make_ticket(customer)
    started = services.start_browser_session(ticket, agent=agent, start_url=origin + "/", channel="copy")
    invite = consent_services.claim_invite(started.join_url.rstrip("/").split("/")[-1])
    outcome = consent_services.grant_consent(invite, mode="controlled", recording=False)
    return outcome.session


class Viewer:
    """A fake viewer channel in the session's viewer group, collecting frames and statuses."""

    def __init__(self, layer, session_id: int):
        self.layer, self.session_id = layer, session_id
        self.frames: list[dict] = []
        self.statuses: list[dict] = []

    async def __aenter__(self):
        self.channel = await self.layer.new_channel("test-viewer.")
        await self.layer.group_add(browser_viewers_group(self.session_id), self.channel)
        self.task = asyncio.create_task(self._loop())
        return self

    async def __aexit__(self, *exc):
        self.task.cancel()
        await self.layer.group_discard(browser_viewers_group(self.session_id), self.channel)

    async def _loop(self):
        while True:
            message = await self.layer.receive(self.channel)
            if message["type"] == "browser.frame":
                self.frames.append(message)
            elif message["type"] == "browser.status":
                self.statuses.append(message)

    async def wait_frames(self, count: int, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.frames) < count:
                await asyncio.sleep(0.05)

    async def wait_status(self, predicate, timeout: float = 20.0) -> dict:
        async with asyncio.timeout(timeout):
            while True:
                for status in self.statuses:
                    if predicate(status):
                        return status
                await asyncio.sleep(0.05)


async def _state(session_id: int) -> CoBrowseSession:
    return await sync_to_async(CoBrowseSession.objects.get)(pk=session_id)


async def _wait_state(session_id: int, states: set[str], timeout: float = 20.0) -> CoBrowseSession:
    async with asyncio.timeout(timeout):
        while True:
            session = await _state(session_id)
            if session.state in states:
                return session
            await asyncio.sleep(0.1)


@pytest.fixture
def allow_site(settings, site):
    settings.BROWSER_EGRESS_ALLOW_HOSTS = [f"127.0.0.1:{site.port}"]
    return site


@pytest.mark.django_db(transaction=True)
async def test_runner_streams_skips_and_acts(allow_site):
    site = allow_site
    session = await sync_to_async(_consented_browser_session)(site.origin)
    layer = get_channel_layer()
    async with BrowserHost() as host, Viewer(layer, session.pk) as viewer:
        runner = BrowserSessionRunner(session.pk, host)
        task = asyncio.create_task(runner.run())
        try:
            await viewer.wait_frames(1)
            assert viewer.frames[0]["data"][:2] == b"\xff\xd8"  # JPEG
            assert (await _state(session.pk)).state == SessionState.ACTIVE
            first_frame_s = runner.first_frame_at - runner.started_at
            assert first_frame_s < 5

            # A still page: nothing more is sent.
            await asyncio.sleep(1.0)
            settled = len(viewer.frames)
            await asyncio.sleep(1.5)
            assert len(viewer.frames) - settled <= 1

            # Repaints that change no pixel reach the policy and are skipped as unchanged.
            reply = await services.arequest(
                session.pk, "action", {"kind": "goto", "url": site.origin + "/?repaint"}, timeout=15
            )
            assert reply.ok, reply.error
            await asyncio.sleep(1.5)
            before = (len(viewer.frames), runner.policy.skipped_unchanged)
            await asyncio.sleep(1.5)
            assert runner.policy.skipped_unchanged - before[1] >= 5
            assert len(viewer.frames) - before[0] <= 1

            # Type and click through the request channel; the frame changes.
            last = viewer.frames[-1]["data"]
            reply = await services.arequest(
                session.pk,
                "action",
                {"kind": "type", "selector": "#name", "text": "Asha", "clear": True},
                timeout=15,
            )
            assert reply.ok, reply.error
            reply = await services.arequest(
                session.pk, "action", {"kind": "click", "selector": "#go", "screenshot": True}, timeout=15
            )
            assert reply.ok and reply.blob[:8] == b"\x89PNG\r\n\x1a\n"
            assert reply.result["title"] == "Runner test"
            await asyncio.sleep(0.5)
            assert viewer.frames[-1]["data"] != last
            dom = await services.arequest(session.pk, "dom", {"selectors": []}, timeout=15)
            assert "Clicked Asha" in dom.result["text"]
            assert dom.result["inputs"][0]["value"] == "Asha"

            # file: and javascript: never reach the browser.
            for bad in ("file:///etc/passwd", "javascript:alert(1)", "http://169.254.169.254/"):
                reply = await services.arequest(
                    session.pk, "action", {"kind": "goto", "url": bad}, timeout=15
                )
                assert not reply.ok and reply.error["code"] == "url_refused"
            assert runner.page.url.startswith(site.origin)

            # A page that asks for an internal host: the proxy refuses, the viewer is told.
            await runner.page.evaluate("fetch('http://127.0.0.2:8088/x').catch(() => {})")
            await viewer.wait_status(lambda s: (s.get("blocked") or {}).get("host") == "127.0.0.2")
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    ended = await _state(session.pk)
    assert ended.state == SessionState.ENDED and ended.end_reason == services.BROWSER_LOST


@pytest.mark.django_db(transaction=True)
async def test_a_quality_change_restarts_the_screencast_with_one_fresh_frame(allow_site, settings):
    """The byte budget comes from the setting; a new JPEG quality restarts the screencast, and a
    still page then gets its current picture once, at the new quality: not lost, not twice."""
    settings.BROWSER_SCREENCAST_MAX_BYTES_PER_SECOND = 123_456
    site = allow_site
    session = await sync_to_async(_consented_browser_session)(site.origin)
    layer = get_channel_layer()
    async with BrowserHost() as host, Viewer(layer, session.pk) as viewer:
        runner = BrowserSessionRunner(session.pk, host)
        assert runner.policy.max_bytes_per_second == 123_456
        task = asyncio.create_task(runner.run())
        try:
            await viewer.wait_frames(1)
            await asyncio.sleep(1.5)  # the page is still now
            before = len(viewer.frames)
            q60 = viewer.frames[-1]["data"]
            runner.policy.quality_rung = 2
            assert runner.policy.level.quality == 40
            await runner._apply_level(runner.policy.level)
            assert runner.screencast.level.quality == 40
            await viewer.wait_frames(before + 1)
            await asyncio.sleep(1.5)
            assert len(viewer.frames) == before + 1
            fresh = viewer.frames[-1]
            assert fresh["level"] == "high" and (fresh["width"], fresh["height"]) == (1280, 720)
            assert fresh["data"][:2] == b"\xff\xd8" and len(fresh["data"]) < len(q60)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@pytest.mark.django_db(transaction=True)
async def test_browser_crash_recovers_on_the_last_url(allow_site):
    site = allow_site
    session = await sync_to_async(_consented_browser_session)(site.origin)
    layer = get_channel_layer()
    async with BrowserHost() as host, Viewer(layer, session.pk) as viewer:
        runner = BrowserSessionRunner(session.pk, host)
        task = asyncio.create_task(runner.run())
        try:
            await viewer.wait_frames(1)
            await services.arequest(
                session.pk, "action", {"kind": "goto", "url": site.origin + "/second"}, timeout=15
            )
            old_browser = host.browser
            await old_browser.close()  # the whole Chromium goes away
            await viewer.wait_status(lambda s: s.get("browser") == "reconnecting")
            await viewer.wait_status(lambda s: s.get("browser") == "live" and viewer.statuses.index(s) > 0)
            await _wait_state(session.pk, {SessionState.ACTIVE})
            assert host.browser is not old_browser and host.browser.is_connected()
            assert runner.page.url == site.origin + "/second"
            count = len(viewer.frames)
            await runner.page.evaluate("document.getElementById('h').textContent = 'after'")
            await viewer.wait_frames(count + 1)
            assert runner.recoveries == 1
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@pytest.mark.django_db(transaction=True)
async def test_session_end_stops_the_runner_and_idle_times_out(allow_site):
    site = allow_site
    session = await sync_to_async(_consented_browser_session)(site.origin)
    async with BrowserHost() as host:
        runner = BrowserSessionRunner(session.pk, host)
        runner.config = type(runner.config)(**{**runner.config.__dict__, "idle_timeout": 2.0})
        started = time.monotonic()
        reason = await asyncio.wait_for(runner.run(), 30)
        assert reason == "inactivity" and time.monotonic() - started < 15
        assert not host.contexts
    ended = await _state(session.pk)
    assert ended.state == SessionState.TIMED_OUT and ended.end_reason == "inactivity"


@pytest.mark.django_db(transaction=True)
async def test_no_capacity_is_reported_not_raised(allow_site):
    site = allow_site
    session = await sync_to_async(_consented_browser_session)(site.origin)
    async with BrowserHost(max_contexts=1) as host:
        await host.new_context(viewport={"width": 800, "height": 600})
        with pytest.raises(NoCapacity):
            host.admit()
        runner = BrowserSessionRunner(session.pk, host)
        assert await asyncio.wait_for(runner.run(), 30) == "no_capacity"
    state = await sync_to_async(selectors.runtime_state)(session.pk)
    assert state["browser"] == "no_capacity" and "capacity" in state["error"]
    assert (await _state(session.pk)).state == SessionState.CONSENTED
