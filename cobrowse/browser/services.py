"""Server-side browser sessions: starting them, who may drive, and talking to the session's runner.

The runner (``cobrowse.browser.worker``) lives in a Celery worker on the ``browsers`` queue; the
web processes reach it only through the channel layer: requests go to the group
``browser.<id>.control`` with a private reply channel, answers come back in parts (the layer
refuses messages over 1 MB, a PNG screenshot can be larger).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from audit import services as audit
from cobrowse import policy
from cobrowse import services as session_services
from cobrowse.browser import selectors
from cobrowse.groups import browser_control_group, browser_viewers_group
from cobrowse.masking import redact_text, redact_typed_value, redact_url
from cobrowse.models import (
    LIVE_STATES,
    SHARING_STATES,
    CoBrowseSession,
    ControlMode,
    EndReason,
    Participant,
    ParticipantRole,
    SessionKind,
    SessionState,
)
from cobrowse.services import log_event as record_browser_event
from live.services import LiveRefused, log_activity
from tickets.models import Ticket

logger = logging.getLogger(__name__)

#: End reasons of browser sessions beyond ``EndReason`` (stored as codes in ``end_reason``).
BROWSER_FAILED = "browser_failed"
BROWSER_LOST = "browser_lost"

#: Modes in which the agent may drive the server-side browser.
DRIVING_MODES = frozenset({ControlMode.CONTROLLED, ControlMode.FULL})
REPLY_CHUNK_BYTES = 512 * 1024
RUNNER_TTL_SECONDS = 30
STATE_TTL_SECONDS = 3600


# --- errors --------------------------------------------------------------------------------------


class BrowserError(Exception):
    """A refusal with an HTTP status and a stable code; nothing was changed."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status


class RunnerUnavailable(BrowserError):
    status = 503
    code = "browser_unavailable"


class RunnerTimeout(BrowserError):
    status = 504
    code = "browser_timeout"


class NotDriving(BrowserError):
    status = 409
    code = "not_allowed"


class RateLimited(BrowserError):
    status = 429
    code = "rate_limited"


# --- starting and stopping -----------------------------------------------------------------------


@dataclass(frozen=True)
class BrowserStart:
    session: CoBrowseSession
    join_url: str  # empty when an already consented session was (re)launched
    launched: bool


def start_browser_session(ticket: Ticket, *, agent: Any, start_url: str, channel: str) -> BrowserStart:
    """Invite the customer to a server-side browser session on ``start_url``, or launch the browser.

    A ticket whose browser session the customer already consented to gets its browser started
    (the assistant/API path). Any other live browser session of the agent is ended first: one
    live browser per agent.
    """
    from cobrowse.browser.urlguard import UrlRefused, check_url
    from consent import invitations

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
    started = invitations.start_session(
        ticket, agent=agent, channel=channel, target_url=start_url, kind=SessionKind.BROWSER
    )
    return BrowserStart(started.session, started.join_url, launched=False)


def _end_other_browsers(agent: Any, *, keep: int | None) -> None:
    others = CoBrowseSession.objects.filter(kind=SessionKind.BROWSER, agent=agent, state__in=LIVE_STATES)
    for other in others.exclude(pk=keep):
        session_services.end_session(other, actor=agent, reason=EndReason.AGENT_ENDED)
        _broadcast_stop(other.pk)


def stop_browser_session(session: CoBrowseSession, *, actor: Any) -> CoBrowseSession:
    """End the session; its runner hears ``session.changed`` and closes the browser."""
    ended = session_services.end_session(session, actor=actor, reason=EndReason.AGENT_ENDED)
    _broadcast_stop(session.pk)
    return ended


def _broadcast_stop(session_id: int) -> None:
    layer = get_channel_layer()
    message = {"type": "browser.stop"}
    transaction.on_commit(lambda: _quiet(layer.group_send, browser_control_group(session_id), message))


