"""End to end: the agent starts a browser session on the demo site through the API, the customer's
viewer (real Chromium, by the grant) shows the frames, the agent types through the API and the
customer's canvas changes; the browser dies and comes back on the same page; the runner is then
killed and the session ends with a reason while the viewer is told — nothing hangs.

The runner runs in the test process (as it would in the Celery worker) and talks to the forked
server only through Redis, exactly as in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from playwright.async_api import async_playwright

from browser import services
from browser.worker import BrowserHost, BrowserSessionRunner
from cobrowse.models import CoBrowseSession, SessionState
from consent import services as consent_services
from demo_site.server import make_server, serve_in_thread
from tests.consent.helpers import confirm_on_device
from tests.factories import make_account, make_ticket, make_user
from tests.live_server import CHROMIUM_ARGS, CONSENT_CARD_FOCUSED

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

# This module is also the server's URLconf: the viewer page plus everything else.

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def demo_site():
    server = make_server("localhost", 0, "http://localhost:1", quiet=True)
    serve_in_thread(server)
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def e2e_settings(settings, demo_site):
    """Before the server forks: the demo site on the allow-list (tests/live_server.py resets the fork)."""
    settings.BROWSER_EGRESS_ALLOW_HOSTS = [f"localhost:{demo_site.rsplit(':', 1)[1]}"]
    return settings


def _api(base: str, token: str, method: str, route: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{base}/api/{route}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _people(site: str):
    from rest_framework.authtoken.models import Token

    account = make_account("Acme E2E", allowed_origins=[site], site_url=site + "/")
    customer = make_user("e2e-customer", role="customer", account=account)
    agent = make_user("e2e-agent", role="agent", agent_level="L2")
    ticket = make_ticket(customer)
    return ticket, Token.objects.create(user=agent).key


def _consent(join_url: str) -> str:
    """Decide on the link; the returned grant is a tab grant (as if allowed on the viewer's card)."""
    invite = consent_services.claim_invite(join_url.rstrip("/").split("/")[-1])
    outcome = consent_services.grant_consent(invite, mode="controlled")
    return confirm_on_device(outcome.session, outcome.grant).grant


async def _allow_on_card(page, timeout: float = 15000) -> None:
    """The viewer's owner answers its card with the keyboard: a grant in the address always asks."""
    await page.wait_for_function(CONSENT_CARD_FOCUSED, timeout=timeout)
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")


async def _until(predicate, timeout: float = 20.0, every: float = 0.1):
    async with asyncio.timeout(timeout):
        while True:
            value = await predicate()
            if value:
                return value
            await asyncio.sleep(every)


async def test_agent_drives_customer_watches_and_the_runner_dies(
    e2e_settings, demo_site, built_bundles, live_server_asgi
):
    base = live_server_asgi.url
    ticket, token = await sync_to_async(_people)(demo_site)
    start = {"ticket": ticket.reference, "start_url": f"{demo_site}/apply/personal"}

    status, created = await asyncio.to_thread(_api, base, token, "POST", "browser-sessions/", start)
    assert status == 201, created
    session_id = created["id"]
    grant = await sync_to_async(_consent)(created["join_url"])
    status, launched = await asyncio.to_thread(_api, base, token, "POST", "browser-sessions/", start)
    assert status == 200 and launched["launched"] is True

    async with BrowserHost() as host, async_playwright() as pw:
        runner = BrowserSessionRunner(session_id, host)
        task = asyncio.create_task(runner.run())
        viewer_browser = await pw.chromium.launch(
            executable_path=e2e_settings.BROWSER_EXECUTABLE_PATH, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = await (await viewer_browser.new_context()).new_page()
            await page.goto(f"{base}/browser/{session_id}/#tandem={grant}")
            assert "tandem=" not in page.url  # the grant left the address bar
            await _allow_on_card(page)

            async def frames() -> int:
                return int(await page.get_attribute("[data-testid=browser-viewer]", "data-frames") or 0)

            async def canvas() -> str:
                return await page.eval_on_selector("canvas", "c => c.toDataURL('image/png')")

            await _until(frames)
            await _until(
                lambda: page.locator("[data-testid=bv-status]").filter(has_text="Agent is browsing").count()
            )
            assert await page.input_value("[data-testid=bv-url]") == f"{demo_site}/apply/personal"
            await _until(lambda: page.locator("[data-testid=bv-title]").filter(has_text="Personal").count())
            assert await page.get_attribute("[data-testid=browser-viewer]", "data-can-input") == "false"
            before = await canvas()

            status, result = await asyncio.to_thread(
                _api,
                base,
                token,
                "POST",
                f"browser-sessions/{session_id}/actions/",
                {"kind": "type", "selector": "#full-name", "text": "Asha Rao", "screenshot": True},
            )
            assert status == 200 and result["ok"] and result["screenshot"]

            async def changed() -> bool:
                return await canvas() != before

            await _until(changed)
            status, outline = await asyncio.to_thread(
                _api, base, token, "GET", f"browser-sessions/{session_id}/dom/"
            )
            assert status == 200
            assert any(i["id"] == "full-name" and i["value"] == "Asha Rao" for i in outline["inputs"])

            async def watched() -> dict | None:
                code, state = await asyncio.to_thread(
                    _api, base, token, "GET", f"browser-sessions/{session_id}/status/"
                )
                return state if code == 200 and state["viewers"] >= 1 else None

            state = await _until(watched, every=0.5)
            assert state["browser"] == "live" and state["url"].startswith(demo_site)

            # Chromium dies: the session reconnects, a fresh context reopens the page, frames resume.
            seen = await frames()
            await host.browser.close()
            await _until(
                lambda: page.locator("[data-testid=bv-status]").filter(has_text="Reconnecting").count()
            )
            await _until(
                lambda: page.locator("[data-testid=bv-status]").filter(has_text="Agent is browsing").count()
            )

            async def more_frames() -> bool:
                return await frames() > seen

            await _until(more_frames)
            assert runner.page.url.startswith(f"{demo_site}/apply/personal")

            # The runner is killed: the session ends with a reason and the viewer says so.
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 20)
            await _until(lambda: page.locator("[data-testid=bv-status]").filter(has_text="has ended").count())
            session = await sync_to_async(CoBrowseSession.objects.get)(pk=session_id)
            assert session.state == SessionState.ENDED and session.end_reason == services.BROWSER_LOST
            status, _body = await asyncio.to_thread(
                _api, base, token, "POST", f"browser-sessions/{session_id}/actions/", {"kind": "reload"}
            )
            assert status == 409
        finally:
            task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, 20)
            await viewer_browser.close()
