"""Screencast figures for server-side browser sessions. Prints numbers; never fails on time.

    .venv/bin/python -m bench.screencast [--seconds 10] [--sessions 5] [--warm-runs 5]
        [--only first,rate,demo,redaction,memory] [--no-redaction] [--budget BYTES]
        [--arg=--some-chromium-switch ...] [--executable PATH]

Runs the production pieces in-process: BrowserHost (Chromium through the egress proxy, launched with
``browser_launch_options``), the runner's context set-up (hardened context, submit backstop, page,
CDP Screencast, ``goto`` until ``domcontentloaded``) and the FramePolicy driven the way the runner
drives it (newest frame only, held frame flushed at its slot; ``adapt`` once a second, a new level
or quality restarting the screencast). The byte budget is ``BROWSER_SCREENCAST_MAX_BYTES_PER_SECOND``
unless ``--budget`` says otherwise (0: none, the behaviour before the budget). Pages are served on
127.0.0.1 and allow-listed for the run. Figures:

- first frame, **cold** (Playwright + proxy + Chromium launch, then the session) and **warm**
  (Chromium already running in the worker: context + page + screencast + goto), each split into its
  steps. "First frame" is the first frame of the target page (a frame of the initial blank page does
  not count) as it leaves the policy for the viewers.
- an animated page at 1280x720 (it repaints every vsync: the worst case): frames from Chromium,
  frames delivered, bytes/s per viewer, CPU;
- a still page (bytes/s) and a page repainting without changing a pixel (frames skipped as unchanged);
- the demo site (``demo_site``) with scripted activity (typing, focus changes, scrolling) for twice
  ``--seconds``: the JPEG quality the budget chose and when, bytes/s over the whole run and once
  settled, the worst 2 s window, fps, frames held for the budget; then the same page with continuous
  typing into one field (more changes than the cap lets through);
- pixel redaction (``browser/redaction.py``, installed in every session as production
  does; ``--no-redaction`` leaves it out): on a checkout page, typing into a plain field and into the
  card field, the page's main-thread time per overlay update (p50/p99), fps, bytes/s and CPU, with
  and without the overlay; then masked fields with a magenta border moved (document scroll, nested
  scroller, a drawer sliding on a CSS transition), every delivered frame decoded in a separate
  Chromium and searched for magenta (a box that missed its field); and, for comparison, painting on
  the server instead (decode, paint, re-encode a frame in Chromium);
- memory: PSS (``/proc/<pid>/smaps_rollup``) of every Chromium process, by process type, as animated
  sessions are added one by one; the marginal cost per extra session; CPU per session with all open.

``--arg`` appends a Chromium switch to the production launch options (to measure a lever alone).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import re
import secrets
import statistics
import subprocess
import sys
import time
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.conf import settings  # noqa: E402

from browser import guard, launch, redaction  # noqa: E402
from browser.framepolicy import FramePolicy, Verdict, frame_digest  # noqa: E402
from browser.screencast import Screencast  # noqa: E402
from browser.worker import BrowserHost  # noqa: E402
from browser.worker import host as worker_host  # noqa: E402

VIEWPORT = {"width": 1280, "height": 720}
ANIMATED = b"""<!doctype html><title>animated</title><body style="margin:0;font:20px sans-serif">
<h1>Loan application</h1><p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>
<div id="b" style="width:300px;height:200px;background:linear-gradient(90deg,#36c,#c63)"></div>
<script>let t=0;(function f(){t++;document.getElementById('b').style.transform=
'translateX('+(t%600)+'px) rotate('+(t%360)+'deg)';requestAnimationFrame(f)})()</script></body>"""
STILL = b"""<!doctype html><title>still</title><body style="margin:0;font:20px sans-serif">
<h1>Loan application</h1><p>Lorem ipsum dolor sit amet.</p><input value="Asha"></body>"""
# Repaints every 30 ms that change no pixel: an element moving under an opaque cover.
REPAINT = b"""<!doctype html><title>repaint</title><body style="margin:0;font:20px sans-serif">
<h1>Loan application</h1><div style="position:relative;width:60px;height:60px">
<div id="h" style="position:absolute;inset:10px;background:red;will-change:transform"></div>
<div style="position:absolute;inset:0;background:white;z-index:2"></div></div>
<script>setInterval(()=>{const b=document.getElementById('h');
b.style.transform=b.style.transform?'':'translateX(1px)'},30)</script></body>"""
# A checkout: a plain field, masked fields (card, CVV, one-time code, a [data-sensitive] block) and a
# live digit count beside the card field (so typing the card still changes the picture).
CHECKOUT = b"""<!doctype html><title>checkout</title><body style="margin:0;padding:24px;font:20px sans-serif">
<h1>Payment</h1><p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.</p>
<p><label>Name on card <input id="name" style="width:360px;font:20px sans-serif"></label></p>
<p><label>Card number <input id="card" autocomplete="cc-number" style="width:360px;font:20px monospace">
</label> <span id="count">0 digits</span></p>
<p><label>CVV <input id="cvv" type="password" autocomplete="cc-csc" style="width:80px"></label>
<label>Code <input autocomplete="one-time-code" value="482913" style="width:120px"></label></p>
<div data-sensitive style="width:480px">Account 7731 0042 9981, sort code 20-00-00</div>
<p>Sed ut perspiciatis unde omnis iste natus error sit voluptatem accusantium doloremque.</p>
<script>document.getElementById("card").addEventListener("input", (e) => {
  document.getElementById("count").textContent = e.target.value.replace(/[^0-9]/g, "").length + " digits";
});</script></body>"""
# The race: masked fields with a magenta border, one in the document and one in a nested scroller,
# both scrolled continuously. Magenta in a frame means a box was not over its field.
RACE = b"""<!doctype html><title>race</title><body style="margin:0;padding:24px;font:20px sans-serif">
<h1>Scrolling</h1><div style="height:200px"></div>
<input id="doc" data-pii value="4111 1111 1111 1111"
  style="width:360px;border:6px solid #f0f;background:#f0f;font:20px monospace">
