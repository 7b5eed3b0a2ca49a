"""Pixel redaction in the server-side browser, checked on decoded frames (Chromium, real).

A card number typed in the server browser must never reach a staff viewer's frames or the recorded
frames: an inset of the field's box is flat (a small standard deviation, JPEG noise only) and the
same before and after the digits were typed. The JPEGs are decoded in a separate Chromium page
(``createImageBitmap`` + ``getImageData``), so no image library is needed. A plain field typed into
in the same frames changes visibly: the checks can fail.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import statistics
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client
from playwright.async_api import async_playwright

from browser import redaction, services
from browser.worker import BrowserHost, BrowserSessionRunner
from config.asgi import application
from consent import services as consent_services
from recordings import selectors as recording_selectors
from recordings.models import Recording
from tests.browser.conftest import SiteServer
from tests.factories import make_account, make_ticket, make_user
from tests.recordings.rec_helpers import recording_env  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

CARD = "4111 1111 1111 1111"
#: JPEG noise on a flat box: measured 0.04-0.15 at q60; typed text in a field gives 50+.
FLAT_STD = 3.0
#: Mean absolute difference of an inset between two frames: the same flat box within JPEG noise.
SAME_MEAN_DIFF = 2.0
#: The box colour's luminance (redaction.BOX_COLOR, #5b6169): a flat field is not enough, its text
#: alone is transparent too.
BOX_GREY = 0.299 * 0x5B + 0.587 * 0x61 + 0.114 * 0x69
#: Pixels taken off each side of a box before measuring (its edges ring in JPEG's 8x8 blocks).
INSET = 5

PAYMENT = b"""<!doctype html><title>Pay</title>
<body style="margin:0;padding:24px;font:22px sans-serif;background:#fff">
<h1>Payment</h1>
<p><label>Name <input id="name" style="width:320px;font:22px monospace"></label></p>
<p><label>Card number <input id="card" autocomplete="cc-number" inputmode="numeric"
   style="width:320px;font:22px monospace"></label> <span id="count">0 digits</span></p>
<p><label>Reference <input id="ref" style="width:320px;font:22px monospace"></label></p>
<p><label>Code <input id="otp" autocomplete="one-time-code" value="908172"
   style="width:200px;font:22px monospace"></label></p>
<p><label>Password <input id="pw" type="password" value="hunter22" style="width:200px;font:22px monospace">
   </label></p>
<div id="sens" data-sensitive style="width:420px;font:22px monospace">Account 7731 0042 9981</div>
<div id="pii" data-pii style="width:420px;font:22px monospace">Asha Verma, 14 Lake Road</div>
<div id="acct" class="acct-secret" style="width:420px;font:22px monospace">Customer ref CR-88321</div>
<div style="height:1600px"></div>
<script>document.getElementById("card").addEventListener("input", (e) => {
  document.getElementById("count").textContent = e.target.value.replace(/[^0-9]/g, "").length + " digits";
});</script>
</body>"""

DECODE_JS = """
async ([b64, rects]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes], { type: "image/jpeg" }));
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const g = canvas.getContext("2d");
  g.drawImage(bitmap, 0, 0);
  const regions = rects.map(([x, y, w, h]) => {
    const d = g.getImageData(x, y, w, h).data;
    const gray = new Array(w * h);
    for (let i = 0, j = 0; i < d.length; i += 4, j++) {
      gray[j] = 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
    }
    return gray;
  });
  return { width: bitmap.width, height: bitmap.height, regions };
}
"""

RECT_JS = """
(ids) => ids.map((id) => { const r = document.getElementById(id).getBoundingClientRect();
  return [r.left, r.top, r.width, r.height]; })
"""


@dataclass(frozen=True)
class Box:
    """An element's inset in frame pixels (CSS pixels scaled to the frame)."""

    x: int
    y: int
    w: int
    h: int

    def rect(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]


def _inset(rect: list[float], scale: float) -> Box:
    left, top, width, height = (v * scale for v in rect)
    return Box(int(left) + INSET, int(top) + INSET, int(width) - 2 * INSET, int(height) - 2 * INSET)


def _std(values: list[float]) -> float:
    return statistics.pstdev(values)


def _mean_diff(a: list[float], b: list[float]) -> float:
    return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a)


class Decoder:
    """JPEG -> grey pixels of some regions, in a Chromium page of its own (not the session's)."""

    def __init__(self, page: Any) -> None:
        self.page = page

    async def regions(self, jpeg: bytes, boxes: list[Box]) -> list[list[float]]:
        payload = [base64.b64encode(jpeg).decode("ascii"), [b.rect() for b in boxes]]
        return (await self.page.evaluate(DECODE_JS, payload))["regions"]


