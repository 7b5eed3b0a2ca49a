"""HTML to PDF with the Chromium the project already runs, started the browser worker's way.

Chromium is launched with ``browser.launch.browser_launch_options``: sandbox on, never as root (a
root process starts it as the browser user), none of this process's environment. Its egress proxy
is a dead end, a loopback port we hold bound but never listen on, and its resolver rules leave
nothing else to reach; on top of that every request the page makes is aborted and JavaScript is
off. The page is given its HTML directly (``set_content``), so a report renders with no network,
no server and no browser worker running.

Playwright's sync API refuses to run in a thread with an event loop (an ASGI request, a test), so
each rendering gets a thread of its own.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from browser.launch import BrowserUserError, browser_launch_options, context_options

if TYPE_CHECKING:
    from playwright.sync_api import PdfMargins

LOOPBACK = "127.0.0.1"
TIMEOUT_MS = 30_000
MARGINS: PdfMargins = {"top": "14mm", "bottom": "16mm", "left": "12mm", "right": "12mm"}
FOOTER = (
    '<div style="font-size:8px;width:100%;text-align:center;color:#52606d;">'
    '<span class="title"></span> · page <span class="pageNumber"></span> of <span class="totalPages"></span>'
    "</div>"
)


class PdfError(RuntimeError):
    """Chromium could not be started or could not print the page; the message says why."""


def render(html: str) -> bytes:
    """The page printed to A4 PDF (backgrounds and inline SVG included), as bytes."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="report-pdf") as pool:
        return pool.submit(_render, html).result()


@contextlib.contextmanager
def _dead_end() -> Iterator[int]:
    """A loopback port that refuses every connection while the rendering runs."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((LOOPBACK, 0))
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


def _abort(route: Any) -> None:
    route.abort()


def _render(html: str) -> bytes:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    with _dead_end() as port, sync_playwright() as pw:
        try:
            options = browser_launch_options(port, proxy_host=LOOPBACK)
            browser = pw.chromium.launch(**options, timeout=TIMEOUT_MS)
        except BrowserUserError as exc:
            raise PdfError(str(exc)) from None
        except PlaywrightError as exc:
            raise PdfError(f"Chromium did not start: {exc.message.splitlines()[0]}") from None
        try:
            context = browser.new_context(**context_options(), java_script_enabled=False)
            context.set_default_timeout(TIMEOUT_MS)
            context.route("**/*", _abort)
            page = context.new_page()
            page.set_content(html, wait_until="load")
            pdf: bytes = page.pdf(
                format="A4",
                print_background=True,
                margin=MARGINS,
                display_header_footer=True,
                header_template="<div></div>",
                footer_template=FOOTER,
            )
            return pdf
        except PlaywrightError as exc:
            raise PdfError(f"the page was not printed: {exc.message.splitlines()[0]}") from None
        finally:
            browser.close()
