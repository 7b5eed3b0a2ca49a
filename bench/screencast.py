"""Screencast figures for server-side browser sessions. Prints numbers; never fails on time.

    .venv/bin/python -m bench.screencast [--seconds 10] [--contexts 4]

Runs the production pieces in-process: BrowserHost (Chromium through the egress proxy), the CDP
Screencast and the FramePolicy (10 fps cap, dedupe), against a page on 127.0.0.1 allow-listed for
the run. Measures fps delivered and bytes/s per viewer on an animated page (1280x720), the same on
a still page, frames skipped as unchanged, launch-to-first-frame, CPU per session, and the marginal
memory (PSS, /proc/<pid>/smaps_rollup over all Chromium processes) of each additional context.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.conf import settings  # noqa: E402

from cobrowse.browser.framepolicy import FramePolicy, Verdict  # noqa: E402
from cobrowse.browser.screencast import Screencast  # noqa: E402
from cobrowse.browser.worker import BrowserHost  # noqa: E402

ANIMATED = b"""<!doctype html><title>animated</title><body style="margin:0;font:20px sans-serif">
<h1>Loan application</h1><p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>
<div id="b" style="width:300px;height:200px;background:linear-gradient(90deg,#36c,#c63)"></div>
<script>let t=0;(function f(){t++;document.getElementById('b').style.transform=
'translateX('+(t%600)+'px) rotate('+(t%360)+'deg)';requestAnimationFrame(f)})()</script></body>"""
STILL = b"""<!doctype html><title>still</title><body style="margin:0;font:20px sans-serif">
<h1>Loan application</h1><p>Lorem ipsum dolor sit amet.</p><input value="Asha"></body>"""


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    body = ANIMATED if b"GET /animated" in head else STILL
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n")
    writer.write(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    await writer.drain()
    writer.close()


class Session:
    """One context + page + screencast + policy, counting what a viewer would receive."""

    def __init__(self, host: BrowserHost) -> None:
        self.host = host
        self.policy = FramePolicy(max_fps=settings.BROWSER_MAX_FPS)
        self.raw = self.sent = self.bytes = 0
        self.first_frame: float | None = None

    def _frame(self, data: bytes, _meta: dict) -> None:
        now = time.monotonic()
        self.raw += 1
        if self.first_frame is None:
            self.first_frame = now
        if self.policy.offer(data, now) is Verdict.SEND:
            self.sent += 1
            self.bytes += len(data)

    async def open(self, url: str) -> float:
        started = time.monotonic()
        self.context = await self.host.new_context(viewport={"width": 1280, "height": 720})
        self.page = await self.context.new_page()
        self.cast = Screencast(self.page, self._frame)
        await self.cast.start(self.policy.level)
        await self.page.goto(url)
        while self.first_frame is None:
            await asyncio.sleep(0.005)
        self.flusher = asyncio.ensure_future(self.flush_loop())
        return self.first_frame - started

    async def flush_loop(self) -> None:
        """As the runner's publisher does: a frame held back by the rate cap goes when it may."""
        while True:
            delay = self.policy.flush_delay(time.monotonic())
            await asyncio.sleep(min(delay, 0.05))
            pending = self.policy.flush(time.monotonic())
            if pending is not None:
                self.sent += 1
                self.bytes += len(pending)

    def reset(self) -> None:
        self.raw = self.sent = self.bytes = 0
        self.policy.skipped_unchanged = 0


