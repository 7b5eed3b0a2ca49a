"""The help triggers' delay: from a stall threshold to the prompt on screen, in real Chromium.

Run from the repository root after ``npm run build`` (no database, no Redis: the triggers run in the
page and, without a signed user, call nothing):

    .venv/bin/python bench/help_prompt.py [--runs 20] [--threshold-ms 1500]

Serves ``static/`` on a local port as the Tandem origin and the demo site with
``Tandem.init({site, help: true, stallThresholdMs})``, then, per run, opens the demo's address step,
focuses the PIN code field and notes (in the page, with ``performance.now()``) when the focus
happened and when the prompt's element was attached; the delay is that span minus the threshold.
Prints the median, p95 and max of the delay. Never fails on time.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # this file is bench/help_prompt.py: keep it from shadowing the app

WATCH = """
window.__t = {};
document.addEventListener("focusin", (e) => {
  if (e.target.id === "pin-code") window.__t.focus = performance.now();
});
document.addEventListener("DOMContentLoaded", () => {
  new MutationObserver(() => {
    if (!window.__t.prompt && document.querySelector("[data-tandem=help-prompt]")) {
      window.__t.prompt = performance.now();
    }
  }).observe(document.documentElement, { childList: true, subtree: true });
});
"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--threshold-ms", type=int, default=1500)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from demo_site.server import SITE_KEY, make_server, serve_in_thread

    tandem = ThreadingHTTPServer(("localhost", 0), functools.partial(_Quiet, directory=str(ROOT)))
    threading.Thread(target=tandem.serve_forever, daemon=True).start()
    tandem_url = f"http://localhost:{tandem.server_address[1]}"
    init = {"site": SITE_KEY, "help": True, "stallThresholdMs": args.threshold_ms}
    demo = make_server("localhost", 0, tandem_url, quiet=True, tandem_init=init)
    serve_in_thread(demo)
    demo_url = f"http://localhost:{demo.server_address[1]}"

    delays: list[float] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        for _ in range(args.runs):
            context = browser.new_context()
            context.add_init_script(WATCH)
            page = context.new_page()
            page.goto(f"{demo_url}/apply/address")
            page.wait_for_function("() => !!window.TandemTriggers", timeout=10000)
            page.focus("#pin-code")
            page.wait_for_function("() => window.__t.prompt !== undefined", timeout=args.threshold_ms + 10000)
            times = page.evaluate("window.__t")
            delays.append(times["prompt"] - times["focus"] - args.threshold_ms)
            context.close()
        browser.close()
    demo.shutdown()
    tandem.shutdown()

    delays.sort()
    p95 = delays[min(len(delays) - 1, round(0.95 * (len(delays) - 1)))]
    print(f"stall threshold {args.threshold_ms} ms, {args.runs} runs, Chromium headless")
    print(
        f"delay from the threshold to the prompt: median {statistics.median(delays):.0f} ms, "
        f"p95 {p95:.0f} ms, max {delays[-1]:.0f} ms, min {delays[0]:.0f} ms"
    )


if __name__ == "__main__":
    main()
