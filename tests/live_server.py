"""A live ASGI server in a forked uvicorn (as deployed), and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import socket
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import connections

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# Test-only handle on the widget badge's closed shadow root (it stays closed for the page itself),
# so a test can read the badge and click where Stop sharing is drawn, like a person would. The end
# card's root (the survey) is kept the same way.
KEEP_BADGE_ROOT = """
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) {
  const root = attach.call(this, init);
  const kind = this.getAttribute && this.getAttribute("data-tandem");
  if (kind === "badge") window.__badgeRoot = root;
  if (kind === "survey") window.__surveyRoot = root;
  return root;
};
"""

_abandoned: list = []


def _server_setup() -> None:
    """Runs in the forked server: its own connections, threads and no async-unsafe escape hatch.

    Everything the parent had open was inherited by fork. Sockets are dropped without being closed
    (closing could shut them down under the parent too); thread pools are replaced, because a
    forked copy of an executor believes its (now missing) worker thread still exists, and every
    ``database_sync_to_async`` call would wait for it forever.
    """
    from asgiref.sync import SyncToAsync
    from django.core.cache import caches

    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    for conn in connections.all():
        if conn.connection is not None:
            _abandoned.append(conn.connection)
            conn.connection = None
        # A connection pool's connections are the parent's and its worker threads did not survive
        # the fork: the child starts its own pool on first use.
        pools = getattr(type(conn), "_connection_pools", None)
        if pools:
            _abandoned.append(dict(pools))
            pools.clear()
    for cache in caches.all(initialized_only=True):
        pools = getattr(getattr(cache, "_cache", None), "_pools", None)
        if pools:
            _abandoned.append(dict(pools))
            pools.clear()
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)


def _application():
    from channels.routing import get_default_application
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    return ASGIStaticFilesHandler(get_default_application())


class UvicornProcess(multiprocessing.Process):
    """uvicorn with the production options (``config.serve``) in a forked child.

    The parent binds the socket, so the port is known before the fork and connections made
    before the child is serving wait in the backlog instead of failing.
    """

    def __init__(self, sock: socket.socket, get_application: Callable[[], Any], setup: Callable[[], None]):
        super().__init__(daemon=True)
        self.sock = sock
        self.get_application = get_application
        self.setup = setup
        self.ready = multiprocessing.Event()
        self.errors: multiprocessing.Queue = multiprocessing.Queue()

    def run(self) -> None:
        import uvicorn

        from config.serve import SERVER_OPTIONS

        ready = self.ready

        class Server(uvicorn.Server):
            async def startup(self, sockets: list[socket.socket] | None = None) -> None:
                await super().startup(sockets=sockets)
                ready.set()

        try:
            self.setup()
            options = {**SERVER_OPTIONS, "timeout_graceful_shutdown": 2, "log_level": "warning"}
            Server(uvicorn.Config(self.get_application(), **options)).run(sockets=[self.sock])
        except BaseException as exc:  # reported to the parent, which is waiting on `ready`
            self.errors.put(f"{exc!r}\n{traceback.format_exc()}")


class LiveAsgiServer:
    host = "localhost"

    def start(self) -> None:
        # The test database name is already in settings in the parent (pytest-django set it).
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        self.process = UvicornProcess(self.sock, _application, _server_setup)
        self.process.start()
        if not self.process.ready.wait(timeout=20):
            detail = "" if self.process.errors.empty() else self.process.errors.get()
            self.stop()
            raise RuntimeError(f"live server did not start {detail}")
        self.url = f"http://{self.host}:{self.port}"
        self.ws_url = f"ws://{self.host}:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.sock.close()


@contextlib.contextmanager
def launch_browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=settings.BROWSER_EXECUTABLE_PATH, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


def login(page, base_url: str, username: str, password: str = "tandem-demo") -> None:
    """Log in through the real login form."""
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


# The widget's consent card (closed shadow root, focus on the dialog, Allow first, then Deny).
CONSENT_CARD_FOCUSED = (
    "() => { const el = document.activeElement;"
    " return !!el && el.getAttribute('data-tandem') === 'consent'; }"
)


def answer_consent_card(page, *, allow: bool = True, timeout: float = 10000) -> None:
    """The page's owner answers the widget's consent card with the keyboard, as a person would.

    The card takes the focus once it shows its question; Tab reaches Allow, a second Tab Deny.
    """
    page.wait_for_function(CONSENT_CARD_FOCUSED, timeout=timeout)
    page.keyboard.press("Tab")
    if not allow:
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