<div id="inner" style="height:300px;width:600px;overflow:auto;border:1px solid #000;margin:40px 0">
  <div style="height:260px"></div><input id="nested" data-pii value="4111 1111 1111 1111"
  style="width:360px;border:6px solid #f0f;background:#f0f;font:20px monospace">
  <div style="height:900px"></div></div>
<div style="height:3000px"></div></body>"""
# A drawer with a masked field sliding in and out (a CSS transform transition, run by the compositor).
SLIDE = b"""<!doctype html><title>slide</title><body style="margin:0;padding:24px;font:20px sans-serif">
<h1>Checkout</h1><div id="drawer" style="position:absolute;left:40px;top:160px;width:480px;padding:20px;
  background:#eee;transition:transform 400ms ease-in-out">
  <input id="slid" autocomplete="cc-number" value="4111 1111 1111 1111"
  style="width:360px;border:6px solid #f0f;background:#f0f;font:20px monospace"></div>
<script>let out = false; setInterval(() => { out = !out;
  document.getElementById("drawer").style.transform = out ? "translateX(600px)" : "none"; }, 700);</script>
</body>"""
PAGES = {
    b"/animated": ANIMATED,
    b"/repaint": REPAINT,
    b"/checkout": CHECKOUT,
    b"/race": RACE,
    b"/slide": SLIDE,
}


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    path = head.split(b" ", 2)[1]
    body = PAGES.get(path, STILL)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n")
    writer.write(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    await writer.drain()
    writer.close()


class Session:
    """One session as the runner sets it up, counting what a viewer that keeps up receives."""

    blank: set[bytes] = set()  # digests of frames of the initial about:blank page

    redact = True  # production installs the pixel-redaction overlay in every session (--no-redaction: off)

    def __init__(self, host: BrowserHost, *, redact: bool | None = None, measure: bool = False) -> None:
        self.host = host
        self.redact_here = Session.redact if redact is None else redact
        self.measure = measure
        self.policy = FramePolicy(
            max_fps=settings.BROWSER_MAX_FPS,
            max_bytes_per_second=settings.BROWSER_SCREENCAST_MAX_BYTES_PER_SECOND,
        )
        self.sizes: list[int] = []
        self.changes: list[tuple[float, int]] = []  # (time, JPEG quality) the screencast restarted at
        self.restart_s: list[float] = []
        self.housekeeper: asyncio.Task | None = None
        self.raw = self.sent = self.bytes = 0
        self.steps: dict[str, float] = {}
        self.sent_at: list[float] = []
        self.first_page_frame: float | None = None
        self.first_sent: float | None = None
        self._latest: bytes | None = None
        self._ready = asyncio.Event()
        self._page_frame = asyncio.Event()
        self.publisher: asyncio.Task | None = None

    def _on_frame(self, data: bytes, _meta: dict) -> None:
        self.raw += 1
        self._latest = data
        self._ready.set()
        if self.first_page_frame is None and frame_digest(data) not in self.blank:
            self.first_page_frame = time.monotonic()

    def _deliver(self, data: bytes, now: float) -> None:
        self.sent += 1
        self.bytes += len(data)
        self.sent_at.append(now)
        self.sizes.append(len(data))
        if self.first_sent is None and frame_digest(data) not in self.blank:
            self.first_sent = now
            self._page_frame.set()

    async def publish_loop(self) -> None:
        """The runner's publish loop: the newest frame is offered; a held one goes at its slot."""
        while True:
            delay = self.policy.flush_delay(time.monotonic())
            try:
                async with asyncio.timeout(None if delay == float("inf") else delay):
                    await self._ready.wait()
            except TimeoutError:
                pass
            now = time.monotonic()
            if self._ready.is_set():
                self._ready.clear()
                assert self._latest is not None
                if self.policy.offer(self._latest, now) is Verdict.SEND:
                    self._deliver(self._latest, now)
            elif (pending := self.policy.flush(now)) is not None:
                self._deliver(pending, now)

    async def housekeeping(self) -> None:
        """The runner's ``_adapt`` once a second: a new level restarts the screencast."""
        while True:
            await asyncio.sleep(1.0)
            level = self.policy.adapt(time.monotonic())
            if level is not None:
                started = time.monotonic()
                self.policy.restarted(started)
                await self.cast.restart(level)
                self.restart_s.append(time.monotonic() - started)
                self.changes.append((started, level.quality))

    async def open(self, url: str) -> float:
        """The runner's ``_open``; returns seconds from the start to the first frame of the page."""
        started = mark = time.monotonic()

        def step(name: str) -> None:
            nonlocal mark
            now = time.monotonic()
            self.steps[name] = now - mark
            mark = now

        self.context = await self.host.new_context(viewport=dict(VIEWPORT))
        await self.context.add_init_script(guard.submit_backstop_script(secrets.token_urlsafe(32)))
        if self.redact_here:
            await self.context.add_init_script(redaction.overlay_script((), measure=self.measure))
        step("context")
        self.page = await self.context.new_page()
        step("page")
        self.cast = Screencast(self.page, self._on_frame)
        self.publisher = asyncio.ensure_future(self.publish_loop())
        await self.cast.start(self.policy.level)
        self.housekeeper = asyncio.ensure_future(self.housekeeping())
        step("screencast")
        await self.page.goto(url, wait_until="domcontentloaded")
        self.steps["goto (domcontentloaded)"] = time.monotonic() - mark
        await self._page_frame.wait()
        assert self.first_sent is not None
        self.steps["goto -> first frame"] = self.first_sent - mark
        return self.first_sent - started

    def reset(self) -> None:
        self.raw = self.sent = self.bytes = 0
        self.policy.skipped_unchanged = 0
        self.policy.held_for_budget = 0
        self.sent_at = []
        self.sizes = []

    def sends(self, start: float, end: float = float("inf")) -> list[tuple[float, int]]:
        return [(t, n) for t, n in zip(self.sent_at, self.sizes, strict=True) if start <= t < end]

    def worst_window(self, start: float, window: float = 2.0) -> float:
        """The most bytes per second over any ``window`` seconds (ending on a send) after ``start``."""
        sends = self.sends(start)
        return max(
            (sum(n for u, n in sends[: i + 1] if u > t - window) / window for i, (t, _) in enumerate(sends)),
            default=0.0,
        )

    async def close(self) -> None:
        for task in (self.publisher, self.housekeeper):
            if task is not None:
                task.cancel()
        await self.cast.stop()
        await self.context.close()


