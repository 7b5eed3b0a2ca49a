"""Beat-driven enforcement of the session timers. Idempotent; the services check them too."""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.cache import cache

from cobrowse import selectors, services
from cobrowse.models import CoBrowseSession

logger = logging.getLogger(__name__)

SWEEP_LOCK_KEY = "cobrowse:sweep-lock"
SWEEP_LOCK_SECONDS = 25


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
        return len(ids)
    finally:
        cache.delete(SWEEP_LOCK_KEY)


WATCH_LOCK_KEY = "cobrowse:browser-watch-lock"


@shared_task(time_limit=60, soft_time_limit=50, ignore_result=True)
def watch_browser_runners() -> dict[str, int]:
    """Every 30 s: a server-side browser whose runner vanished is relaunched with nobody watching.

    Viewer sockets check their session's runner every few seconds; this covers sessions with no
    viewer connected, so a killed browser worker never leaves a session waiting for the inactivity
    timeout (``browser_services.watch_runner`` relaunches, then ends it with a reason).
    """
    from cobrowse.browser import selectors as browser_selectors
    from cobrowse.browser import services as browser_services

    if not cache.add(WATCH_LOCK_KEY, "1", timeout=SWEEP_LOCK_SECONDS):
        return {}
    outcomes: dict[str, int] = {}
    try:
        for session_id in browser_selectors.sharing_browser_session_ids():
            try:
                outcome = browser_services.watch_runner(session_id)
            except Exception:  # one bad session must not stop the rest
                logger.exception("browser runner watch failed for session %s", session_id)
                outcome = "failed"
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        return outcomes
    finally:
        cache.delete(WATCH_LOCK_KEY)