@contextlib.asynccontextmanager
async def _decoder() -> AsyncIterator[Decoder]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=django_settings.BROWSER_EXECUTABLE_PATH)
        try:
            page = await browser.new_page()
            await page.set_content("<!doctype html><title>decode</title>")
            yield Decoder(page)
        finally:
            await browser.close()


@pytest.fixture
async def site(settings):
    server = await SiteServer("127.0.0.1", lambda *a: (200, {"Content-Type": "text/html"}, PAYMENT)).start()
    settings.BROWSER_EGRESS_ALLOW_HOSTS = [f"127.0.0.1:{server.port}"]
    yield server
    await server.close()


def _session(origin: str) -> tuple[Any, Any]:
    account = make_account(
        "Pixel Co", allowed_origins=[origin], site_url=origin + "/", redaction_selectors=[".acct-secret"]
    )
    customer = make_user("px-customer", role="customer", account=account)
    agent = make_user("px-agent", role="agent", agent_level="L2")
    started = services.start_browser_session(
        make_ticket(customer), agent=agent, start_url=origin + "/", channel="copy"
    )
    invite = consent_services.claim_invite(started.join_url.rstrip("/").split("/")[-1])
    session = consent_services.grant_consent(invite, mode="controlled", recording=True).session
    return session, agent


def _cookie_for(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    name = django_settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}".encode()


class StaffSocket:
    """The agent's viewer socket (``/ws/browser/<id>/``): the binary frames staff receive, acked."""

    def __init__(self, comm: WebsocketCommunicator) -> None:
        self.comm = comm
        self.frames: list[tuple[float, bytes]] = []  # (time.time() received, JPEG)
        self.task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            raw = await self.comm.receive_output(timeout=60)
            if raw["type"] == "websocket.close":
                return
            if raw.get("bytes") is not None:
                self.frames.append((time.time(), raw["bytes"]))
                ack = {"type": "ack", "data": {"frame": len(self.frames)}}
                await self.comm.send_to(text_data=json.dumps(ack))

    async def wait_frames(self, count: int, timeout: float = 20.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.frames) < count:
                await asyncio.sleep(0.05)

    async def settle(self, quiet: float = 0.8, timeout: float = 10.0) -> None:
        """Until no frame came for ``quiet`` seconds: the last one shows the page as it is."""
        async with asyncio.timeout(timeout):
            while not self.frames or time.time() - self.frames[-1][0] < quiet:
                await asyncio.sleep(0.05)


def _recorded_frames(session_id: int) -> list[tuple[int, bytes]]:
    recording = Recording.objects.get(session_id=session_id)
    body = orjson.loads(b"".join(recording_selectors.replay_stream(recording)))
    events = [event for chunk in body["chunks"] for event in chunk]
    return [(e["at"], base64.b64decode(e["data"]["jpeg"])) for e in events if e["type"] == "frame"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("recording_env")
async def test_a_card_number_typed_in_the_server_browser_never_reaches_staff_or_the_recording(site):
    session, agent = await sync_to_async(_session)(site.origin)
    headers = [(b"origin", b"http://localhost:8000"), (b"cookie", await sync_to_async(_cookie_for)(agent))]
    comm = WebsocketCommunicator(application, f"/ws/browser/{session.pk}/", headers=headers)
    assert (await comm.connect())[0]
    staff = StaffSocket(comm)
    async with BrowserHost() as host, _decoder() as decoder:
        runner = BrowserSessionRunner(session.pk, host)
        task = asyncio.create_task(runner.run())
        try:
            await staff.wait_frames(1)
            page = runner.page
            await page.wait_for_load_state("load")
            await staff.settle()
            ids = ["card", "name", "ref", "otp", "pw", "sens", "pii", "acct"]
            rects = dict(zip(ids, await page.evaluate(RECT_JS, ids), strict=True))
            scale = 1280 / runner.config.viewport["width"]
            boxes = {k: _inset(v, scale) for k, v in rects.items()}
            before = await decoder.regions(staff.frames[-1][1], [boxes["card"], boxes["name"], boxes["ref"]])

            typing_from = time.time()
            first_staff = len(staff.frames)
            await page.locator("#card").press_sequentially(CARD, delay=70)
            await asyncio.sleep(0.3)
            card_typed = len(staff.frames)
            await page.locator("#ref").press_sequentially("55512345678", delay=50)  # by value: 6+ digits
            await page.locator("#name").press_sequentially("Asha 42", delay=50)  # the control: not masked
            await staff.settle()
            await asyncio.sleep(1.2)  # the recorder keeps one frame per 500 ms
        finally:
            runner.stop(None, "test_done")
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 30)
            staff.task.cancel()
            await comm.disconnect()

        while_typing = [jpeg for _at, jpeg in staff.frames[first_staff:]]
        # The page shows a digit count beside the field: frames keep coming while the card is typed.
        assert card_typed - first_staff >= 8, "frames were sent while the card number was typed"
        assert len(while_typing) >= 15
        for jpeg in while_typing:
            card, ref = await decoder.regions(jpeg, [boxes["card"], boxes["ref"]])
            assert _std(card) < FLAT_STD, "the card field's box is flat in every frame staff received"
            assert _mean_diff(card, before[0]) < SAME_MEAN_DIFF, "and the same as before any digit"
        final = staff.frames[-1][1]
        regions = await decoder.regions(final, list(boxes.values()))
        for name, pixels in zip(boxes, regions, strict=True):
            if name != "name":
                assert _std(pixels) < FLAT_STD, f"#{name} is covered by a flat box"
                assert abs(statistics.fmean(pixels) - BOX_GREY) < 6, f"#{name}: the box's grey"
        card, name, ref = regions[0], regions[1], regions[2]
        assert _mean_diff(card, before[0]) < SAME_MEAN_DIFF
        assert _mean_diff(ref, before[2]) > 10, (
            "the reference field was boxed once its value looked like a number"
        )
        # The control: typed text in a plain field shows, so these checks do see digits.
        assert _std(name) > 15 and _mean_diff(name, before[1]) > 3

        recorded = await sync_to_async(_recorded_frames)(session.pk)
        after = [jpeg for at, jpeg in recorded if at >= typing_from * 1000]
        assert len(after) >= 3, "frames were recorded while and after the card number was typed"
        changed = 0.0
        for jpeg in after:
            card, name = await decoder.regions(jpeg, [boxes["card"], boxes["name"]])
            assert _std(card) < FLAT_STD and _mean_diff(card, before[0]) < SAME_MEAN_DIFF
            changed = max(changed, _std(name))
        # Some recorded frame shows the plain field's text (the recorder keeps one per 500 ms, so
        # not necessarily the last picture).
        assert changed > 10


