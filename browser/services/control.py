"""Who drives a server-side browser (the agent or the customer), and the customer's approvals.

The agent holds the browser by default; the customer may ask for it and be handed it. While the
customer holds it in ``controlled`` mode, each of the agent's actions waits for the customer's
Allow (an ``ActionRequest`` through ``cobrowse.services``). All actions, API and viewer input, share
one rate limit per session.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from browser.services.errors import BrowserError, NotDriving, RateLimited
from browser.services.lifecycle import send_quietly
from cobrowse import services as session_services
from cobrowse.groups import browser_viewers_group
from cobrowse.models import SHARING_STATES, CoBrowseSession, ControlMode, Participant, ParticipantRole
from live.services import log_activity

if TYPE_CHECKING:
    from accounts.models import User

#: Modes in which the agent may drive the server-side browser.
DRIVING_MODES = frozenset({ControlMode.CONTROLLED, ControlMode.FULL})


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
def set_holder(session_id: int, to: str, *, actor: User | None = None, by: str) -> dict[str, Any]:
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
    send_quietly(
        get_channel_layer().group_send, browser_viewers_group(session_id), {"type": "browser.control"}
    )


# --- approvals (the customer holds the browser, ``controlled``) -----------------------------------


def _approval_key(request_id: int) -> str:
    return f"browser:approval:{int(request_id)}"


def _policy_action(action: dict[str, Any]) -> dict[str, Any]:
    kind = str(action.get("kind", ""))
    if kind == "goto":
        return {"kind": "navigate", "url": str(action.get("url", ""))}
    return {"kind": "type" if kind in ("type", "text", "press", "key") else "click"}


def create_approval(session_id: int, user: User, action: dict[str, Any], target: str, reply_to: str) -> int:
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
        lambda: send_quietly(get_channel_layer().group_send, browser_viewers_group(session_id), message)
    )
    return request.pk


def decide_approval(session_id: int, request_id: str, approved: bool) -> tuple[str, bool]:
    """The customer's Allow or Deny: (the waiter's channel, approved). Refused answers raise."""
    from cobrowse.models import ActionRequest, ActionRequestState
    from live.services import LiveRefused, request_pk

    pk = request_pk(request_id, "action")
    if pk is None or not ActionRequest.objects.filter(pk=pk, session_id=session_id).exists():
        raise LiveRefused(4400, "Unknown request id.")
    decided = session_services.decide_action(pk, approve=approved)
    ok = decided.state == ActionRequestState.APPROVED
    log_activity(session_id, None, "action_" + decided.state, action=decided.action, request=decided.pk)
    return str(cache.get(_approval_key(decided.pk)) or ""), ok


async def await_approval(session_id: int, user: User, action: dict[str, Any], target: str) -> bool:
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
