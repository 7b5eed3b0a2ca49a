"""A live ASGI server in a forked daphne, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from daphne.testing import DaphneProcess
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


class LiveAsgiServer:
    host = "localhost"

    def start(self) -> None:
        # The test database name is already in settings in the parent (pytest-django set it).
        self.process = DaphneProcess(self.host, partial(_application), setup=_server_setup)
        self.process.start()
        if not self.process.ready.wait(timeout=20):
            raise RuntimeError("live server did not start")
        self.port = self.process.port.value
        self.url = f"http://{self.host}:{self.port}"
        self.ws_url = f"ws://{self.host}:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


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
