"""End to end, the viewer's own controls: the agent's viewer page (real Chromium, logged in) types
into the URL bar and clicks Back, Forward, Reload and Stop, and the server-side browser follows — the
runner's page URL and the URL bar both change. Then the customer lowers the session to view only:
the customer's viewer (by the grant) shows no input, and input sent on its socket anyway is refused
by the server and never reaches the page.

The runner runs in the test process, as in test_e2e_browser_session.py, and talks to the forked
server only through Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field

import pytest
from asgiref.sync import sync_to_async
from playwright.async_api import async_playwright

from browser.worker import BrowserHost, BrowserSessionRunner
from cobrowse.models import CoBrowseSession
from consent import answers as consent_answers
from tests.browser.test_e2e_browser_session import _allow_on_card, _api, _consent, _until
from tests.factories import PASSWORD, make_account, make_ticket, make_user
from tests.live_server import CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

PAGE = """<!doctype html><html><head><title>{title}</title></head>
<body style="margin:0;font:28px sans-serif">
<h1>{title}</h1><p id="counts">clicks 0 keys 0</p>{extra}
<script>
let clicks = 0, keys = 0;
const show = () => document.getElementById("counts").textContent = `clicks ${{clicks}} keys ${{keys}}`;
addEventListener("mousedown", () => {{ clicks++; show(); }}, true);
addEventListener("keydown", () => {{ keys++; show(); }}, true);
window.inputCounts = () => ({{clicks, keys}});
</script></body></html>"""


@dataclass
class Site:
    """Pages for the viewer's controls; ``/hang`` never answers."""

    hits: dict[str, int] = field(default_factory=dict)
    port: int = 0

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> Site:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        self.server.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode().split("?")[0]
            self.hits[path] = self.hits.get(path, 0) + 1
            if path == "/hang":
                await reader.read()  # until the connection closes
                return
            extra = '<img src="/hang" alt="">' if path == "/slow" else ""
            body = PAGE.format(title=f"Page {path.strip('/') or 'home'}", extra=extra).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nConnection: close\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, IndexError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def site(settings):
    server = await Site().start()
    settings.BROWSER_EGRESS_ALLOW_HOSTS = [f"127.0.0.1:{server.port}"]  # set before the server forks
    yield server
    await server.close()


def _people(origin: str):
    from rest_framework.authtoken.models import Token

    account = make_account("Acme Controls", allowed_origins=[origin], site_url=origin + "/")
    customer = make_user("vc-customer", role="customer", account=account)
    agent = make_user("vc-agent", role="agent", agent_level="L2")
    return make_ticket(customer), agent.username, Token.objects.create(user=agent).key


async def _login(page, base: str, username: str) -> None:
    await page.goto(f"{base}/login/")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_load_state("networkidle")


#: From the customer's viewer page: a socket of its own (same grant), input sent regardless of what
#: the page shows; resolves with the server's answers.
RAW_INPUT_JS = """
async ([sessionId, inputs]) => {
  const grant = sessionStorage.getItem(`tandem-browser-grant-${sessionId}`);
  const ws = new WebSocket(`ws://${location.host}/ws/browser/${sessionId}/`);
  const answers = [];
  let seq = 0;
  const send = (type, data) => ws.send(JSON.stringify({type, seq: seq++, ts: Date.now(), data}));
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  return await new Promise((resolve) => {
    ws.onmessage = (event) => {
      if (typeof event.data !== "string") return;
      const message = JSON.parse(event.data);
      answers.push(message);
      if (message.type === "welcome") for (const data of inputs) send("input", data);
      if (answers.filter((m) => m.type === "error").length >= inputs.length) { ws.close(); resolve(answers); }
    };
    send("hello", {grant});
  });
}
"""


