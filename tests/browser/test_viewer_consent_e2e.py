"""The server-side browser's viewer asks its owner, in real Chromium against the live server.

An agent opens the customer's one-time link in their own browser, allows control, and keeps the
viewer address the consent screen sent them to (``/browser/<id>/#tandem=<grant>``), ready to paste.
Opened in a fresh context, that address shows the viewer's consent card and nothing else: no
WebSocket, no frame, only the describe call, even with the session's browser running. Allow (with
the keyboard) opens the socket with the tab grant and the screencast starts; a reload of that tab
does not ask again, a new tab with the address does, and Escape there (Deny) ends the session.

The runner runs in the test process, as in test_e2e_browser_session.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from urllib.parse import urlsplit

import pytest
from asgiref.sync import sync_to_async
from playwright.async_api import async_playwright

from browser.worker import BrowserHost, BrowserSessionRunner
from cobrowse.models import CoBrowseSession, SessionState
from consent import grants as consent_grants
from consent import services as consent_services
from consent import tokens as consent_tokens
from consent.models import ConsentKind, ConsentRecord, Decision
from tests.browser.test_e2e_browser_session import _allow_on_card, _api, _until
from tests.browser.test_e2e_viewer_controls import Site, _login, _people
from tests.live_server import CHROMIUM_ARGS, CONSENT_CARD_FOCUSED

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

ROOT = "[data-testid=browser-viewer]"
CARD = "[data-testid=bv-consent]"
FOCUSED = "() => document.activeElement && document.activeElement.dataset.testid"


@pytest.fixture
async def pages_site(settings):
    server = await Site().start()
    settings.BROWSER_EGRESS_ALLOW_HOSTS = [f"127.0.0.1:{server.port}"]  # set before the server forks
    yield server
    await server.close()


@pytest.fixture
def short_grants(settings):
    """Grants that expire in 24 s (set before the server forks)."""
    settings.COBROWSE_GRANT_TTL_SECONDS = 24
    return settings


class Wire:
    """Every request to Tandem and every WebSocket (with the frames it sent) of one page."""

    def __init__(self, page, base: str):
        self.requests: list[str] = []
        self.sockets: list[str] = []
        self.sent: list[str] = []
        self.received: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url) if r.url.startswith(base) else None)
        page.on("websocket", self._socket)

    def _socket(self, ws) -> None:
        self.sockets.append(ws.url)
        ws.on("framesent", lambda payload: self.sent.append(payload if isinstance(payload, str) else ""))
        ws.on("framereceived", lambda p: self.received.append(p) if isinstance(p, str) else None)

    def calls(self) -> list[str]:
        return [u for u in self.requests if "/api/" in u]

    def card_calls(self) -> list[str]:
        return [u for u in self.calls() if "/grants/describe/" in u or "/grants/confirm/" in u]

    def welcomed(self) -> int:
        return sum(json.loads(text)["type"] == "welcome" for text in self.received)

    async def welcomed_async(self) -> int:
        return self.welcomed()


async def _agent_decides_on_the_link(agent_page, base: str, join_url: str) -> str:
    """The agent opens the link in a private window of their own (signed in, Tandem refuses them)
    and allows control; returns the address the consent screen sent them to, fragment and all."""
    await agent_page.goto(f"{base}{urlsplit(join_url).path}")
    await agent_page.check("input[name=recording][value=off]")  # a third-party site: asked apart
    async with agent_page.expect_response(lambda r: "/j/" in r.url and r.request.method == "POST") as decided:
        await agent_page.click("button[value=controlled]")
    location = (await decided.value).headers["location"]
    assert location.startswith("/browser/") and "#tandem=" in location
    return location


def _device_records(session_id: int) -> list[tuple[str, str]]:
    rows = ConsentRecord.objects.filter(session_id=session_id, kind=ConsentKind.DEVICE_CONFIRMATION)
    return [(r.decision, r.origin) for r in rows]


async def test_a_pasted_viewer_address_asks_before_any_socket_and_allow_starts_the_viewer(
    pages_site, built_bundles, live_server_asgi, settings
):
    base = live_server_asgi.url
    ticket, agent_name, token = await sync_to_async(_people)(pages_site.origin)
    start = {"ticket": ticket.reference, "start_url": f"{pages_site.origin}/one"}
    status, created = await asyncio.to_thread(_api, base, token, "POST", "browser-sessions/", start)
    assert status == 201, created
    session_id = created["id"]

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(
            executable_path=settings.BROWSER_EXECUTABLE_PATH, headless=True, args=CHROMIUM_ARGS
        )
        host = runner = task = None
        try:
            private = await (await chromium.new_context()).new_page()
            pasted = await _agent_decides_on_the_link(private, base, created["join_url"])
            link_grant = pasted.split("#tandem=", 1)[1]
            with pytest.raises(consent_grants.UnconfirmedGrant):
                await sync_to_async(consent_grants.verify_grant)(link_grant)
            agent = await (await chromium.new_context()).new_page()
            await _login(agent, base, agent_name)
            await agent.goto(f"{base}/browser/{session_id}/")
            # The agent's own viewer (their login, no card) starts the session's browser.
            assert await agent.get_attribute(ROOT, "data-role") == "agent"
            assert await agent.locator(CARD).count() == 0
            host = await BrowserHost().__aenter__()
            runner = BrowserSessionRunner(session_id, host)
            task = asyncio.create_task(runner.run())
            await _until(lambda: _frames(agent), timeout=60)

            # The customer opens the pasted address in a browser of their own.
            context = await chromium.new_context()
            customer = await context.new_page()
            wire = Wire(customer, base)
            await customer.goto(f"{base}{pasted}")
            await customer.wait_for_function(CONSENT_CARD_FOCUSED, timeout=15000)
            assert "tandem=" not in customer.url  # the grant left the address bar
            card = customer.locator(CARD)
            assert await card.get_attribute("role") == "dialog"
            assert await card.get_attribute("aria-modal") == "true"
            title = await customer.locator("[data-testid=bv-consent-title]").text_content()
            prompt = await customer.locator("[data-testid=bv-consent-prompt]").text_content()
            details = await customer.locator("[data-testid=bv-consent-details] li").all_text_contents()
            assert title == "Open a shared browser with support?"
            assert prompt.startswith(
                f"Agent Vc-agent wants to open a shared browser with you to help you with ticket {ticket.reference}"
            )
            assert "runs on our side, not on your device" in prompt and "this page" not in prompt
            assert f"open {pages_site.origin} in a secure browser run by support" in prompt
            assert details[0].startswith("Allow control")
            assert await customer.locator(ROOT).is_hidden()

            # Before Allow: no socket, no frame, only the describe call, however long one waits
            # (the browser is running and painting frames for the agent meanwhile).
            await asyncio.sleep(2.0)
            assert wire.sockets == []
            assert wire.calls() == [f"{base}/api/cobrowse/grants/describe/"]
            assert await customer.get_attribute(ROOT, "data-frames") is None  # the viewer never started
            assert await customer.eval_on_selector("canvas", "c => [c.width, c.height]") == [300, 150]
            assert await sync_to_async(_device_records)(session_id) == []

            # Keyboard: Tab and Shift+Tab cycle Allow and Deny inside the card.
            await customer.keyboard.press("Tab")
            assert await customer.evaluate(FOCUSED) == "bv-consent-allow"
            await customer.keyboard.press("Tab")
            assert await customer.evaluate(FOCUSED) == "bv-consent-deny"
            await customer.keyboard.press("Tab")
            assert await customer.evaluate(FOCUSED) == "bv-consent-allow"
            await customer.keyboard.press("Shift+Tab")
            assert await customer.evaluate(FOCUSED) == "bv-consent-deny"
            await customer.keyboard.press("Shift+Tab")
            assert await customer.evaluate(FOCUSED) == "bv-consent-allow"
            await customer.keyboard.press("Enter")

            # Allow: the socket opens with the tab grant and the screencast shows.
            await _until(lambda: _frames(customer), timeout=60)
            assert await customer.locator(CARD).is_hidden()
            assert await customer.locator(ROOT).is_visible()
            assert wire.sockets == [f"{live_server_asgi.ws_url}/ws/browser/{session_id}/"]
            hello = json.loads(wire.sent[0])
            assert hello["type"] == "hello" and hello["data"]["grant"] not in ("", link_grant)
            assert (await sync_to_async(consent_grants.verify_grant)(hello["data"]["grant"])).pk == session_id
            assert wire.card_calls() == [
                f"{base}/api/cobrowse/grants/describe/",
                f"{base}/api/cobrowse/grants/confirm/",
            ]
            assert await sync_to_async(_device_records)(session_id) == [(Decision.GRANTED, base)]
            await _until(
                lambda: (
                    customer.locator("[data-testid=bv-status]").filter(has_text="Agent is browsing").count()
                )
            )

            # A reload of the same tab does not ask; it connects with the stored tab grant.
            before = len(wire.card_calls())
            await customer.reload()
            await _until(lambda: _frames(customer), timeout=60)
            assert len(wire.card_calls()) == before and await customer.locator(CARD).is_hidden()

            # A new tab with the pasted address asks again, and connects nothing meanwhile.
            other = await context.new_page()
            other_wire = Wire(other, base)
            await other.goto(f"{base}{pasted}")
            await other.wait_for_function(CONSENT_CARD_FOCUSED, timeout=15000)
            await asyncio.sleep(1.0)
            assert other_wire.sockets == [] and await other.get_attribute(ROOT, "data-frames") is None

            # Escape answers Deny there: the session ends, for the first tab's viewer too.
            await other.keyboard.press("Escape")
            await _until(
                lambda: other.locator("[data-testid=bv-consent-title]").filter(has_text="You said no").count()
            )
            assert other_wire.sockets == []
            session = await sync_to_async(CoBrowseSession.objects.get)(pk=session_id)
            assert (session.state, session.end_reason) == (SessionState.REVOKED, "customer_denied")
            assert await sync_to_async(_device_records)(session_id) == [
                (Decision.GRANTED, base),
                (Decision.DENIED, base),
            ]
            await _until(
                lambda: customer.locator("[data-testid=bv-status]").filter(has_text="has ended").count()
            )
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(task, 20)
            if host is not None:
                with contextlib.suppress(BaseException):
                    await host.__aexit__(None, None, None)
            await chromium.close()


async def _frames(page) -> int:
    return int(await page.get_attribute(ROOT, "data-frames") or 0)


def _link_grant(origin: str) -> tuple[int, str]:
    """A browser session allowed on the consent screen: (session id, link grant)."""
    from accounts.models import User
    from browser import services as browser_services

    ticket, agent_name, _token = _people(origin)
    started = browser_services.start_browser_session(
        ticket, agent=User.objects.get(username=agent_name), start_url=f"{origin}/one", channel="copy"
    )
    invite = consent_services.claim_invite(started.join_url.rstrip("/").split("/")[-1])
    outcome = consent_services.grant_consent(invite, mode="view_only")
    return outcome.session.pk, outcome.grant


def _grant_expires_at(raw: str):
    from consent.models import SessionGrant

    return SessionGrant.objects.get(token_hash=consent_tokens.hash_token(raw)).expires_at


async def test_the_viewer_keeps_its_tab_grant_alive_so_a_later_reload_still_connects(
    short_grants, pages_site, built_bundles, settings, live_server_asgi
):
    """Grants live COBROWSE_GRANT_TTL_SECONDS (24 s here, set before the server forks); the viewer
    refreshes its tab grant, so a reload well past that connects without asking."""
    from django.utils import timezone

    base = live_server_asgi.url
    session_id, link = await sync_to_async(_link_grant)(pages_site.origin)
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(
            executable_path=settings.BROWSER_EXECUTABLE_PATH, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = await (await chromium.new_context()).new_page()
            wire = Wire(page, base)
            await page.goto(f"{base}/browser/{session_id}/#tandem={link}")
            await _allow_on_card(page)
            await _until(wire.welcomed_async, timeout=30)
            tab = json.loads(wire.sent[0])["data"]["grant"]

            await asyncio.sleep(settings.COBROWSE_GRANT_TTL_SECONDS + 6)
            assert await sync_to_async(_grant_expires_at)(tab) > timezone.now()
            assert any("/grants/refresh/" in u for u in wire.calls())
            await page.reload()
            await _until(lambda: _at_least(wire.welcomed(), 2), timeout=30)
            assert await page.locator(CARD).is_hidden()
            assert len(wire.card_calls()) == 2  # describe and confirm, once
        finally:
            await chromium.close()


async def _at_least(value: int, wanted: int) -> bool:
    return value >= wanted
