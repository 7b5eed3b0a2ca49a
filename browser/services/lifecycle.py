"""Starting and stopping server-side browser sessions, their runner's seat and runtime state.

The runner (``browser.worker``) lives in a Celery worker on the ``browsers`` queue; here the web
processes queue it (once: a launch key in the cache), notice when it vanished and queue it again,
and the runner claims its seat, heartbeats and saves the state the viewers and the API read.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction

from browser import selectors
from cobrowse import services as session_services
from cobrowse.groups import browser_control_group, browser_viewers_group
from cobrowse.models import LIVE_STATES, SHARING_STATES, CoBrowseSession, EndReason, SessionKind, SessionState
from cobrowse.services import log_event as record_browser_event
from live.services import log_activity
from tickets.models import Ticket

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

#: End reasons of browser sessions beyond ``EndReason`` (stored as codes in ``end_reason``).
BROWSER_FAILED = "browser_failed"
BROWSER_LOST = "browser_lost"

RUNNER_TTL_SECONDS = 30
STATE_TTL_SECONDS = 3600


@dataclass(frozen=True)
class BrowserStart:
    session: CoBrowseSession
    join_url: str  # empty when an already consented session was (re)launched
    launched: bool


def start_browser_session(ticket: Ticket, *, agent: User, start_url: str, channel: str) -> BrowserStart:
    """Invite the customer to a server-side browser session on ``start_url``, or launch the browser.

    A ticket whose browser session the customer already consented to gets its browser started
    (the assistant/API path). Any other live browser session of the agent is ended first: one
    live browser per agent.
    """
    from cobrowse.browser.urlguard import UrlRefused, check_url

    try:
        check_url(start_url)
    except UrlRefused as refused:
        raise ValidationError({"start_url": f"This address may not be opened: {refused.reason}."}) from None
    existing = CoBrowseSession.objects.filter(
        ticket=ticket, kind=SessionKind.BROWSER, agent=agent, state__in=SHARING_STATES
    ).first()
    _end_other_browsers(agent, keep=existing.pk if existing else None)
    if existing is not None:
        ensure_runner(existing.pk)
        return BrowserStart(existing, "", launched=True)
    from consent import invitations

    started = invitations.start_session(
        ticket, agent=agent, channel=channel, target_url=start_url, kind=SessionKind.BROWSER
    )
    return BrowserStart(started.session, started.join_url, launched=False)


def _end_other_browsers(agent: User, *, keep: int | None) -> None:
    others = CoBrowseSession.objects.filter(kind=SessionKind.BROWSER, agent=agent, state__in=LIVE_STATES)
    if keep is not None:
        others = others.exclude(pk=keep)
    for other in others:
        session_services.end_session(other, actor=agent, reason=EndReason.AGENT_ENDED)
        _broadcast_stop(other.pk)


def stop_browser_session(session: CoBrowseSession, *, actor: User) -> CoBrowseSession:
    """End the session; its runner hears ``session.changed`` and closes the browser."""
    ended = session_services.end_session(session, actor=actor, reason=EndReason.AGENT_ENDED)
    _broadcast_stop(session.pk)
    return ended


def _broadcast_stop(session_id: int) -> None:
    layer = get_channel_layer()
    message = {"type": "browser.stop"}
    transaction.on_commit(lambda: send_quietly(layer.group_send, browser_control_group(session_id), message))


def send_quietly(func: Any, *args: Any) -> None:
    """Best effort to the runner or the viewers: a channel-layer hiccup must not fail the write."""
    try:
        async_to_sync(func)(*args)
    except Exception:
        logger.warning("could not reach the browser runner", exc_info=True)


#: A queued runner counts as starting this long (queue wait, then Chromium and the first page);
#: the task renews it when it starts (:func:`runner_starting`).
LAUNCH_GRACE_SECONDS = 180


def runner_starting(session_id: int) -> None:
    """The runner task began: it is starting, not lost, until it registers (page open)."""
    cache.set(selectors.launching_key(session_id), time.time(), timeout=LAUNCH_GRACE_SECONDS)


def ensure_runner(session_id: int) -> bool:
    """Queue the session's runner unless one runs or is being started. True when queued."""
    if selectors.runner_info(session_id) is not None:
        return False
    if not cache.add(selectors.launching_key(session_id), time.time(), timeout=LAUNCH_GRACE_SECONDS):
        return False
    from browser.tasks import run_browser_session

    transaction.on_commit(lambda: run_browser_session.delay(session_id))
    return True


#: How often a session's runner is started again after it vanished (its worker died) before the
#: session ends with ``browser_lost``; counted per session over RELAUNCH_WINDOW_SECONDS.
MAX_RELAUNCHES = 3
RELAUNCH_WINDOW_SECONDS = 3600


