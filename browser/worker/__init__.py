"""The server-side browser runner: one isolated context per session in a shared Chromium.

:class:`BrowserHost` (``host``) is one per worker process: Playwright, one Chromium launched through
the process's in-process egress proxy, admission (contexts per worker, host memory).
:class:`BrowserSessionRunner` (``runner``, with its parts in ``frames``, ``navigation``,
``viewer_input``, ``actions`` and ``recording``) owns one session. The Celery task
(``browser.tasks``) only wraps it.
"""

from browser.worker.errors import NavigationRefused, NeverAllowed, TooFast
from browser.worker.host import BrowserHost, NoCapacity, memory_percent
from browser.worker.runner import BrowserSessionRunner, RunnerConfig

__all__ = [
    "BrowserHost",
    "BrowserSessionRunner",
    "NavigationRefused",
    "NeverAllowed",
    "NoCapacity",
    "RunnerConfig",
    "TooFast",
    "memory_percent",
]
