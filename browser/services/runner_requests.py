"""Talking to a session's runner: the API's actions, screenshots and page outlines.

The web processes reach the runner only through the channel layer: requests go to the group
``browser.<id>.control`` with a private reply channel, answers come back in parts (the layer
refuses messages over 1 MB, a PNG screenshot can be larger). Every action is checked (the agent,
the mode, the rate, the never-list for navigation, the customer's approval) before it is sent and
logged whatever the outcome.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied

from audit import services as audit
from browser import selectors
from browser.services.control import await_approval, check_rate, input_refusal, needs_approval
from browser.services.errors import BrowserError, NotDriving, RunnerTimeout, RunnerUnavailable
from browser.services.lifecycle import ensure_runner
from cobrowse import policy
from cobrowse import services as session_services
from cobrowse.groups import browser_control_group
from cobrowse.masking import redact_text, redact_typed_value, redact_url
from cobrowse.models import SHARING_STATES, CoBrowseSession, ParticipantRole
from cobrowse.services import log_event as record_browser_event
from live.services import log_activity

if TYPE_CHECKING:
    from accounts.models import User

REPLY_CHUNK_BYTES = 512 * 1024


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


def _require_driving(session: CoBrowseSession, user: User) -> CoBrowseSession:
    session = session_services.refresh_state(session)
    if session.agent_id != getattr(user, "pk", None):
        raise PermissionDenied("Only the session's agent drives its browser.")
    if session.state not in SHARING_STATES:
        raise NotDriving("The session is not live.", code="not_live")
    refusal = input_refusal(session, ParticipantRole.AGENT)
    if refusal:
        raise NotDriving(refusal)
    return session


def perform_action(session: CoBrowseSession, *, user: User, action: dict[str, Any]) -> Reply:
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


def _ask_customer(session: CoBrowseSession, user: User, action: dict[str, Any]) -> None:
    """Checks the never-list in the page first (no prompt for what would be refused anyway)."""
    probe = request(session.pk, "probe", {k: v for k, v in action.items() if k != "text"}, actor_id=user.pk)
    if probe.ok and probe.result.get("never"):
        _log_action(session, user, action, outcome="never_allowed")
        raise NotDriving(f"Not done: {probe.result['never']}.", code="never_allowed")
    target = str(probe.result.get("target", "")) if probe.ok else ""
    if not async_to_sync(await_approval)(session.pk, user, action, target or "the page"):
        _log_action(session, user, action, outcome="declined")
        raise NotDriving("The customer did not allow this action.", code="declined")


def _log_action(session: CoBrowseSession, user: User, action: dict[str, Any], *, outcome: str) -> None:
    """Codes only: the kind and the outcome, never the text typed or the selector's content."""
    kind = str(action.get("kind", ""))
    record_browser_event(session, "browser_action", actor=user, action=kind, outcome=outcome)
    audit.record(
        "cobrowse.browser_action",
        actor=user,
        obj=session,
        details={"session": session.pk, "action": kind, "outcome": outcome},
    )


def screenshot(session: CoBrowseSession, *, user: User) -> bytes:
    session = _require_viewing(session)
    reply = request(session.pk, "screenshot", {})
    if not reply.ok:
        raise BrowserError(reply.error.get("message", "The screenshot failed."), code="failed", status=502)
    return reply.blob


def page_outline(session: CoBrowseSession, *, user: User) -> dict[str, Any]:
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
    inputs: list[dict[str, Any]] = []
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
