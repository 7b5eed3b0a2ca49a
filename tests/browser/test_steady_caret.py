"""A hardened context shows a steady caret: a focused field on a still page sends no frames."""

from __future__ import annotations

import asyncio

import pytest

from browser.framepolicy import LEVELS
from browser.screencast import Screencast
from browser.worker import BrowserHost
from tests.browser.conftest import SiteServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

PAGE = b"""<!doctype html><title>form</title><body style="font:24px sans-serif">
<input id="name" value="Asha"><div id="host"></div>
<script>const r = document.getElementById("host").attachShadow({mode: "open"});
r.innerHTML = '<input id="inner">';</script></body>"""
CARET = "el => getComputedStyle(el).caretAnimation"


@pytest.fixture
async def host(settings):
    site = await SiteServer("127.0.0.1", lambda *_: (200, {"Content-Type": "text/html"}, PAGE)).start()
    settings.BROWSER_EGRESS_ALLOW_HOSTS = [f"127.0.0.1:{site.port}"]
    browser_host = await BrowserHost(max_contexts=2, max_memory_percent=100).start()
    try:
        yield browser_host, site.origin
    finally:
        await browser_host.close()
        await site.close()


async def test_the_caret_does_not_blink_in_a_hardened_context(host):
    browser_host, origin = host
    context = await browser_host.new_context(viewport={"width": 640, "height": 360})
    page = await context.new_page()
    await page.goto(origin)
    assert await page.eval_on_selector("#name", CARET) == "manual"
    inner = page.locator("#host").locator("#inner")  # in a shadow tree: inherited
    assert await inner.evaluate(CARET) == "manual"

    await page.focus("#name")
    frames: list[bytes] = []
    cast = Screencast(page, lambda data, _meta: frames.append(data))
    await cast.start(LEVELS[-1])
    await asyncio.sleep(1.0)  # the first frame, whenever it comes
    settled = len(frames)
    await asyncio.sleep(2.0)  # a blinking caret would repaint about four times here
    await cast.stop()
    assert settled >= 1
    assert len(frames) - settled == 0


async def test_a_plain_context_still_blinks(host):
    """Control: without the hardening the same page keeps repainting (the test above can fail)."""
    browser_host, origin = host
    browser = await browser_host.ensure_browser()
    context = await browser.new_context(viewport={"width": 640, "height": 360})
    try:
        page = await context.new_page()
        await page.goto(origin)
        assert await page.eval_on_selector("#name", CARET) == "auto"
        await page.focus("#name")
        frames: list[bytes] = []
        cast = Screencast(page, lambda data, _meta: frames.append(data))
        await cast.start(LEVELS[-1])
        await asyncio.sleep(1.0)
        settled = len(frames)
        await asyncio.sleep(2.0)
        await cast.stop()
        assert len(frames) - settled >= 1
    finally:
        await context.close()
