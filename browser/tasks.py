"""Celery tasks of server-side browser sessions.

``run_browser_session`` goes to the ``browsers`` queue (CELERY_TASK_ROUTES); ``watch_browser_runners``
is light, beat-driven and stays on the default queue. Both keep the names they had when the browser
was part of the ``cobrowse`` app, so tasks queued before a deploy still find their code after it.

The session task is a thin wrapper: each worker process keeps one event loop in a background thread with
one :class:`BrowserHost` (Playwright, Chromium, egress proxy) and runs each session's
:class:`BrowserSessionRunner` on it. With ``-P threads --concurrency N`` the N sessions of a process
share its Chromium as isolated contexts; with prefork each child has its own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading

from celery import shared_task
from celery.signals import worker_process_shutdown, worker_shutdown
from django.conf import settings
from django.core.cache import cache

from browser.worker import BrowserHost, BrowserSessionRunner

logger = logging.getLogger(__name__)


class _Runtime:
    """This process's browser loop and host, started on first use."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="browser-loop", daemon=True)
        self.thread.start()
        self.host = self.submit(BrowserHost().start()).result(timeout=60)

    def submit(self, coro) -> concurrent.futures.Future:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self) -> None:
        try:
            self.submit(self.host.close()).result(timeout=20)
        except Exception:
            logger.warning("browser host did not close cleanly", exc_info=True)
        self.loop.call_soon_threadsafe(self.loop.stop)


_runtime: _Runtime | None = None
_runtime_lock = threading.Lock()


def runtime() -> _Runtime:
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = _Runtime()
        return _runtime


def session_time_limit() -> float:
    """The longest a session can last: maximum duration plus a few consented extensions, and slack."""
    return settings.COBROWSE_MAX_DURATION_SECONDS + 4 * settings.COBROWSE_EXTENSION_SECONDS + 120


_LIMIT = session_time_limit()


@shared_task(
    name="cobrowse.browser.tasks.run_browser_session",
    ignore_result=True,
    acks_late=False,
    time_limit=int(_LIMIT + 180),
    soft_time_limit=int(_LIMIT + 120),
)
def run_browser_session(session_id: int) -> str:
    """Run the session's browser until the session ends. Idempotent: a second copy finds it taken."""
    from browser import selectors, services

    if selectors.runner_info(session_id) is not None:
        return "already_running"
    services.runner_starting(session_id)  # a long queue wait must not read as a lost runner
    future = runtime().submit(BrowserSessionRunner(session_id, runtime().host).run())
    try:
        return future.result(timeout=session_time_limit())
    except concurrent.futures.TimeoutError:
        future.cancel()  # the runner ends the session with a reason on cancellation
        with contextlib.suppress(BaseException):  # cancelled or failed while closing: the limit counts
            future.result(timeout=15)
        return "time_limit"


WATCH_LOCK_KEY = "cobrowse:browser-watch-lock"
WATCH_LOCK_SECONDS = 25


@shared_task(
    name="cobrowse.tasks.watch_browser_runners", time_limit=60, soft_time_limit=50, ignore_result=True
)
def watch_browser_runners() -> dict[str, int]:
    """Every 30 s: a server-side browser whose runner vanished is relaunched with nobody watching.

    Viewer sockets check their session's runner every few seconds; this covers sessions with no
    viewer connected, so a killed browser worker never leaves a session waiting for the inactivity
    timeout (``services.watch_runner`` relaunches, then ends it with a reason). A Redis lock
    (``cache.add``) keeps two beat instances from watching at once.
    """
    from browser import selectors, services

    if not cache.add(WATCH_LOCK_KEY, "1", timeout=WATCH_LOCK_SECONDS):
        return {}
    outcomes: dict[str, int] = {}
    try:
        for session_id in selectors.sharing_browser_session_ids():
            try:
                outcome = services.watch_runner(session_id)
            except Exception:  # one bad session must not stop the rest
                logger.exception("browser runner watch failed for session %s", session_id)
                outcome = "failed"
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        return outcomes
    finally:
        cache.delete(WATCH_LOCK_KEY)


@worker_process_shutdown.connect
@worker_shutdown.connect
def _close_runtime(**_kwargs) -> None:
    global _runtime
    with _runtime_lock:
        if _runtime is not None:
            _runtime.close()
            _runtime = None
