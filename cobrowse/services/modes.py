"""Control modes: the agent's requests, a manager's approval of Full Control, the customer's
answer taking effect, and what a change of the holder of control does to the mode."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from accounts import permissions
from accounts.models import User
from audit import services as audit
from cobrowse import approvals, signals
from cobrowse.models import CoBrowseSession, ControlMode, ModeRequest, ModeRequestState, mode_rank
from cobrowse.services.base import (
    CoBrowseError,
    OwnFullControlRequest,
    _now,
    controller_id,
    lock,
    log_event,
    log_step,
    require_sharing,
)
from cobrowse.services.lifecycle import refresh_state

# --- control modes -----------------------------------------------------------------------------


def set_mode(
    session: CoBrowseSession, mode: str, *, actor: User | None, by: str, **extra: Any
) -> CoBrowseSession:
    """Change a locked session's mode; ``by="customer"`` also withdraws what they had granted above it."""
    previous = session.mode
    session.mode = mode
    if mode_rank(mode) > mode_rank(session.granted_mode or ControlMode.VIEW_ONLY):
        session.granted_mode = mode
    if by == "customer" and mode_rank(mode) < mode_rank(session.granted_mode):
        session.granted_mode = mode  # the customer withdrew what they had granted
    session.save(update_fields=["mode", "granted_mode"])
    signals.session_changed(session)
    log_event(session, "mode_changed", actor=actor, **{"from": previous, "to": mode, "by": by, **extra})
    audit.record(
        "cobrowse.mode_changed",
        actor=actor,
        obj=session,
        details={"session": session.pk, "from": previous, "to": mode, "by": by, **extra},
    )
    return session


def request_mode(session: CoBrowseSession | int, *, actor: User, mode: str) -> ModeRequest | CoBrowseSession:
    """The agent asks for another mode. Lower: applied at once. Higher: a ModeRequest.

    ``full`` waits for a manager first; the customer is asked only after that.
    """
    if mode not in ControlMode.values:
        raise CoBrowseError({"mode": f"Unknown mode '{mode}'."})
    refresh_state(session)
    with transaction.atomic():
        locked = lock(session)
        holder = controller_id(locked)
        holds = holder == getattr(actor, "pk", None) and permissions.can_start_cobrowse(actor)
        if not (permissions.can_manage_cobrowse_session(actor, locked) or holds):
            raise PermissionDenied(
                "Only the session's agent, a manager or the participant holding control can change the mode."
            )
        require_sharing(locked)
        if mode == locked.mode:
            raise CoBrowseError({"mode": "The session is already in this mode."})
        if mode_rank(mode) < mode_rank(locked.mode):
            return set_mode(locked, mode, actor=actor, by="agent")
        if ModeRequest.objects.filter(
            session=locked, state__in=[ModeRequestState.PENDING_MANAGER, ModeRequestState.PENDING_CUSTOMER]
        ).exists():
            raise CoBrowseError("A mode request is already waiting for an answer.", code="request_pending")
        state = (
            ModeRequestState.PENDING_MANAGER
            if mode == ControlMode.FULL
            else ModeRequestState.PENDING_CUSTOMER
        )
        request = ModeRequest.objects.create(
            session=locked, requested_by=actor, from_mode=locked.mode, to_mode=mode, state=state
        )
        signals.mode_request_waiting(request)
        # A request is for whoever holds control now; a hand-over cancels it (see hand_over).
        log_event(locked, "mode_requested", actor=actor, to=mode, request=request.pk, holder=holder)
        audit.record(
            "cobrowse.mode_requested",
            actor=actor,
            obj=locked,
            details={
                "session": locked.pk,
                "request": request.pk,
                "from": locked.mode,
                "to": mode,
                "holder": holder,
            },
        )
        approvals.mode_request_changed(request)
        return request


def _lock_request(request: ModeRequest | int) -> tuple[ModeRequest, CoBrowseSession]:
    pk = request if isinstance(request, int) else request.pk
    session_id = ModeRequest.objects.values_list("session_id", flat=True).get(pk=pk)
    session = lock(session_id)
    return ModeRequest.objects.select_for_update().get(pk=pk), session


def own_request_reason(request: ModeRequest, session: CoBrowseSession, manager: User) -> str:
    """Why ``manager`` may not approve this Full Control request themselves, or ``""``.

    Four eyes: a manager never approves Full Control that they asked for, in a session they run,
    or that would go to them because they hold control now. Another manager must.
    """
    if request.requested_by_id == manager.pk:
        return "You asked for this Full Control yourself: another manager must approve it."
    if session.agent_id == manager.pk:
        return "You run this session: another manager must approve its Full Control."
    if controller_id(session) == manager.pk:
        return "You hold control in this session: another manager must approve its Full Control."
    return ""


