"""Launch a browser worker's Chromium when the worker starts, not when its first session arrives.

A session on a worker whose Chromium is already running pays only context + page + goto
(docs/benchmarks-screencast.md: ~0.3 s warm against 0.8 to 2 s with the launch). The Celery hooks
below start the process's browser runtime (``browser.tasks.runtime()``: its event loop,
Playwright, the egress proxy and Chromium) in a background thread as soon as a worker that consumes
the browser queue is up, so start-up is not held back and a session arriving meanwhile simply waits
for the same launch (``runtime()`` is serialised by its lock).

- ``worker_process_init``: the process that will run the tasks under the prefork pool (each child)
  and the solo pool (the worker itself).
- ``worker_ready``: the worker's main process, for pools whose tasks run in it (``-P threads``, as
  the Procfile's browser worker runs). Never under prefork: the parent runs no task, and a browser
  started there would be useless to the children.

Workers that do not consume the browser queue (``-Q default``) launch nothing. ``BROWSER_PREWARM =
False`` in settings turns it off. Connected from ``BrowserConfig.ready``. A worker that cannot
start Chromium sandboxed (root, and no usable ``BROWSER_RUN_AS_USER``) says so once, at start-up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from celery.signals import worker_process_init, worker_ready
from django.conf import settings

logger = logging.getLogger(__name__)

TASK_NAME = "cobrowse.browser.tasks.run_browser_session"
_PREFORK_MODULES = ("celery.concurrency.prefork", "celery.concurrency.asynpool")


def browser_queue(app: Any) -> str:
    """The queue the browser-session task is routed to (CELERY_TASK_ROUTES)."""
    try:
        queue = app.amqp.router.route({}, TASK_NAME)["queue"]
        return str(getattr(queue, "name", queue))
    except Exception:
        return "browsers"


def consumed_queues(app: Any) -> set[str]:
    try:
        return set(app.amqp.queues.consume_from or ())
    except Exception:
        return set()


def should_prewarm(queues: Iterable[str], browser_queue_name: str) -> bool:
    return bool(getattr(settings, "BROWSER_PREWARM", True)) and browser_queue_name in set(queues)


def warm() -> float | None:
    """Start this process's browser runtime; seconds it took, or None if it failed (logged)."""
    from browser import tasks
    from browser.launch import BrowserUserError

    started = time.monotonic()
    try:
        tasks.runtime()
    except BrowserUserError as exc:  # a set-up mistake, said once and plainly, not as a traceback
        logger.error("browser worker cannot start Chromium sandboxed: %s", exc)
        return None
    except Exception:
        logger.warning("browser prewarm failed; the first session will launch Chromium", exc_info=True)
        return None
    took = time.monotonic() - started
    logger.info("browser prewarmed: Chromium running after %.2f s", took)
    return took


def start(app: Any) -> threading.Thread | None:
    """Warm in a background thread if this worker consumes the browser queue."""
    if not should_prewarm(consumed_queues(app), browser_queue(app)):
        return None
    thread = threading.Thread(target=warm, name="browser-prewarm", daemon=True)
    thread.start()
    return thread


def _current_app() -> Any:
    from celery import current_app

    return current_app


@worker_process_init.connect(dispatch_uid="browser.prewarm.process_init")
def _on_worker_process_init(**_kwargs: Any) -> None:
    start(_current_app())


@worker_ready.connect(dispatch_uid="browser.prewarm.worker_ready")
def _on_worker_ready(sender: Any = None, **_kwargs: Any) -> None:
    pool = getattr(sender, "pool", None)
    if pool is None or type(pool).__module__ in _PREFORK_MODULES:
        return  # prefork: each child warms itself in worker_process_init
    app = getattr(sender, "app", None) or _current_app()
    start(app)
