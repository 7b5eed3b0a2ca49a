"""Who hears of a mode request, and when: the staff watching the session, and the managers.

The session core (``cobrowse/services/``) calls :func:`mode_request_changed` inside the transaction
that created or decided a request. Everything here runs after that transaction commits, so nothing
rolled back is announced or mailed:

- the session's staff sockets get ``mode_request {request_id, mode, step}``, so the console says
  what really happened (asked a manager, a manager approved or declined, the customer answered);
- for Full Control, every manager page gets the new number of requests waiting for a manager
  (group ``managers.approvals``), and a new request is e-mailed to every active manager except
  the one who asked.

Logs name request and session ids only, never a person or an address.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from accounts import mail
from cobrowse import selectors
from cobrowse.groups import agents_group, managers_approvals_group
from cobrowse.models import ControlMode, ModeRequest, ModeRequestState

logger = logging.getLogger(__name__)

#: Step codes the console turns into words (``frontend/console/requests.js``).
ASKED_MANAGER = "asked_manager"
ASKED_CUSTOMER = "asked_customer"
MANAGER_APPROVED = "manager_approved"
MANAGER_DECLINED = "manager_declined"
CUSTOMER_ALLOWED = "customer_allowed"
CUSTOMER_DECLINED = "customer_declined"
CANCELLED = "cancelled"

#: The step of a request decided for good, by its state.
_DECIDED_STEPS: dict[str, str] = {
    ModeRequestState.REJECTED: MANAGER_DECLINED,
    ModeRequestState.ACCEPTED: CUSTOMER_ALLOWED,
    ModeRequestState.DECLINED: CUSTOMER_DECLINED,
}


def step_of(request: ModeRequest) -> str:
    """The step a request has just reached, read from its state (and whether a manager decided)."""
    state = request.state
    if state == ModeRequestState.PENDING_MANAGER:
        return ASKED_MANAGER
    if state == ModeRequestState.PENDING_CUSTOMER:
        return MANAGER_APPROVED if request.manager_id else ASKED_CUSTOMER
    return _DECIDED_STEPS.get(state, CANCELLED)


def mode_request_changed(request: ModeRequest) -> None:
    """Call inside the transaction that created or decided ``request``; acts after commit."""
    step = step_of(request)
    event = {
        "type": "to.agent.mode_request",
        "request_id": f"mode:{request.pk}",
        "mode": request.to_mode,
        "step": step,
    }
    group = agents_group(request.session_id)
    transaction.on_commit(lambda: _group_send(group, event))
    if request.to_mode != ControlMode.FULL:
        return
    pending_count_changed()
    if step == ASKED_MANAGER:
        request_id, session_id, requester_id = request.pk, request.session_id, request.requested_by_id
        transaction.on_commit(lambda: email_managers(request_id, session_id, requester_id))


def pending_count_changed() -> None:
    """After commit, tell every manager page how many Full Control requests wait (one COUNT)."""
    transaction.on_commit(broadcast_pending_count)


def broadcast_pending_count() -> None:
    try:
        count = selectors.pending_full_control_count()
    except Exception:  # the change is committed; a badge a moment stale must not fail it
        logger.warning("could not count pending Full Control requests", exc_info=True)
        return
    _group_send(managers_approvals_group(), {"type": "approvals.count", "count": count})


def _group_send(group: str, message: dict[str, Any]) -> None:
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # a Redis hiccup must not fail the request that made the change
        logger.warning("could not broadcast to %s", group, exc_info=True)


def manager_recipients(requester_id: int | None) -> list[str]:
    """Addresses of every active manager but the requester (who cannot approve it anyway)."""
    from accounts.models import Role, User

    managers = User.objects.filter(role=Role.MANAGER, is_active=True).exclude(email="")
    if requester_id is not None:  # a request whose requester was deleted excludes no one
        managers = managers.exclude(pk=requester_id)
    return list(managers.order_by("pk").values_list("email", flat=True))


def email_managers(request_id: int, session_id: int, requester_id: int | None) -> int:
    """One message per manager (nobody sees the others' addresses), through Django's mail."""
    from cobrowse.models import CoBrowseSession

    recipients = manager_recipients(requester_id)
    if not recipients:
        return 0
    session = (
        CoBrowseSession.objects.select_related("ticket").only("ticket__number").filter(pk=session_id).first()
    )
    reference = session.ticket.reference if session else f"session {session_id}"
    link = settings.TANDEM_BASE_URL.rstrip("/") + reverse("cobrowse:approvals")
    subject = f"{reference}: Full control waits for a manager's approval"
    body = (
        f"An agent asked for Full control in the co-browse session on ticket {reference}. "
        "The customer is asked only after a manager approves.\n\n"
        f"Approve or decline it here: {link}\n"
    )
    # Through the mail worker (accounts.mail): the request stands and is on the approvals page
    # whatever the mail server does; the mail is a courtesy.
    queued = sum(mail.queue(subject, body, [address]) for address in recipients)
    logger.info("Full Control request %s of session %s: %s managers e-mailed", request_id, session_id, queued)
    return queued