def decide_full_control(request: ModeRequest | int, *, manager: User, approve: bool) -> ModeRequest:
    """A manager approves or declines a request for full control (never their own, see
    :func:`own_request_reason`; declining one's own is allowed: it only withdraws it)."""
    if not permissions.can_approve_full_control(manager):
        raise PermissionDenied("Only managers can approve full control.")
    pk = request if isinstance(request, int) else request.pk
    refresh_state(ModeRequest.objects.values_list("session_id", flat=True).get(pk=pk))
    with transaction.atomic():
        locked, session = _lock_request(pk)
        if locked.state != ModeRequestState.PENDING_MANAGER:
            raise CoBrowseError("This request is not waiting for a manager.", code="not_pending")
        require_sharing(session)
        refusal = own_request_reason(locked, session, manager) if approve else ""
        if not refusal:
            locked.state = ModeRequestState.PENDING_CUSTOMER if approve else ModeRequestState.REJECTED
            locked.manager = manager
            locked.manager_decided_at = _now()
            locked.save(update_fields=["state", "manager", "manager_decided_at"])
            signals.mode_request_waiting(locked)
            step = "full_control_approved" if approve else "full_control_rejected"
            log_event(session, step, actor=manager, request=locked.pk, holder=controller_id(session))
            audit.record(
                f"cobrowse.{step}",
                actor=manager,
                obj=session,
                details={"session": session.pk, "request": locked.pk, "holder": controller_id(session)},
            )
            approvals.mode_request_changed(locked)
            return locked
    # Outside the transaction, so that the refusal itself stays on the audit trail.
    audit.record(
        "cobrowse.full_control_own_approval_refused",
        actor=manager,
        obj=session,
        details={"session": session.pk, "request": locked.pk},
    )
    raise OwnFullControlRequest(refusal)


def lock_for_customer_answer(request: ModeRequest | int) -> tuple[ModeRequest, CoBrowseSession]:
    """A request the customer may answer now, and its session, both locked (inside a transaction).

    Refused unless it waits for the customer, the session still shares, and Full Control has a
    manager's approval. Their answer itself (a consent record) is ``consent``'s to write.
    """
    pk = request if isinstance(request, int) else request.pk
    locked, session = _lock_request(pk)
    if locked.state != ModeRequestState.PENDING_CUSTOMER:
        raise CoBrowseError("This request is not waiting for your answer.", code="not_pending")
    require_sharing(session)
    if locked.to_mode == ControlMode.FULL and locked.manager_id is None:
        raise CoBrowseError("Full control needs a manager's approval first.", code="needs_manager")
    return locked, session


def apply_customer_answer(
    request: ModeRequest, session: CoBrowseSession, *, accept: bool, consent: int
) -> ModeRequest:
    """The customer's recorded answer (consent record ``consent``) takes effect: a yes changes the mode."""
    request.state = ModeRequestState.ACCEPTED if accept else ModeRequestState.DECLINED
    request.customer_decided_at = _now()
    request.save(update_fields=["state", "customer_decided_at"])
    if accept:
        set_mode(session, request.to_mode, actor=None, by="customer", request=request.pk, consent=consent)
    else:
        log_event(session, "mode_declined", request=request.pk, to=request.to_mode)
    approvals.mode_request_changed(request)
    return request


def control_moved(session: CoBrowseSession, *, actor: User | None, to_user_id: int | None, by: str) -> None:
    """Inside the session's transaction, after the holder changed. Full Control was approved for
    the previous holder only: the session drops to Controlled (broadcast by the session row's
    signal), and any open request for Full Control, made for the previous holder, is cancelled."""
    open_full = ModeRequest.objects.filter(
        session=session,
        to_mode=ControlMode.FULL,
        state__in=[ModeRequestState.PENDING_MANAGER, ModeRequestState.PENDING_CUSTOMER],
    )
    for request in open_full:
        request.state = ModeRequestState.CANCELLED
        request.save(update_fields=["state"])
        log_step(session, "full_control_cancelled", actor=actor, request=request.pk, reason=by)
        approvals.mode_request_changed(request)
    if session.mode == ControlMode.FULL:
        set_mode(session, ControlMode.CONTROLLED, actor=actor, by=by, holder=to_user_id)