def chromium_pids() -> list[int]:
    """Every Chromium process below this one (the browser, its renderers, GPU and utility)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [os.getpid()]
    while todo:
        for child in children.get(todo.pop(), []):
            todo.append(child)
            try:
                with open(f"/proc/{child}/cmdline", "rb") as fh:
                    if b"chromium" in fh.read():
                        found.append(child)
            except OSError:
                pass
    return found


def pss_mib() -> float:
    total = 0
    for pid in chromium_pids():
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                total += sum(int(line.split()[1]) for line in fh if line.startswith("Pss:"))
        except OSError:
            pass
    return total / 1024


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


async def main(seconds: float, contexts: int) -> None:
    server = await asyncio.start_server(_serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings.BROWSER_EGRESS_ALLOW_HOSTS = [f"127.0.0.1:{port}"]
    base = f"http://127.0.0.1:{port}"
    launch_started = time.monotonic()
    async with BrowserHost(max_contexts=contexts + 1, max_memory_percent=99) as host:
        launched = time.monotonic() - launch_started
        first = Session(host)
        context_to_frame = await first.open(f"{base}/animated")
        print(f"launch (Chromium + proxy)            {launched:6.2f} s")
        print(f"context + page + goto -> first frame {context_to_frame:6.2f} s")
        print(f"launch -> first frame                {launched + context_to_frame:6.2f} s")

        await asyncio.sleep(1)
        first.reset()
        cpu0, t0 = cpu_seconds(), time.monotonic()
        await asyncio.sleep(seconds)
        elapsed, cpu = time.monotonic() - t0, cpu_seconds() - cpu0
        print(f"\nanimated page, 1280x720, q{first.policy.level.quality}, {seconds:.0f} s, 1 session:")
        print(f"  frames from Chromium   {first.raw / elapsed:6.1f} /s")
        print(f"  frames delivered       {first.sent / elapsed:6.1f} /s (cap {first.policy.max_fps:g})")
        print(f"  bytes per viewer       {first.bytes / elapsed / 1024:6.1f} KB/s")
        print(f"  mean frame             {first.bytes / max(first.sent, 1) / 1024:6.1f} KB")
        print(f"  Chromium CPU           {cpu / elapsed:6.2f} cores")

        await first.page.goto(f"{base}/still")
        await asyncio.sleep(1)
        first.reset()
        t0 = time.monotonic()
        await asyncio.sleep(seconds / 2)
        elapsed = time.monotonic() - t0
        print(f"\nstill page, {seconds / 2:.0f} s:")
        print(f"  frames from Chromium   {first.raw / elapsed:6.1f} /s")
        print(f"  frames delivered       {first.sent / elapsed:6.1f} /s")
        print(f"  bytes per viewer       {first.bytes / elapsed / 1024:6.2f} KB/s")
        print(f"  skipped as unchanged   {first.policy.skipped_unchanged}")
        # Chromium sends nothing when nothing repaints; repaints of identical pixels (hidden
        # animations, blinking carets) are what the hash drops (tests/cobrowse/browser/test_worker.py).

        await first.page.goto(f"{base}/animated")
        await asyncio.sleep(2)
        memory = [pss_mib()]
        sessions = [first]
        for _ in range(contexts - 1):
            extra = Session(host)
            await extra.open(f"{base}/animated")
            sessions.append(extra)
            await asyncio.sleep(3)
            memory.append(pss_mib())
        print("\nmemory (PSS of all Chromium processes), animated sessions:")
        for count, mib in enumerate(memory, start=1):
            delta = "" if count == 1 else f"  (+{mib - memory[count - 2]:.0f} MiB)"
            print(f"  {count} session(s)  {mib:7.0f} MiB{delta}")
        if len(memory) > 1:
            print(f"  marginal per extra session  {(memory[-1] - memory[0]) / (len(memory) - 1):.0f} MiB")

        for session in sessions:
            session.reset()
        cpu0, t0 = cpu_seconds(), time.monotonic()
        await asyncio.sleep(seconds / 2)
        elapsed, cpu = time.monotonic() - t0, cpu_seconds() - cpu0
        rates = ", ".join(f"{s.sent / elapsed:.1f}" for s in sessions)
        print(f"\n{len(sessions)} animated sessions: fps delivered each [{rates}]")
        print(f"  Chromium CPU {cpu / elapsed:.2f} cores, {cpu / elapsed / len(sessions):.2f} per session")
        for session in sessions:
            session.flusher.cancel()
            await session.cast.stop()
    server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--contexts", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.contexts))