async def test_agent_viewer_controls_drive_the_browser_and_a_view_only_customer_cannot(
    site, built_bundles, live_server_asgi, settings
):
    base = live_server_asgi.url
    ticket, agent_name, token = await sync_to_async(_people)(site.origin)
    start = {"ticket": ticket.reference, "start_url": f"{site.origin}/one"}
    status, created = await asyncio.to_thread(_api, base, token, "POST", "browser-sessions/", start)
    assert status == 201, created
    session_id = created["id"]
    grant = await sync_to_async(_consent)(created["join_url"])  # controlled

    async with BrowserHost() as host, async_playwright() as pw:
        runner = BrowserSessionRunner(session_id, host)
        task = asyncio.create_task(runner.run())
        viewers = await pw.chromium.launch(
            executable_path=settings.BROWSER_EXECUTABLE_PATH, headless=True, args=CHROMIUM_ARGS
        )
        try:
            agent = await (await viewers.new_context(viewport={"width": 1400, "height": 1000})).new_page()
            await _login(agent, base, agent_name)
            await agent.goto(f"{base}/browser/{session_id}/")
            root = "[data-testid=browser-viewer]"
            url_bar = agent.locator("[data-testid=bv-url]")

            async def can_input(page) -> str | None:
                return await page.get_attribute(root, "data-can-input")

            async def frames(page) -> int:
                return int(await page.get_attribute(root, "data-frames") or 0)

            await _until(lambda: frames(agent), timeout=30)
            await _until(lambda: _eq(can_input(agent), "true"))
            await _until(lambda: _eq(url_bar.input_value(), f"{site.origin}/one"))

            async def both_at(path: str) -> bool:
                """The runner's page and the agent's URL bar agree on ``path``."""
                want = f"{site.origin}{path}"
                return (
                    runner.page is not None
                    and runner.page.url == want
                    and await url_bar.input_value() == want
                )

            # The URL bar: type an address, Enter.
            await url_bar.fill(f"{site.origin}/two")
            await url_bar.press("Enter")
            await _until(lambda: both_at("/two"), timeout=30)
            await _until(lambda: agent.locator("[data-testid=bv-title]").filter(has_text="Page two").count())

            await agent.click("[data-nav=back]")
            await _until(lambda: both_at("/one"), timeout=30)
            await agent.click("[data-nav=forward]")
            await _until(lambda: both_at("/two"), timeout=30)

            served = site.hits["/two"]
            await agent.click("[data-nav=reload]")
            await _until(lambda: _true(site.hits["/two"] > served), timeout=30)
            await _until(lambda: both_at("/two"), timeout=30)

            # Stop: a page whose image never arrives keeps loading until Stop gives up on it.
            await url_bar.fill(f"{site.origin}/slow")
            await url_bar.press("Enter")
            await _until(lambda: both_at("/slow"), timeout=30)
            await _until(lambda: _true(site.hits.get("/hang", 0) >= 1), timeout=30)
            status = agent.locator("[data-testid=bv-status]")
            await _until(lambda: status.filter(has_text="Loading").count(), timeout=30)
            image_done = "document.images[0].complete"
            assert await runner.page.evaluate(image_done) is False
            for _attempt in range(3):  # Stop waits for the runner's last action (the address's settle)
                await agent.click("[data-nav=stop]")
                with contextlib.suppress(TimeoutError):
                    await _until(lambda: status.filter(has_text="You are browsing").count(), timeout=10)
                    break
            else:
                pytest.fail("Stop did not stop the page")
            assert await runner.page.evaluate(image_done) is True  # the request was given up
            assert runner.page.url == f"{site.origin}/slow"
            assert await runner.page.evaluate("window.inputCounts()") == {"clicks": 0, "keys": 0}

            # The customer lowers the session to view only: nobody's input reaches the browser now.
            await sync_to_async(consent_answers.customer_lower_mode)(session_id, mode="view_only")
            await _until(lambda: _eq(can_input(agent), "false"))
            assert await agent.locator("[data-nav=back]").is_disabled()
            assert await agent.locator("[data-nav=reload]").is_disabled()
            assert await url_bar.get_attribute("readonly") is not None

            customer = await (await viewers.new_context()).new_page()
            await customer.goto(f"{base}/browser/{session_id}/#tandem={grant}")
            await _allow_on_card(customer)
            await _until(lambda: frames(customer), timeout=30)
            await _until(lambda: _eq(can_input(customer), "false"))
            assert await customer.get_attribute(root, "data-role") == "customer"
            await _until(
                lambda: (
                    customer.locator("[data-testid=bv-status]").filter(has_text="Agent is browsing").count()
                )
            )
            canvas = customer.locator("[data-testid=bv-canvas]")
            await canvas.click(position={"x": 200, "y": 150})
            await canvas.press("a")
            await canvas.press("Enter")

            # Sent anyway on a socket of its own: the server refuses each, and says why.
            inputs = [{"kind": "click", "x": 200, "y": 150}, {"kind": "key", "key": "a"}, {"kind": "back"}]
            answers = await customer.evaluate(RAW_INPUT_JS, [session_id, inputs])
            errors = [m["data"] for m in answers if m["type"] == "error"]
            assert [e["code"] for e in errors] == ["not_allowed"] * 3, json.dumps(answers)[:500]
            assert all("watching" in e["message"] for e in errors)

            await asyncio.sleep(1.0)  # were anything relayed, the runner would have acted by now
            assert runner.page.url == f"{site.origin}/slow"
            assert await runner.page.evaluate("window.inputCounts()") == {"clicks": 0, "keys": 0}
            lowered = await sync_to_async(CoBrowseSession.objects.get)(pk=session_id)
            assert lowered.mode == "view_only"
        finally:
            task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, 20)
            await viewers.close()


async def _eq(value, expected) -> bool:
    return (await value) == expected


async def _true(value: bool) -> bool:
    return value
