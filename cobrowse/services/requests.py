"""Requests in a live session that are not about the mode: more time, one action in Controlled
mode, and the customer's request for a screen share from the portal."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction

from accounts import mail, permissions
from accounts.models import User
from audit import services as audit
from cobrowse import policy
from cobrowse.models import (
    ActionRequest,
    ActionRequestState,
    CoBrowseSession,
    ControlMode,
    ExtensionRequest,
    ExtensionRequestState,
    ParticipantRole,
)
from cobrowse.services.base import CoBrowseError, _now, controller_id, lock, log_event, require_sharing
from cobrowse.services.lifecycle import refresh_state, touch
from tickets.models import EventKind, Ticket
from tickets.services import record_event

# --- extensions --------------------------------------------------------------------------------


def request_extension(session: CoBrowseSession | int, *, actor: User) -> ExtensionRequest:
    refresh_state(session)
    with transaction.atomic():
        locked = lock(session)
        if not permissions.can_manage_cobrowse_session(actor, locked):
            raise PermissionDenied("Only the session's agent or a manager can ask for more time.")
        require_sharing(locked)
        if locked.extension_requests.filter(state=ExtensionRequestState.PENDING).exists():
            raise CoBrowseError("An extension request is already waiting.", code="request_pending")
        request = ExtensionRequest.objects.create(
            session=locked, requested_by=actor, seconds=settings.COBROWSE_EXTENSION_SECONDS
        )
        log_event(locked, "extension_requested", actor=actor, request=request.pk, seconds=request.seconds)
        return request


def lock_extension_for_answer(request: ExtensionRequest | int) -> tuple[ExtensionRequest, CoBrowseSession]:
    """An extension request the customer may answer now, and its session, both locked (call inside
    a transaction, after :func:`~cobrowse.services.lifecycle.refresh_state`)."""
    pk = request if isinstance(request, int) else request.pk
    session_id = ExtensionRequest.objects.values_list("session_id", flat=True).get(pk=pk)
    session = lock(session_id)
    locked = ExtensionRequest.objects.select_for_update().get(pk=pk)
    if locked.state != ExtensionRequestState.PENDING:
        raise CoBrowseError("This request is not waiting for an answer.", code="not_pending")
    require_sharing(session)
    return locked, session


def apply_extension_answer(
    request: ExtensionRequest, session: CoBrowseSession, *, accept: bool, consent: int
) -> ExtensionRequest:
    """The customer's recorded answer (consent record ``consent``) takes effect: a yes moves the deadline."""
    request.state = ExtensionRequestState.ACCEPTED if accept else ExtensionRequestState.DECLINED
    request.decided_at = _now()
    request.save(update_fields=["state", "decided_at"])
    if accept:
        session.deadline_at = (session.deadline_at or _now()) + timedelta(seconds=request.seconds)
        session.save(update_fields=["deadline_at"])
    log_event(session, "extended" if accept else "extension_declined", request=request.pk, consent=consent)
    return request


# --- per-action approvals (controlled mode) ----------------------------------------------------


def request_action(
    session: CoBrowseSession | int,
    *,
    actor: User,
    action: dict[str, Any],
    on_behalf_of_customer_holder: bool = False,
) -> ActionRequest | None:
    """Ask to perform one action. Returns an ActionRequest in ``controlled``; None in ``full``
    (no approval needed). Refused actions raise.

    Only the participant holding control asks, except with ``on_behalf_of_customer_holder``: the
    customer holds control (a server-side browser handed over) and the session's agent asks them.
    """
    current = touch(session)
    with transaction.atomic():
        locked = lock(current)
        if not permissions.can_view_cobrowse_session(actor, locked):
            raise PermissionDenied("Only the participant holding control can act on the customer's page.")
        if on_behalf_of_customer_holder:
            if locked.agent_id != actor.pk:
                raise PermissionDenied("Only the session's agent can ask the customer.")
            customer_holds = locked.participants.filter(
                role=ParticipantRole.CUSTOMER, holds_control=True, left_at__isnull=True
            ).exists()
            if not customer_holds:
                raise CoBrowseError("The customer does not hold control.", code="not_pending")
        elif controller_id(locked) != actor.pk:
            raise PermissionDenied("Only the participant holding control can act on the customer's page.")
        decision = policy.check(locked, policy.ROLE_AGENT, "action", action, holder=actor)
        if not decision.allowed:
            raise CoBrowseError(decision.reason, code="not_allowed")
        kind = str(action.get("kind", ""))
        if not decision.needs_approval:
            audit.record(
                "cobrowse.action", actor=actor, obj=locked, details={"session": locked.pk, "action": kind}
            )
            return None
        request = ActionRequest.objects.create(
            session=locked,
            requested_by=actor,
            action=kind[:20],
            target=str(action.get("target", ""))[:200],
            # The customer sees COBROWSE_ACTION_TTL_SECONDS; the grace covers an answer in flight.
            expires_at=_now()
            + timedelta(
                seconds=settings.COBROWSE_ACTION_TTL_SECONDS + settings.COBROWSE_ACTION_GRACE_SECONDS
            ),
        )
        return request


def decide_action(
    request: ActionRequest | int, *, approve: bool, customer: User | None = None
) -> ActionRequest:
    pk = request if isinstance(request, int) else request.pk
    session_id = ActionRequest.objects.values_list("session_id", flat=True).get(pk=pk)
    refresh_state(session_id)
    with transaction.atomic():
        session = lock(session_id)
        locked = ActionRequest.objects.select_for_update().get(pk=pk)
        if locked.state != ActionRequestState.REQUESTED:
            raise CoBrowseError("This action is no longer waiting for an answer.", code="not_pending")
        require_sharing(session)
        if session.mode != ControlMode.CONTROLLED:
            locked.state = ActionRequestState.EXPIRED
        else:
            locked.state = ActionRequestState.APPROVED if approve else ActionRequestState.DENIED
        locked.decided_at = _now()
        locked.save(update_fields=["state", "decided_at"])
        audit.record(
            "cobrowse.action_" + locked.state,
            actor=customer,
            obj=session,
            details={"session": session.pk, "request": locked.pk, "action": locked.action},
        )
        return locked


# --- customer-initiated ------------------------------------------------------------------------


@transaction.atomic
def request_screen_share(ticket: Ticket, *, customer: User) -> Ticket:
    """The customer asks for a screen share from the portal; the assignee is told."""
    if not permissions.can_request_screen_share(customer, ticket):
        raise PermissionDenied("Only the ticket's requester can ask for a screen share.")
    locked = Ticket.objects.select_for_update(of=("self",)).select_related("assignee").get(pk=ticket.pk)
    if not locked.is_open:
        raise CoBrowseError("This ticket is closed.", code="ticket_closed")
    locked.screen_share_requested_at = _now()
    locked.save(update_fields=["screen_share_requested_at", "updated_at"])
    record_event(locked, EventKind.SCREEN_SHARE_REQUESTED, actor=customer)
    assignee = locked.assignee
    if assignee is not None and assignee.email:
        subject = f"{locked.reference}: the customer asks for a screen share"
        body = (
            f"The customer on ticket {locked.reference} asked for a screen share. "
            "Open the ticket to start one."
        )
        mail.send_after_commit(subject, body, [assignee.email])
    audit.record("cobrowse.screen_share_requested", actor=customer, obj=locked, details={"ticket": locked.pk})
    return locked