def watch_runner(session_id: int) -> str:
    """Called while someone watches: ``running``, ``starting``, ``relaunched`` or ``ended``.

    A runner that stops heartbeating (its worker was killed: no ``finally`` ran, the task is not
    redelivered, ``acks_late`` is off) disappears from the cache after RUNNER_TTL_SECONDS. Then the
    session is marked reconnecting and its runner queued again, so a restarted (or another) worker
    takes it up; after MAX_RELAUNCHES without a runner that stays, the session ends with
    ``browser_lost`` instead of waiting for the inactivity timeout.
    """
    if selectors.runner_info(session_id) is not None:
        return "running"
    if cache.get(selectors.launching_key(session_id)) is not None:
        return "starting"  # queued or starting (LAUNCH_GRACE_SECONDS)
    session = session_services.refresh_state(session_id)
    if session.state not in SHARING_STATES:
        return "ended"
    key = f"browser:{int(session_id)}:relaunches"
    cache.add(key, 0, RELAUNCH_WINDOW_SECONDS)
    if (cache.get(key) or 0) >= MAX_RELAUNCHES:
        finish(session_id, SessionState.ENDED, BROWSER_LOST)
        log_activity(session_id, None, "browser_lost", relaunches=MAX_RELAUNCHES)
        logger.warning("browser session %s: no runner after %d relaunches, ended", session_id, MAX_RELAUNCHES)
        return "ended"
    if not ensure_runner(session_id):
        return "starting"  # another viewer (or the beat job) queued it a moment ago: one attempt
    attempts = cache.incr(key)
    if session.state == SessionState.ACTIVE:
        session_services.mark_reconnecting(session_id)
    save_runtime(session_id, {**selectors.runtime_state(session_id), "browser": "reconnecting"})
    log_activity(session_id, None, "browser_relaunched", attempt=attempts)
    logger.warning("browser session %s: runner gone, queued again (%d)", session_id, attempts)
    send_quietly(
        get_channel_layer().group_send,
        browser_viewers_group(session_id),
        {"type": "browser.status", "browser": "reconnecting", "loading": False},
    )
    return "relaunched"


def finish(session_id: int, state: str, reason: str) -> CoBrowseSession:
    """The runner ends the session (idle, crash, lost): no actor, a reason code."""
    current = session_services.refresh_state(session_id)
    if current.is_terminal:
        return current
    with transaction.atomic():
        locked = session_services.lock(session_id)
        if locked.is_terminal:
            return locked
        return session_services.transition(locked, state, reason=reason)


def report_blocked(session_id: int, host: str, reason: str) -> None:
    session = CoBrowseSession.objects.select_related("ticket").get(pk=session_id)
    record_browser_event(session, "browser_blocked", host=host[:200], reason=reason[:200])


# --- runtime state (written by the runner) --------------------------------------------------------


def register_runner(session_id: int, info: dict[str, Any]) -> None:
    cache.set(selectors.runner_key(session_id), info, RUNNER_TTL_SECONDS)
    cache.delete(selectors.launching_key(session_id))


def claim_runner(session_id: int, info: dict[str, Any]) -> bool:
    """Take the session's runner seat (``info["channel"]`` names the runner). False while another
    runner holds it: two runners would both perform every click and keystroke."""
    key = selectors.runner_key(session_id)
    if cache.add(key, info, RUNNER_TTL_SECONDS):
        cache.delete(selectors.launching_key(session_id))
        return True
    current = cache.get(key)
    return bool(current) and current.get("channel") == info.get("channel")


def renew_runner(session_id: int, info: dict[str, Any]) -> bool:
    """The holder's heartbeat. False when another runner holds the seat: this one must stop."""
    key = selectors.runner_key(session_id)
    current = cache.get(key)
    if current is not None and current.get("channel") != info.get("channel"):
        return False
    cache.set(key, info, RUNNER_TTL_SECONDS)
    return True


def unregister_runner(session_id: int, channel: str) -> None:
    current = cache.get(selectors.runner_key(session_id))
    if current and current.get("channel") == channel:
        cache.delete(selectors.runner_key(session_id))


def save_runtime(session_id: int, state: dict[str, Any]) -> None:
    cache.set(selectors.state_key(session_id), state, STATE_TTL_SECONDS)


def browser_started(session_id: int) -> CoBrowseSession:
    """The browser shows the page: the session is active (again, after a recovery)."""
    return session_services.mark_active(session_id)


def browser_reconnecting(session_id: int) -> CoBrowseSession:
    return session_services.mark_reconnecting(session_id)


def redaction_selectors(session: CoBrowseSession) -> tuple[str, ...]:
    """The account's masking selectors the server understands (the never-list's masked fields)."""
    from live.services import usable_selectors

    account = session.ticket.account
    return usable_selectors(account.masking_selectors) if account else ()


def load_for_runner(session_id: int) -> CoBrowseSession:
    return CoBrowseSession.objects.select_related("ticket__account").get(pk=session_id)


def refresh(session_id: int) -> CoBrowseSession:
    return session_services.refresh_state(session_id)


def touch(session_id: int) -> None:
    session_services.touch(session_id)