def _quiet(func: Any, *args: Any) -> None:
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
    from cobrowse.browser.tasks import run_browser_session

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
    _quiet(
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


# --- who may drive --------------------------------------------------------------------------------


def customer_holds_control(session_id: int) -> bool:
    return Participant.objects.filter(
        session_id=session_id, role=ParticipantRole.CUSTOMER, holds_control=True, left_at__isnull=True
    ).exists()


def input_refusal(session: CoBrowseSession, role: str) -> str:
    """Why this participant's input may not reach the browser now, or ``""``.

    The agent holds the browser by default and drives it in ``controlled`` and ``full``. Once the
    customer holds it, only the customer's input is relayed, except the agent's in ``full`` (no
    prompt) and in ``controlled`` (each action asks the customer first, see :func:`needs_approval`).
    """
    if session.state not in SHARING_STATES:
        return "The session is not live."
    customer_holds = customer_holds_control(session.pk)
    if role == ParticipantRole.CUSTOMER:
        if not customer_holds:
            return "The agent is browsing; you are watching."
        return ""
    if role != ParticipantRole.AGENT:
        return "Viewers cannot use the browser."
    if session.mode not in DRIVING_MODES:
        if customer_holds:
            return "The customer holds the browser."
        return "The customer has not allowed control in this session."
    return ""


def needs_approval(session: CoBrowseSession) -> bool:
    """The agent's actions wait for the customer's Allow: the customer holds it in ``controlled``."""
    return session.mode == ControlMode.CONTROLLED and customer_holds_control(session.pk)


def holder(session_id: int) -> str:
    return ParticipantRole.CUSTOMER if customer_holds_control(session_id) else ParticipantRole.AGENT


def _asked_key(session_id: int) -> str:
    return f"browser:{int(session_id)}:control_asked"


def control_state(session_id: int) -> dict[str, Any]:
    """Who holds the browser and whether the customer asked for it (for the viewers)."""
    return {"holder": holder(session_id), "asked": bool(cache.get(_asked_key(session_id)))}


def ask_for_control(session_id: int) -> dict[str, Any]:
    """The customer's "Take control": the agent's viewer is asked to hand the browser over."""
    session = session_services.refresh_state(session_id)
    if session.state not in SHARING_STATES:
        raise NotDriving("The session is not live.", code="not_live")
    if customer_holds_control(session_id):
        return control_state(session_id)
    cache.set(_asked_key(session_id), time.time(), settings.COBROWSE_ACTION_TTL_SECONDS * 4)
    log_activity(session_id, None, "browser_control_asked")
    _broadcast_control(session_id)
    return control_state(session_id)


@transaction.atomic
def set_holder(session_id: int, to: str, *, actor: Any = None, by: str) -> dict[str, Any]:
    """Hand the browser to the customer or back to the agent (``by``: who did it, for the feed)."""
    if to not in (ParticipantRole.CUSTOMER, ParticipantRole.AGENT):
        raise BrowserError(f"Unknown holder '{to}'.")
    session = session_services.lock(session_id)
    if session.state not in SHARING_STATES:
        raise NotDriving("The session is not live.", code="not_live")
    present = Participant.objects.filter(session=session, left_at__isnull=True)
    if to == ParticipantRole.CUSTOMER:
        target = present.filter(role=ParticipantRole.CUSTOMER).first()
    else:
        target = present.filter(role=ParticipantRole.AGENT, user_id=session.agent_id).first()
    present.filter(holds_control=True).update(holds_control=False)
    if target is not None:
        target.holds_control = True
        target.save(update_fields=["holds_control"])
    cache.delete(_asked_key(session_id))
    log_activity(session_id, actor, "browser_control", to=to, by=by)
    transaction.on_commit(lambda: _broadcast_control(session_id))
    return {"holder": to, "asked": False}


def _broadcast_control(session_id: int) -> None:
    _quiet(get_channel_layer().group_send, browser_viewers_group(session_id), {"type": "browser.control"})


# --- approvals (the customer holds the browser, ``controlled``) -----------------------------------


def _approval_key(request_id: int) -> str:
    return f"browser:approval:{int(request_id)}"


def _policy_action(action: dict[str, Any]) -> dict[str, Any]:
    kind = str(action.get("kind", ""))
    if kind == "goto":
        return {"kind": "navigate", "url": str(action.get("url", ""))}
    return {"kind": "type" if kind in ("type", "text", "press", "key") else "click"}


def create_approval(session_id: int, user: Any, action: dict[str, Any], target: str, reply_to: str) -> int:
    """An ActionRequest for the customer's viewer; the decision goes to ``reply_to``.

    The customer holds the browser and the agent asks: ``cobrowse.services.request_action`` on the
    customer holder's behalf, with all its checks (the agent, the never-list, the mode).
    """
    policy_action = {**_policy_action(action), "target": target[:200]}
    with transaction.atomic():
        try:
            request = session_services.request_action(
                session_id, actor=user, action=policy_action, on_behalf_of_customer_holder=True
            )
        except session_services.CoBrowseError as exc:
            code = getattr(exc, "code", None) or "not_allowed"
            if code == "not_allowed":
                raise NotDriving(f"Not done: {' '.join(exc.messages).rstrip('.')}.", code=code) from None
            raise NotDriving(" ".join(exc.messages), code=code) from None
        if request is None:
            raise NotDriving("No approval is needed now; send the action again.", code="not_pending")
        ttl = settings.COBROWSE_ACTION_TTL_SECONDS + settings.COBROWSE_ACTION_GRACE_SECONDS
        cache.set(_approval_key(request.pk), reply_to, ttl + 5)
        log_activity(session_id, user, "action_requested", action=request.action, target=target[:80])
    message = {
        "type": "browser.action_request",
        "request_id": f"action:{request.pk}",
        "action": request.action,
        "target": request.target,
        "expires_in": settings.COBROWSE_ACTION_TTL_SECONDS,
    }
    transaction.on_commit(
        lambda: _quiet(get_channel_layer().group_send, browser_viewers_group(session_id), message)
    )
    return request.pk


def decide_approval(session_id: int, request_id: str, approved: bool) -> tuple[str, bool]:
    """The customer's Allow or Deny: (the waiter's channel, approved). Refused answers raise."""
    from cobrowse.models import ActionRequest, ActionRequestState
    from live.services import LiveRefused

    kind, _, pk = request_id.partition(":")
    if kind != "action" or not pk.isdigit():
        raise LiveRefused(4400, "Unknown request id.")
    if not ActionRequest.objects.filter(pk=int(pk), session_id=session_id).exists():
        raise LiveRefused(4400, "Unknown request id.")
    decided = session_services.decide_action(int(pk), approve=approved)
    ok = decided.state == ActionRequestState.APPROVED
    log_activity(session_id, None, "action_" + decided.state, action=decided.action, request=decided.pk)
    return str(cache.get(_approval_key(decided.pk)) or ""), ok


async def await_approval(session_id: int, user: Any, action: dict[str, Any], target: str) -> bool:
    """Ask the customer and wait for the answer (expiry counts as a no)."""
    layer = get_channel_layer()
    channel = await layer.new_channel("browser-approval.")
    pk = await database_sync_to_async(create_approval)(session_id, user, action, target, channel)
    ttl = settings.COBROWSE_ACTION_TTL_SECONDS + settings.COBROWSE_ACTION_GRACE_SECONDS
    try:
        async with asyncio.timeout(ttl):
            while True:
                message = await layer.receive(channel)
                if message.get("request") == pk:
                    return bool(message.get("approved"))
    except TimeoutError:
        await database_sync_to_async(session_services.refresh_state)(session_id)  # marks it expired
        return False


def check_rate(session_id: int) -> None:
    """At most BROWSER_ACTIONS_PER_SECOND actions per session and second."""
    key = f"browser:{int(session_id)}:rate:{int(time.time())}"
    if cache.add(key, 1, timeout=5):
        return
    if cache.incr(key) > settings.BROWSER_ACTIONS_PER_SECOND:
        raise RateLimited(f"Too many actions; at most {settings.BROWSER_ACTIONS_PER_SECOND} per second.")


# --- talking to the runner ------------------------------------------------------------------------


@dataclass
class Reply:
    ok: bool
    result: dict[str, Any]
    error: dict[str, Any]
    blob: bytes


async def arequest(
    session_id: int, op: str, payload: dict[str, Any], *, timeout: float, actor_id: int | None = None
) -> Reply:
    """Send a request to the session's runner and wait for its (possibly multi-part) answer."""
    layer = get_channel_layer()
    reply_to = await layer.new_channel("browser-reply.")
    request_id = uuid.uuid4().hex
    await layer.group_send(
        browser_control_group(session_id),
        {
            "type": "browser.request",
            "op": op,
            "payload": payload,
            "reply_to": reply_to,
            "request_id": request_id,
            "actor_id": actor_id,
        },
    )
    parts: dict[int, bytes] = {}
    head: dict[str, Any] | None = None
    try:
        async with asyncio.timeout(timeout):
            while head is None or len(parts) < head["parts"]:
                message = await layer.receive(reply_to)
                if message.get("request_id") != request_id:
                    continue
                if message.get("part", 0) == 0:
                    head = message
                parts[int(message.get("part", 0))] = message.get("blob") or b""
    except TimeoutError:
        raise RunnerTimeout("The browser did not answer in time.") from None
    return Reply(
        ok=bool(head.get("ok")),
        result=head.get("result") or {},
        error=head.get("error") or {},
        blob=b"".join(parts[i] for i in range(head["parts"])),
    )


async def send_reply(
    layer: Any,
    reply_to: str,
    request_id: str,
    *,
    ok: bool,
    result: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    blob: bytes = b"",
) -> None:
    """The runner's side of :func:`arequest`: binary data in parts under the layer's size limit."""
    count = max(1, math.ceil(len(blob) / REPLY_CHUNK_BYTES))
    for index in range(count):
        message: dict[str, Any] = {
            "type": "browser.reply",
            "request_id": request_id,
            "part": index,
            "parts": count,
            "blob": blob[index * REPLY_CHUNK_BYTES : (index + 1) * REPLY_CHUNK_BYTES],
        }
        if index == 0:
            message.update(ok=ok, result=result or {}, error=error or {})
        await layer.send(reply_to, message)


def request(
    session_id: int,
    op: str,
    payload: dict[str, Any],
    *,
    extra_timeout: float = 0.0,
    actor_id: int | None = None,
) -> Reply:
    """Sync :func:`arequest` for views; a session without a runner fails fast with 503."""
    if selectors.runner_info(session_id) is None:
        queued = ensure_runner(session_id)
        state = selectors.runtime_state(session_id)
        if state.get("browser") == "no_capacity":
            raise RunnerUnavailable(
                "No browser capacity is free right now; try again in a minute.", code="no_capacity"
            )
        raise RunnerUnavailable(
            "The browser is starting; try again in a few seconds."
            if queued or cache.get(selectors.launching_key(session_id))
            else "No browser is running for this session."
        )
    timeout = settings.BROWSER_REQUEST_TIMEOUT_SECONDS + extra_timeout
    return async_to_sync(arequest)(session_id, op, payload, timeout=timeout, actor_id=actor_id)


def _require_driving(session: CoBrowseSession, user: Any) -> CoBrowseSession:
    session = session_services.refresh_state(session)
    if session.agent_id != getattr(user, "pk", None):
        raise PermissionDenied("Only the session's agent drives its browser.")
    if session.state not in SHARING_STATES:
        raise NotDriving("The session is not live.", code="not_live")
    refusal = input_refusal(session, ParticipantRole.AGENT)
    if refusal:
        raise NotDriving(refusal)
    return session


def perform_action(session: CoBrowseSession, *, user: Any, action: dict[str, Any]) -> Reply:
    """Run one validated action in the session's browser; logged whatever the outcome.

    While the customer holds the browser in ``controlled``, the customer is asked first (Allow or
    Deny in the viewer, COBROWSE_ACTION_TTL_SECONDS); the action runs only on Allow.
    """
    session = _require_driving(session, user)
    check_rate(session.pk)
    if action.get("kind") == "goto":
        reason = policy.never_reason(session, {"kind": "navigate", "url": str(action.get("url", ""))})
        if reason:
            _log_action(session, user, action, outcome="never_allowed")
            log_activity(session.pk, user, "browser_refused", action="goto", reason=reason)
            raise NotDriving(f"Not done: {reason}.", code="never_allowed")
    if needs_approval(session):
        _ask_customer(session, user, action)
    extra = float(action.get("timeout", 0) or 0) / 1000 + (5.0 if action.get("screenshot") else 0.0)
    try:
        reply = request(session.pk, "action", action, extra_timeout=extra, actor_id=user.pk)
    except BrowserError as exc:
        _log_action(session, user, action, outcome=exc.code)
        raise
    _log_action(session, user, action, outcome="ok" if reply.ok else str(reply.error.get("code", "failed")))
    session_services.touch(session.pk)
    return reply


def _ask_customer(session: CoBrowseSession, user: Any, action: dict[str, Any]) -> None:
    """Checks the never-list in the page first (no prompt for what would be refused anyway)."""
    probe = request(session.pk, "probe", {k: v for k, v in action.items() if k != "text"}, actor_id=user.pk)
    if probe.ok and probe.result.get("never"):
        _log_action(session, user, action, outcome="never_allowed")
        raise NotDriving(f"Not done: {probe.result['never']}.", code="never_allowed")
    target = str(probe.result.get("target", "")) if probe.ok else ""
    if not async_to_sync(await_approval)(session.pk, user, action, target or "the page"):
        _log_action(session, user, action, outcome="declined")
        raise NotDriving("The customer did not allow this action.", code="declined")


def _log_action(session: CoBrowseSession, user: Any, action: dict[str, Any], *, outcome: str) -> None:
    """Codes only: the kind and the outcome, never the text typed or the selector's content."""
    kind = str(action.get("kind", ""))
    record_browser_event(session, "browser_action", actor=user, action=kind, outcome=outcome)
    audit.record(
        "cobrowse.browser_action",
        actor=user,
        obj=session,
        details={"session": session.pk, "action": kind, "outcome": outcome},
    )


def screenshot(session: CoBrowseSession, *, user: Any) -> bytes:
    session = _require_viewing(session)
    reply = request(session.pk, "screenshot", {})
    if not reply.ok:
        raise BrowserError(reply.error.get("message", "The screenshot failed."), code="failed", status=502)
    return reply.blob


def page_outline(session: CoBrowseSession, *, user: Any) -> dict[str, Any]:
    """URL, title, visible text, links, inputs and buttons of the page, redacted like the DOM relay."""
    from live.services import usable_selectors

    session = _require_viewing(session)
    account = session.ticket.account
    selectors_ = list(usable_selectors(account.masking_selectors)) if account else []
    reply = request(session.pk, "dom", {"selectors": selectors_, "max_text": 20_000})
    if not reply.ok:
        raise BrowserError(reply.error.get("message", "Reading the page failed."), code="failed", status=502)
    return redact_outline(reply.result)


def _require_viewing(session: CoBrowseSession) -> CoBrowseSession:
    session = session_services.refresh_state(session)
    if session.state not in SHARING_STATES:
        raise NotDriving("The session is not live.", code="not_live")
    return session


_SENSITIVE_TYPES = frozenset({"password", "file", "hidden"})


def redact_outline(raw: dict[str, Any]) -> dict[str, Any]:
    """Redact what the page showed: text by pattern, URLs' secret parameters, sensitive field values."""
    inputs = []
    for item in raw.get("inputs", [])[:200]:
        autocomplete = str(item.get("autocomplete", "")).lower()
        sensitive = (
            bool(item.get("sensitive"))
            or str(item.get("type", "")).lower() in _SENSITIVE_TYPES
            or autocomplete.startswith(("cc-", "one-time-code", "current-password", "new-password"))
        )
        value = str(item.get("value", ""))
        inputs.append(
            {
                "index": int(item.get("index", len(inputs))),
                "tag": str(item.get("tag", ""))[:20],
                "type": str(item.get("type", ""))[:30],
                "name": redact_text(str(item.get("name", ""))[:200]),
                "id": redact_text(str(item.get("id", ""))[:200]),
                "label": redact_text(str(item.get("label", ""))[:200]),
                "placeholder": redact_text(str(item.get("placeholder", ""))[:200]),
                "value": "" if sensitive else redact_typed_value(value[:500]),
                "masked": sensitive and bool(value),
            }
        )
    return {
        "url": redact_url(str(raw.get("url", ""))),
        "title": redact_text(str(raw.get("title", ""))[:500]),
        "text": redact_text(str(raw.get("text", ""))),
        "text_truncated": bool(raw.get("text_truncated")),
        "links": [
            {
                "index": int(link.get("index", i)),
                "text": redact_text(str(link.get("text", ""))[:200]),
                "href": redact_url(str(link.get("href", ""))[:2000]),
            }
            for i, link in enumerate(raw.get("links", [])[:200])
        ],
        "inputs": inputs,
        "buttons": [
            {"index": int(b.get("index", i)), "text": redact_text(str(b.get("text", ""))[:200])}
            for i, b in enumerate(raw.get("buttons", [])[:200])
        ],
    }


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


# --- viewer sockets -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ViewerAdmission:
    session_id: int
    role: str  # agent, viewer or customer
    participant_id: int | None
    state: str
    mode: str
    input_refusal: str


def _browser_session(session_id: int) -> CoBrowseSession:
    from live.services import LiveRefused

    session = CoBrowseSession.objects.select_related("ticket").filter(pk=session_id).first()
    if session is None or session.kind != SessionKind.BROWSER:
        raise LiveRefused(4404, "No such browser session.")
    return session


def admit_staff(session_id: int, user: Any) -> ViewerAdmission:
    """The session's agent or a manager (as a viewer, within the viewer limit); starts the runner."""
    from live import services as live

    _browser_session(session_id)
    _live, participant_id, role = live.session_for_staff(session_id, user)
    return _admission(session_id, role, participant_id)


class UnconfirmedViewer(LiveRefused):
    """A link grant on the viewer socket: its owner has not answered the viewer's card yet (4401)."""

    error = "unconfirmed"

    def __init__(self) -> None:
        super().__init__(4401, "Allow on the viewer's card first: this grant only asks.")


def admit_customer(session_id: int, raw_grant: str) -> ViewerAdmission:
    """The customer's viewer page, by a tab grant (the page is on Tandem's own origin).

    A link grant (the consent screen's, whose address anyone could have pasted) is refused with
    :class:`UnconfirmedViewer`: the viewer's card turns it into a tab grant first.
    """
    from consent import services as consent_services

    try:
        granted = consent_services.verify_grant(raw_grant)
    except consent_services.UnconfirmedGrant:
        raise UnconfirmedViewer from None
    except consent_services.GrantError as exc:
        raise LiveRefused(4401, str(exc)) from None
    if granted.pk != session_id:
        raise LiveRefused(4403, "The grant is for another session.")
    _browser_session(session_id)
    return _admission(session_id, ParticipantRole.CUSTOMER, None)


def _admission(session_id: int, role: str, participant_id: int | None) -> ViewerAdmission:
    from live.services import LiveRefused

    session = session_services.refresh_state(session_id)
    if session.state not in SHARING_STATES:
        raise LiveRefused(4410, "The session is not live.")
    ensure_runner(session_id)
    return ViewerAdmission(
        session_id=session.pk,
        role=role,
        participant_id=participant_id,
        state=session.state,
        mode=session.mode,
        input_refusal=input_refusal(session, role),
    )


def viewer_control(session_id: int, role: str) -> dict[str, Any]:
    """What a viewer socket needs after a change: state, mode, its input refusal, who holds the browser."""
    session = CoBrowseSession.objects.get(pk=session_id)
    refusal = input_refusal(session, role)
    approval = role == ParticipantRole.AGENT and not refusal and needs_approval(session)
    return {
        "state": session.state,
        "mode": session.mode,
        "input_refusal": refusal,
        "needs_approval": approval,
        **control_state(session_id),
    }
