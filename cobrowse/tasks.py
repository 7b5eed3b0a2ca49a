"""Beat-driven enforcement of the session timers. Idempotent; the services check them too."""

from __future__ import annotations

import logging
from collections.abc import Callable

from celery import shared_task
from django.core.cache import cache

from cobrowse import selectors, services
from cobrowse.models import CoBrowseSession

logger = logging.getLogger(__name__)

SWEEP_LOCK_KEY = "cobrowse:sweep-lock"
SWEEP_LOCK_SECONDS = 25

#: Passes of apps above the core that run with each sweep (their timers), registered in ``ready()``.
_sweep_passes: list[Callable[[], int]] = []


def on_sweep(sweep_pass: Callable[[], int]) -> Callable[[], int]:
    """Run ``sweep_pass`` with every session sweep; a failing pass is logged and skipped."""
    if sweep_pass not in _sweep_passes:
        _sweep_passes.append(sweep_pass)
    return sweep_pass


@shared_task(time_limit=60, soft_time_limit=50, ignore_result=True)
def refresh_session(session_id: int) -> str:
    """Close one session if a timer ran out; a no-op otherwise (or if it no longer exists)."""
    try:
        return services.refresh_state(session_id).state
    except CoBrowseSession.DoesNotExist:
        return "missing"


@shared_task(time_limit=120, soft_time_limit=100, ignore_result=True)
def sweep_sessions() -> int:
    """Every 30 s: expire invites, time out idle or overlong sessions, expire action requests.

    A Redis lock (``cache.add``) keeps two beat instances from sweeping at once.
    """
    if not cache.add(SWEEP_LOCK_KEY, "1", timeout=SWEEP_LOCK_SECONDS):
        return 0
    try:
        ids = sorted(set(selectors.overdue_session_ids()) | set(selectors.sessions_with_overdue_actions()))
        for session_id in ids:
            try:
                refresh_session(session_id)
            except Exception:  # one bad row must not stop the sweep
                logger.exception("co-browse sweep failed for session %s", session_id)
        for sweep_pass in _sweep_passes:
            try:
                sweep_pass()
            except Exception:
                logger.exception(
                    "co-browse sweep pass %s failed", getattr(sweep_pass, "__name__", sweep_pass)
                )
        return len(ids)
    finally:
        cache.delete(SWEEP_LOCK_KEY)