async def test_every_masking_rule_paints_a_box_and_the_page_stays_usable():
    """Straight on a page (no runner): each rule of the DOM path, an account selector (an invalid
    one next to it is skipped, not fatal), a fixed container, a nested scroller, a main-document
    scroll; clicks reach the field under a box."""
    page_html = """<!doctype html><body style="margin:0;padding:20px;font:22px monospace">
      <div style="height:160px">Checkout</div>
      <input id="pw" type="password" value="hunter22" style="width:240px">
      <input id="cc" autocomplete="billing cc-number" value="4111111111111111" style="width:240px">
      <input id="otp" autocomplete="one-time-code" value="123456" style="width:240px">
      <div id="s" data-sensitive style="width:300px">secret 1234</div>
      <div id="p" data-pii style="width:300px">Asha Verma</div>
      <div id="a" class="mine" style="width:300px">account note</div>
      <div id="m" class="rr-mask" style="width:300px">masked note</div>
      <input id="plain" value="hello world" style="width:240px">
      <style>#red { color: red !important; -webkit-text-fill-color: red !important; }</style>
      <input id="red" autocomplete="cc-csc" value="123" style="width:80px">
      <div id="scroller" style="height:120px;width:300px;overflow:auto;border:1px solid #000">
        <div style="height:80px"></div><input id="deep" data-pii value="deep 99" style="width:200px">
        <div style="height:400px"></div></div>
      <div style="position:fixed;right:20px;top:20px;background:#eee;padding:8px">
        <input id="fixed" data-sensitive value="fixed 77" style="width:200px"></div>
      <div style="overflow:hidden;height:4px;width:4px">
        <div style="position:fixed;right:20px;top:120px;background:#eee;padding:8px">
          <input id="escaped" data-pii value="fixed in a clip" style="width:200px"></div></div>
      <dialog id="modal" style="margin:0;left:400px;top:200px;padding:24px;border:0">
        <input id="modal-cc" autocomplete="cc-number" value="4111 1111 1111 1111" style="width:300px">
        <input id="modal-plain" value="Pay now" style="width:200px"></dialog>
      <div id="pop" popover="manual" style="margin:0;left:400px;top:420px;padding:16px">
        <input id="pop-pii" data-pii value="Asha Verma" style="width:240px"></div>
      <div style="height:2000px"></div></body>"""
    async with async_playwright() as pw, _decoder() as decoder:
        browser = await pw.chromium.launch(executable_path=django_settings.BROWSER_EXECUTABLE_PATH)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 720})
            await context.add_init_script(redaction.overlay_script([".mine", "a{}b", "::bogus("]))
            page = await context.new_page()
            await page.set_content(page_html)

            async def check(ids: list[str], flat: bool) -> None:
                await page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 50)))")
                jpeg = await page.screenshot(type="jpeg", quality=60)
                rects = await page.evaluate(RECT_JS, ids)
                assert all(x >= 0 and y >= 0 and x + w <= 1280 and y + h <= 720 for x, y, w, h in rects)
                regions = await decoder.regions(jpeg, [_inset(r, 1.0) for r in rects])
                for element, pixels in zip(ids, regions, strict=True):
                    boxed = _std(pixels) < FLAT_STD and abs(statistics.fmean(pixels) - BOX_GREY) < 6
                    assert boxed is flat, f"#{element} boxed={flat}"

            await check(["pw", "cc", "otp", "s", "p", "a", "m", "deep", "fixed", "escaped"], True)
            await check(["plain"], False)
            await page.locator("#scroller").evaluate("e => { e.scrollTop = 60; }")
            await page.mouse.wheel(0, 150)
            await page.wait_for_function("() => window.scrollY >= 150")
            await check(["pw", "cc", "deep", "fixed", "escaped"], True)
            # Under the boxes, the masked fields' own text is not painted either (a box a frame late
            # uncovers no character), even against the page's own important rule.
            color = "el => [getComputedStyle(el).color, getComputedStyle(el).webkitTextFillColor]"
            assert await page.locator("#red").evaluate(color) == ["rgba(0, 0, 0, 0)"] * 2
            assert await page.locator("#plain").evaluate(color) != ["rgba(0, 0, 0, 0)"] * 2
            # A click on a box lands in the field beneath it (the overlay takes no pointer events).
            rect = (await page.evaluate(RECT_JS, ["cc"]))[0]
            await page.mouse.click(rect[0] + 10, rect[1] + rect[3] / 2)
            assert await page.evaluate("() => document.activeElement.id") == "cc"
            # The top layer paints above any z-index: the boxes go there too.
            await page.evaluate("() => { modal.showModal(); pop.showPopover(); }")
            await check(["modal-cc", "pop-pii"], True)
            await check(["modal-plain"], False)
            await page.evaluate("() => { modal.close(); pop.hidePopover(); }")
            await check(["cc"], True)
            # A field whose value turns into a card number gets its box as the value changes.
            await page.locator("#plain").fill("")
            await page.locator("#plain").press_sequentially("4111 1111")
            await check(["plain"], True)
        finally:
            await browser.close()