async def blank_digests(host: BrowserHost) -> set[bytes]:
    """Digests of the frames the initial about:blank page gives (they are not "the page")."""
    frames: list[bytes] = []
    context = await host.new_context(viewport=dict(VIEWPORT))
    page = await context.new_page()
    cast = Screencast(page, lambda data, _meta: frames.append(frame_digest(data)))
    await cast.start(FramePolicy().level)
    for _ in range(100):
        if frames:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)
    await cast.stop()
    await context.close()
    return set(frames)


# --- processes ---------------------------------------------------------------------------------


def chromium_pids() -> dict[int, str]:
    """Every Chromium process below this one, with its type (browser, renderer, gpu-process, …)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found: dict[int, str] = {}
    todo = [os.getpid()]
    while todo:
        for child in children.get(todo.pop(), []):
            todo.append(child)
            try:
                with open(f"/proc/{child}/cmdline", "rb") as fh:
                    cmdline = fh.read().replace(b"\0", b" ")  # Chromium rewrites it as one string
            except OSError:
                continue
            if b"chrom" in cmdline.split(b" ", 1)[0]:
                kind = re.search(rb"--type=([\w-]+)", cmdline)
                found[child] = kind.group(1).decode() if kind else "browser"
    return found


def pss_by_type() -> dict[str, float]:
    """PSS in MiB per process type and ``total``; ``anon+shmem`` (PSS less file-backed pages: the
    code pages' share moves with every other Chromium on the host, this part does not);
    ``renderers`` counts renderer processes."""
    out: dict[str, float] = {"total": 0.0, "anon+shmem": 0.0, "renderers": 0}
    for pid, kind in chromium_pids().items():
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                fields = {line.split(":")[0]: int(line.split()[1]) for line in fh if line.startswith("Pss")}
        except OSError:
            continue
        out[kind] = out.get(kind, 0.0) + fields["Pss"] / 1024
        out["total"] += fields["Pss"] / 1024
        out["anon+shmem"] += (fields.get("Pss_Anon", 0) + fields.get("Pss_Shmem", 0)) / 1024
        out["renderers"] += kind == "renderer"
    return out


def foreign_chromium() -> int:
    """Chromium processes on the host that are not ours (they share code pages, moving PSS)."""
    ours = set(chromium_pids())
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in ours:
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    count += b"chromium" in fh.read().split(b"\0", 1)[0]
            except OSError:
                pass
    return count


def slope(values: list[float]) -> float:
    """Least-squares increase per step."""
    n = len(values)
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    num = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values))
    return num / sum((x - mean_x) ** 2 for x in range(n))


def cpu_seconds() -> float:
    ticks = 0
    for pid in chromium_pids():
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            pass
    return ticks / os.sysconf("SC_CLK_TCK")


def loadavg() -> str:
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def gaps(times: list[float], interval: float) -> str:
    """How regular the delivered frames were: gaps between sends, in intervals of the cap."""
    spans = sorted(b - a for a, b in itertools.pairwise(times))
    if not spans:
        return "no gaps"
    mean = (times[-1] - times[0]) / len(spans)
    late = sum(1 for g in spans if g > 1.5 * interval)
    window = max((sum(1 for t in times if a <= t < a + 1.0) for a in times), default=0)
    pct = [spans[len(spans) * p // 100] * 1000 for p in (5, 50, 95)]
    return (
        f"gaps mean {mean * 1000:.1f} ms ({1 / mean:.2f} fps), p5 {pct[0]:.0f} ms, median {pct[1]:.0f} ms,"
        f" p95 {pct[2]:.0f} ms, max {spans[-1] * 1000:.0f} ms; {late} gaps > 1.5 intervals;"
        f" most frames in a 1 s window {window}"
    )


async def measure(sessions: list[Session], seconds: float) -> tuple[float, float]:
    for session in sessions:
        session.reset()
    cpu0, t0 = cpu_seconds(), time.monotonic()
    await asyncio.sleep(seconds)
    return time.monotonic() - t0, cpu_seconds() - cpu0


# --- phases ------------------------------------------------------------------------------------


async def first_frame(base: str, warm_runs: int) -> None:
    async with BrowserHost(max_contexts=2, max_memory_percent=99) as probe:
        Session.blank = await blank_digests(probe)
    await asyncio.sleep(1)
    print(f"first frame (load {loadavg()})")
    started = time.monotonic()
    host = await BrowserHost(max_contexts=warm_runs + 2, max_memory_percent=99).start()
    launched = time.monotonic() - started
    try:
        cold = Session(host)
        to_frame = await cold.open(f"{base}/still")
        await cold.close()
        steps = "  ".join(f"{k} {v:.3f}" for k, v in cold.steps.items())
        print(
            f"  cold: launch (Playwright + proxy + Chromium) {launched:.2f} s + session {to_frame:.2f} s"
            f" = {launched + to_frame:.2f} s   [{steps}]"
        )
        warm: list[float] = []
        for _ in range(warm_runs):
            await asyncio.sleep(0.5)
            session = Session(host)
            warm.append(await session.open(f"{base}/still"))
            steps = "  ".join(f"{k} {v:.3f}" for k, v in session.steps.items())
            print(f"  warm: {warm[-1]:.3f} s   [{steps}]")
            await session.close()
        print(f"  warm median {statistics.median(warm):.3f} s, max {max(warm):.3f} s (load {loadavg()})")
    finally:
        await host.close()


async def rates(host: BrowserHost, base: str, seconds: float) -> None:
    session = Session(host)
    await session.open(f"{base}/animated")
    await asyncio.sleep(1)
    elapsed, cpu = await measure([session], seconds)
    print(
        f"\nanimated page, 1280x720, q{session.cast.level.quality}, {seconds:.0f} s, 1 session "
        f"(load {loadavg()}):"
    )
    print(f"  frames from Chromium   {session.raw / elapsed:6.1f} /s")
    print(
        f"  frames delivered       {session.sent / elapsed:6.2f} /s (cap {session.policy.max_fps:g};"
        f" {session.sent} in {elapsed:.2f} s)"
    )
    print(f"  bytes per viewer       {session.bytes / elapsed / 1000:6.1f} KB/s")
    print(f"  mean frame             {session.bytes / max(session.sent, 1) / 1000:6.1f} KB")
    print(f"  Chromium CPU           {cpu / elapsed:6.2f} cores")
    print(f"  {gaps(session.sent_at, session.policy.interval)}")

    await session.page.goto(f"{base}/still")
    await asyncio.sleep(1)
    elapsed, _ = await measure([session], seconds / 2)
    print(f"\nstill page, {seconds / 2:.0f} s:")
    print(f"  frames from Chromium   {session.raw / elapsed:6.1f} /s")
    print(f"  frames delivered       {session.sent / elapsed:6.1f} /s")
    print(f"  bytes per viewer       {session.bytes / elapsed:6.1f} B/s")

    await session.page.goto(f"{base}/repaint")
    await asyncio.sleep(1)
    elapsed, cpu = await measure([session], seconds / 2)
    print(f"\nrepainting page, no pixel changes, {seconds / 2:.0f} s:")
    print(f"  frames from Chromium   {session.raw / elapsed:6.1f} /s")
    print(
        f"  skipped as unchanged   {session.policy.skipped_unchanged / elapsed:6.1f} /s "
        f"({session.policy.skipped_unchanged} in {elapsed:.1f} s)"
    )
    print(f"  frames delivered       {session.sent / elapsed:6.1f} /s")
    print(f"  bytes per viewer       {session.bytes / elapsed:6.1f} B/s")
    print(f"  Chromium CPU           {cpu / elapsed:6.2f} cores")
    await session.close()


async def demo(host: BrowserHost, demo_origin: str, seconds: float, continuous: bool = False) -> None:
    """The demo site's first application step, with an agent typing, tabbing and scrolling; or,
    ``continuous``, typing into one field without a pause (16 characters a second, more changes than
    the 10 fps cap lets through: the case where the byte budget meets the frame-rate target)."""
    session = Session(host)
    try:
        await session.open(f"{demo_origin}/apply/personal")
        await asyncio.sleep(1)

        async def script() -> None:
            page = session.page
            if continuous:
                await page.click("#full-name")
                while True:
                    await page.fill("#full-name", "")
                    for char in "Asha Verma, 14 Lake Road, Pune ":
                        await page.keyboard.type(char)
                        await asyncio.sleep(0.06)
            while True:
                for selector, text in (("#full-name", "Asha Verma"), ("#email", "asha@example.com"),
                                       ("#phone", "+91 98765 43210")):  # fmt: skip
                    await page.click(selector)
                    await page.fill(selector, "")
                    for char in text:
                        await page.keyboard.type(char)
                        await asyncio.sleep(0.08)
                await page.mouse.wheel(0, 300)
                await asyncio.sleep(0.3)
                await page.mouse.wheel(0, -300)
                await asyncio.sleep(0.3)

        actor = asyncio.ensure_future(script())
        typing_from = time.monotonic()
        session.changes = []
        elapsed, cpu = await measure([session], 2 * seconds)
        end = typing_from + elapsed
        actor.cancel()
        budget = session.policy.max_bytes_per_second
        what = "continuous typing into one field" if continuous else "scripted typing and scrolling"
        print(
            f"\ndemo site /apply/personal, {what}, {2 * seconds:.0f} s"
            f" (load {loadavg()}), budget {budget / 1000:.1f} KB/s ({budget / 1024:.0f} KiB/s):"
        )
        changes = ", ".join(f"q{q} at {t - typing_from:.1f} s" for t, q in session.changes) or "none"
        print(f"  quality                q{session.cast.level.quality} at the end; changes: {changes}")
        if session.restart_s:
            print(f"  screencast restart     {max(session.restart_s) * 1000:.0f} ms at most (stop + start)")
        print(f"  frames from Chromium   {session.raw / elapsed:6.1f} /s")
        print(f"  frames delivered       {session.sent / elapsed:6.2f} /s")
        print(f"  skipped as unchanged   {session.policy.skipped_unchanged / elapsed:6.1f} /s")
        print(f"  held for the budget    {session.policy.held_for_budget}")
        print(
            f"  bytes per viewer       {session.bytes / elapsed / 1000:6.1f} KB/s (whole run, ramp included)"
        )
        print(f"  mean frame             {session.bytes / max(session.sent, 1) / 1000:6.1f} KB")
        settled = (session.changes[-1][0] if session.changes else typing_from) + 2.0
        if end - settled >= 3.0:
            sends = session.sends(settled, end)
            span = end - settled
            print(
                f"  settled ({span:.1f} s from {settled - typing_from:.1f} s): {len(sends) / span:.2f} fps,"
                f" {sum(n for _, n in sends) / span / 1000:.1f} KB/s, mean frame"
                f" {sum(n for _, n in sends) / max(len(sends), 1) / 1000:.1f} KB,"
                f" worst 2 s window {session.worst_window(settled) / 1000:.1f} KB/s"
            )
        print(f"  {gaps(session.sent_at, session.policy.interval)}")
        print(f"  Chromium CPU           {cpu / elapsed:6.2f} cores")
        if continuous:
            return
        await asyncio.sleep(2)
        elapsed, _ = await measure([session], seconds / 2)
        print(
            f"  then still: {session.sent / elapsed:.1f} frames/s, {session.bytes / elapsed:.0f} B/s, "
            f"{session.policy.skipped_unchanged} skipped as unchanged"
        )
        still_from = time.monotonic()
        elapsed, _ = await measure([session], 15.0)
        changes = ", ".join(f"q{q} at {t - still_from:.1f} s" for t, q in session.changes if t >= still_from)
        print(
            f"  still, 15 s more: {session.sent} frames, {session.bytes / 1000:.1f} KB"
            f" (quality steps back up: {changes or 'none'})"
        )
    finally:
        await session.close()


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``; 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


STATS_JS = """() => { const s = window.__tandemRedactionStats;
  return s ? { updates: s.updates, moved: s.moved, times: s.times.slice() } : null; }"""
RESET_STATS_JS = """() => { const s = window.__tandemRedactionStats;
  if (s) { s.updates = 0; s.moved = 0; s.times.length = 0; } }"""


async def redaction_costs(host: BrowserHost, base: str, seconds: float) -> None:
    """What the pixel-redaction overlay costs while someone types on a checkout page: the page's
    main-thread time per overlay update (each one runs before the paint of the frame it affects),
    fps, bytes/s and Chromium CPU, with the overlay and without it (same page, same script)."""
    print(f"\npixel redaction, checkout page, typing (a character per 60 ms), {seconds:.0f} s each:")
    for field, text in (("#name", "Asha Verma "), ("#card", "4111 1111 1111 1111")):
        for redact in (True, False):
            session = Session(host, redact=redact, measure=redact)
            try:
                await session.open(f"{base}/checkout")
                await asyncio.sleep(1)
                page = session.page
                await page.click(field)

                async def script(page: Any = page, field: str = field, text: str = text) -> None:
                    while True:
                        await page.fill(field, "")
                        for char in text:
                            await page.keyboard.type(char)
                            await asyncio.sleep(0.06)

                await asyncio.sleep(0.5)
                await page.evaluate(RESET_STATS_JS)
                actor = asyncio.ensure_future(script())
                elapsed, cpu = await measure([session], seconds)
                actor.cancel()
                stats = await page.evaluate(STATS_JS)
                what = "overlay on " if redact else "overlay off"
                line = (
                    f"  {field:6s} {what}: {session.sent / elapsed:5.2f} fps,"
                    f" {session.bytes / elapsed / 1000:6.1f} KB/s, Chromium {cpu / elapsed:.2f} cores"
                    f" (load {loadavg()})"
                )
                if stats:
                    times = stats["times"]
                    line += (
                        f"; {len(times) / elapsed:.1f} updates/s, per update"
                        f" p50 {percentile(times, 50):.2f} ms, p99 {percentile(times, 99):.2f} ms,"
                        f" max {max(times, default=0):.2f} ms;"
                        f" boxes moved {stats['moved']}"
                    )
                print(line)
            finally:
                await session.close()


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
# The alternative measured against: decode the frame, paint the boxes, encode again (in Chromium:
# no image library in the runner). Returns the new JPEG (base64) and the in-page milliseconds.
REPAINT_JS = """
async ([b64, boxes]) => {
  const t0 = performance.now();
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes], { type: "image/jpeg" }));
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const g = canvas.getContext("2d");
  g.drawImage(bitmap, 0, 0);
  g.fillStyle = "#5b6169";
  for (const [x, y, w, h] of boxes) g.fillRect(x, y, w, h);
  const blob = await canvas.convertToBlob({ type: "image/jpeg", quality: 0.6 });
  const out = new Uint8Array(await blob.arrayBuffer());
  let s = "";
  for (let i = 0; i < out.length; i += 0x8000) s += String.fromCharCode(...out.subarray(i, i + 0x8000));
  return [btoa(s), performance.now() - t0];
}
"""

#: Magenta pixels in a frame above this count: a box was not over its field in that frame.
EXPOSED_PIXELS = 30


async def server_side_alternative(decoder: Any, frames: list[bytes]) -> None:
    """Painting on the server instead: each 1280x720 frame decoded, boxed and re-encoded in a
    Chromium page (the runner has no image library), round trip included."""
    import base64

    total: list[float] = []
    in_page: list[float] = []
    for frame in frames:
        started = time.perf_counter()
        _jpeg, ms = await decoder.evaluate(
            REPAINT_JS, [base64.b64encode(frame).decode("ascii"), [[40, 300, 380, 40], [40, 520, 380, 40]]]
        )
        total.append((time.perf_counter() - started) * 1000)
        in_page.append(ms)
    print(
        f"  server-side alternative (decode + paint + encode in Chromium, {len(frames)} frames):"
        f" per frame p50 {percentile(total, 50):.1f} ms, p99 {percentile(total, 99):.1f} ms"
        f" (in the page p50 {percentile(in_page, 50):.1f} ms, p99 {percentile(in_page, 99):.1f} ms)"
        f" (load {loadavg()})"
    )


async def redaction_race(host: BrowserHost, base: str, seconds: float) -> None:
    """How often a frame shows a masked field the box missed: fields with a magenta border and
    background, scrolled continuously, every delivered frame decoded (in a Chromium of its own) and
    searched for magenta. The document scroll and a nested scroller separately; without the overlay
    as the control."""
    import base64

    from playwright.async_api import async_playwright

    print(f"\npixel redaction race: masked fields moving, {seconds:.0f} s each, every frame decoded:")
    async with async_playwright() as pw:
        decoder_browser = await pw.chromium.launch(executable_path=settings.BROWSER_EXECUTABLE_PATH)
        decoder = await decoder_browser.new_page()
        try:
            for where in ("document", "nested", "slide"):
                for redact in (True, False):
                    session = Session(host, redact=redact)
                    frames: list[bytes] = []
                    deliver = session._deliver

                    def keep(data: bytes, now: float, deliver: Any = deliver, frames: list = frames) -> None:
                        frames.append(data)
                        deliver(data, now)

                    session._deliver = keep  # type: ignore[method-assign]
                    try:
                        await session.open(f"{base}/{'slide' if where == 'slide' else 'race'}")
                        await asyncio.sleep(1)
                        page = session.page
                        if where == "nested":
                            box = await page.locator("#inner").bounding_box()
                            await page.mouse.move(box["x"] + 300, box["y"] + 150)
                        else:
                            await page.mouse.move(1000, 100)

                        async def script(page: Any = page, where: str = where) -> None:
                            while where != "slide":  # the slide page moves by itself
                                for dy in (40,) * 12 + (-40,) * 12:
                                    await page.mouse.wheel(0, dy)
                                    await asyncio.sleep(0.02)

                        actor = asyncio.ensure_future(script())
                        frames.clear()
                        elapsed, _ = await measure([session], seconds)
                        actor.cancel()
                        sample = list(frames)
                    finally:
                        await session.close()
                    counts: list[int] = []
                    for i in range(0, len(sample), 20):
                        chunk = [base64.b64encode(f).decode("ascii") for f in sample[i : i + 20]]
                        counts += await decoder.evaluate(MAGENTA_JS, chunk)
                    if where == "document" and not redact:
                        await server_side_alternative(decoder, sample[:60])
                    exposed = [c for c in counts if c > EXPOSED_PIXELS]
                    what = "overlay on " if redact else "overlay off"
                    print(
                        f"  {where:8s} {what}: {len(counts)} frames ({len(counts) / elapsed:.1f} fps),"
                        f" {len(exposed)} with a field uncovered"
                        f" ({100 * len(exposed) / max(len(counts), 1):.1f} %; magenta pixels in those:"
                        f" median {statistics.median(exposed) if exposed else 0:.0f},"
                        f" max {max(exposed, default=0)})"
                        f" (load {loadavg()})"
                    )
        finally:
            await decoder_browser.close()


async def memory(
    base: str, count: int, seconds: float, dump: bool = False, page: str = "animated", no_cast: bool = False
) -> None:
    host = await BrowserHost(max_contexts=count + 1, max_memory_percent=99).start()
    try:
        sessions: list[Session] = []
        await asyncio.sleep(2)
        samples = [pss_by_type()]
        for _ in range(count):
            session = Session(host)
            await session.open(f"{base}/{page}")
            if no_cast:
                await session.cast.stop()
            sessions.append(session)
            await asyncio.sleep(4)
            samples.append(pss_by_type())
        kinds = sorted({k for s in samples for k in s} - {"total", "renderers", "anon+shmem"})
        print(
            f"\nmemory, PSS MiB of all Chromium processes, animated sessions at 1280x720 (load {loadavg()}):"
        )
        print(
            "  sessions  "
            + "  ".join(f"{k:>12}" for k in kinds)
            + "     total  (+delta)  anon+shmem  renderers"
        )
        for n, sample in enumerate(samples):
            delta = "" if n == 0 else f"(+{sample['total'] - samples[n - 1]['total']:.0f})"
            cells = "  ".join(f"{sample.get(k, 0.0):12.0f}" for k in kinds)
            print(
                f"  {n:8d}  {cells}  {sample['total']:8.0f}  {delta:>8}  {sample['anon+shmem']:10.0f}"
                f"  {int(sample['renderers']):9d}"
            )
        if count >= 2:
            total = slope([s["total"] for s in samples[1:]])
            private = slope([s["anon+shmem"] for s in samples[1:]])
            print(
                f"  PSS with 1 session {samples[1]['total']:.0f} MiB; marginal per extra session:"
                f" PSS {total:.1f} MiB,"
                f" anon+shmem {private:.1f} MiB (least-squares slope over 1..{count} sessions;"
                f" {foreign_chromium()} other Chromium processes on the host)"
            )
        if dump:
            for pid, kind in sorted(chromium_pids().items()):
                with open(f"/proc/{pid}/smaps_rollup") as fh:
                    kib = sum(int(line.split()[1]) for line in fh if line.startswith("Pss:"))
                with open(f"/proc/{pid}/cmdline", "rb") as fh:
                    cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace")
                flags = " ".join(
                    re.findall(
                        r"--(?:renderer-client-id|utility-sub-type|extension-process)[=\w.-]*", cmdline
                    )
                )
                print(f"  pid {pid:7d} {kind:12s} {kib / 1024:6.1f} MiB {flags}")
        elapsed, cpu = await measure(sessions, seconds / 2)
        rates = ", ".join(f"{s.sent / elapsed:.1f}" for s in sessions)
        print(f"\n{len(sessions)} animated sessions (load {loadavg()}): fps delivered each [{rates}]")
        print(f"  Chromium CPU {cpu / elapsed:.2f} cores, {cpu / elapsed / len(sessions):.2f} per session")
        for session in sessions:
            await session.close()
    finally:
        await host.close()


async def main(args: argparse.Namespace) -> None:
    if args.executable:
        settings.BROWSER_EXECUTABLE_PATH = args.executable
    Session.redact = not args.no_redaction
    if args.budget is not None:
        settings.BROWSER_SCREENCAST_MAX_BYTES_PER_SECOND = args.budget
    if args.arg or args.keep_feature:
        production = launch.browser_launch_options

        def with_levers(*a: Any, **kw: Any) -> dict[str, Any]:
            """Production options plus the levers; ``--disable-features`` lists are merged (Chromium
            keeps only the last such switch), ``--keep-feature`` takes one out of production's."""
            options = production(*a, **kw)
            features = [f for f in launch.DISABLED_FEATURES if f not in args.keep_feature]
            extra = []
            for arg in args.arg:
                if arg.startswith("--disable-features="):
                    features += arg.split("=", 1)[1].split(",")
                else:
                    extra.append(arg)
            merged = "--disable-features=" + ",".join(features)
            options["args"] = [merged if a == launch.DISABLED_FEATURES_ARG else a for a in options["args"]]
            options["args"] += extra
            return options

        worker_host.browser_launch_options = with_levers  # what BrowserHost launches with
    version = subprocess.run(
        [settings.BROWSER_EXECUTABLE_PATH, "--version"], capture_output=True, text=True
    ).stdout.strip()
    print(f"{time.strftime('%Y-%m-%d %H:%M %Z')}  {version}  load {loadavg()}  cores {os.cpu_count()}")
    print(f"byte budget {settings.BROWSER_SCREENCAST_MAX_BYTES_PER_SECOND} B/s per viewer (0: none)")
    print(
        f"executable {settings.BROWSER_EXECUTABLE_PATH}  extra switches {args.arg or 'none'}"
        f"  features kept on {args.keep_feature or 'none'}\n"
    )

    from demo_site.server import make_server, serve_in_thread

    server = await asyncio.start_server(_serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    # The demo site's widget loader points at a closed port that is not allow-listed: refused.
    demo_site = make_server("127.0.0.1", 0, "http://127.0.0.1:9", quiet=True)
    serve_in_thread(demo_site)
    demo_port = demo_site.server_address[1]
    settings.BROWSER_EGRESS_ALLOW_HOSTS = [f"127.0.0.1:{port}", f"127.0.0.1:{demo_port}"]
    base = f"http://127.0.0.1:{port}"
    only = set(args.only.split(","))
    if "first" in only:
        await first_frame(base, args.warm_runs)
    if only & {"rate", "demo"}:
        async with BrowserHost(max_contexts=4, max_memory_percent=99) as host:
            Session.blank = Session.blank or await blank_digests(host)
            if "rate" in only:
                await rates(host, base, args.seconds)
            if "demo" in only:
                await demo(host, f"http://127.0.0.1:{demo_port}", args.seconds)
                await demo(host, f"http://127.0.0.1:{demo_port}", args.seconds, continuous=True)
    if "redaction" in only:
        async with BrowserHost(max_contexts=4, max_memory_percent=99) as host:
            await redaction_costs(host, base, args.seconds)
            await redaction_race(host, base, args.seconds)
    if "memory" in only:
        await memory(base, args.sessions, args.seconds, args.dump_processes, args.memory_page, args.no_cast)
    server.close()
    demo_site.shutdown()
    print(f"\ndone (load {loadavg()})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--sessions", type=int, default=5, help="animated sessions for the memory figures")
    parser.add_argument("--warm-runs", type=int, default=5)
    parser.add_argument("--only", default="first,rate,demo,redaction,memory")
    parser.add_argument("--arg", action="append", default=[], help="an extra Chromium switch (repeatable)")
    parser.add_argument("--memory-page", default="animated", choices=["animated", "still"])
    parser.add_argument("--no-cast", action="store_true", help="memory: stop each screencast once open")
    parser.add_argument("--dump-processes", action="store_true", help="list Chromium processes and PSS")
    parser.add_argument(
        "--keep-feature",
        action="append",
        default=[],
        help="leave a feature production disables on (repeatable)",
    )
    parser.add_argument("--executable", default="", help="Chromium binary (default: the setting)")
    parser.add_argument(
        "--no-redaction", action="store_true", help="sessions without the pixel-redaction overlay"
    )
    parser.add_argument(
        "--budget", type=int, default=None, help="bytes/s per viewer (default: the setting; 0: none)"
    )
    sys.exit(asyncio.run(main(parser.parse_args())))