MAGENTA_JS = """
async (frames) => {
  const out = [];
  for (const b64 of frames) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const bitmap = await createImageBitmap(new Blob([bytes], { type: "image/jpeg" }));
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const g = canvas.getContext("2d");
    g.drawImage(bitmap, 0, 0);
    const d = g.getImageData(0, 0, bitmap.width, bitmap.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] > 170 && d[i + 1] < 100 && d[i + 2] > 170) n++;
    out.push(n);
  }
  return out;
}
"""


async def test_a_box_follows_a_field_that_slides_with_a_css_transition():
    """A drawer sliding in on the compositor moves its card field without a DOM mutation: the box
    follows it frame by frame. The field is magenta; a screencast frame with magenta in it is a
    frame where the box missed the field."""
    page_html = """<!doctype html><body style="margin:0;font:20px monospace">
      <div id="drawer" style="position:absolute;left:40px;top:120px;padding:20px;background:#eee;
        transition:transform 1500ms linear">
        <input autocomplete="cc-number" value="4111 1111 1111 1111"
          style="width:300px;border:6px solid #f0f;background:#f0f"></div></body>"""
    async with async_playwright() as pw, _decoder() as decoder:
        browser = await pw.chromium.launch(executable_path=django_settings.BROWSER_EXECUTABLE_PATH)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 720})
            await context.add_init_script(redaction.overlay_script())
            page = await context.new_page()
            await page.set_content(page_html)
            frames: list[str] = []
            acks: set[asyncio.Future] = set()
            cdp = await context.new_cdp_session(page)

            def on_frame(params: dict) -> None:
                frames.append(params["data"])
                ack = asyncio.ensure_future(
                    cdp.send("Page.screencastFrameAck", {"sessionId": params["sessionId"]})
                )
                acks.add(ack)
                ack.add_done_callback(acks.discard)

            cdp.on("Page.screencastFrame", on_frame)
            await cdp.send("Page.startScreencast", {"format": "jpeg", "quality": 60})
            await asyncio.sleep(0.5)
            still = len(frames)
            await page.evaluate("() => { drawer.style.transform = 'translateX(700px)'; }")
            await asyncio.sleep(1.8)
            await cdp.send("Page.stopScreencast")
            moving = frames[still:]
            assert len(moving) >= 10, "the slide was captured frame by frame"
            counts = await decoder.page.evaluate(MAGENTA_JS, moving)
            exposed = [n for n in counts if n > 30]
            assert len(exposed) <= len(moving) // 10, f"magenta pixels per frame: {counts}"
        finally:
            await browser.close()
