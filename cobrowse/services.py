"""The co-browse session lifecycle. Every state and mode change goes through here.

Each public write first runs :func:`refresh_state` in its own transaction, so an overdue session
is closed (and stays closed) even when the requested change is then refused. Timers are enforced
here and by the beat sweep (``cobrowse.tasks``); neither depends on the other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts import permissions
from audit import services as audit
from cobrowse import approvals, policy
from cobrowse.models import (
    LIVE_STATES,
    SHARING_STATES,
    STATE_TRANSITIONS,
    ActionRequest,
    ActionRequestState,
    CoBrowseSession,
    ControlMode,
    EndReason,
    ExtensionRequest,
    ExtensionRequestState,
    ModeRequest,
    ModeRequestState,
    Participant,
    ParticipantRole,
    SessionKind,
    SessionState,
    TeamViewer,
    TeamViewerState,
    ViewerInvitation,
    mode_rank,
)
from tickets.models import EventKind, Ticket
from tickets.services import record_event

logger = logging.getLogger(__name__)


class CoBrowseError(ValidationError):
    """A request the lifecycle refuses (bad input or wrong moment). Nothing was changed."""


class IllegalTransition(CoBrowseError):
    def __init__(self, current: str, requested: str):
        self.current, self.requested = current, requested
        super().__init__(
            f"A co-browse session cannot go from '{current}' to '{requested}'.", code="illegal_transition"
        )


class SessionAlreadyLive(CoBrowseError):
    def __init__(self) -> None:
        super().__init__("This ticket already has a live co-browse session.", code="session_exists")


class ViewerLimitReached(CoBrowseError):
    def __init__(self) -> None:
        super().__init__("This session already has the maximum number of viewers.", code="viewer_limit")


class OwnFullControlRequest(PermissionDenied):
    """A manager tried to approve Full Control they would benefit from: another manager must."""


def _now():
    return timezone.now()


def lock(session: CoBrowseSession | int) -> CoBrowseSession:
    """The session row, locked until the transaction ends (call inside ``transaction.atomic``)."""
    pk = session if isinstance(session, int) else session.pk
    return (
        CoBrowseSession.objects.select_for_update(of=("self",))
        .select_related("ticket__account", "agent", "customer")
        .get(pk=pk)
    )


def _event(session: CoBrowseSession, step: str, *, actor: Any = None, **data: Any) -> None:
    """A line on the ticket's activity (codes and ids only)."""
    record_event(
        session.ticket,
        EventKind.COBROWSE,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        data={"step": step, "session": session.pk, **data},
    )


def log_step(session: CoBrowseSession, step: str, *, actor: Any = None, **data: Any) -> None:
    """One step in the session's activity feed and in the audit trail (ids and codes only)."""
    _event(session, step, actor=actor, **data)
    audit.record(f"cobrowse.{step}", actor=actor, obj=session, details={"session": session.pk, **data})


def _broadcast_on_commit(group: str, message: dict[str, Any]) -> None:
    """Tell the live sockets once the transaction commits (nothing rolled back is announced)."""

    def send() -> None:
        from asgiref.sync import async_to_sync
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception:  # a Redis hiccup must not fail the request that made the change
            logger.warning("could not broadcast to %s", group, exc_info=True)

    transaction.on_commit(send)


# --- state machine -----------------------------------------------------------------------------


def transition(
    session: CoBrowseSession,
    to_state: str,
    *,
    reason: str = "",
    actor: Any = None,
    extra: dict[str, Any] | None = None,
) -> CoBrowseSession:
    """Move a locked session along the transition map; anything else raises and changes nothing."""
    current = session.state
    if to_state not in STATE_TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition(current, to_state)
    now = _now()
    session.state = to_state
    fields = ["state"]
    if to_state == SessionState.ACTIVE and session.started_at is None:
        session.started_at = now
        fields.append("started_at")
    if to_state in (SessionState.ACTIVE, SessionState.RECONNECTING):
        session.last_activity_at = now
        fields.append("last_activity_at")
    if to_state not in LIVE_STATES:
        session.ended_at = now
        session.end_reason = reason
        session.ended_by = actor if getattr(actor, "is_authenticated", False) else None
        fields += ["ended_at", "end_reason", "ended_by"]
    session.save(update_fields=fields)
    if to_state not in LIVE_STATES:
        _close_out(session, now)
        step = {SessionState.DENIED: "denied"}.get(to_state, "ended")
        _event(session, step, actor=actor, state=to_state, reason=reason, **(extra or {}))
        audit.record(
            "cobrowse.session_ended",
            actor=actor,
            obj=session,
            details={"session": session.pk, "state": to_state, "reason": reason, "from": current},
        )
    elif to_state in (SessionState.ACTIVE, SessionState.RECONNECTING):
        _event(session, to_state, actor=actor)
    return session


def _close_out(session: CoBrowseSession, now) -> None:
    """Everything that only made sense while the session was live."""
    from consent import services as consent_services
    from consent import team as consent_team
    from consent.models import SessionInvite

    SessionInvite.objects.filter(session=session, used_at__isnull=True, invalidated_at__isnull=True).update(
        invalidated_at=now
    )
    consent_services.revoke_grants(session)
    if ModeRequest.objects.filter(
        session=session, state__in=[ModeRequestState.PENDING_MANAGER, ModeRequestState.PENDING_CUSTOMER]
    ).update(state=ModeRequestState.CANCELLED):
        approvals.pending_count_changed()
    ExtensionRequest.objects.filter(session=session, state=ExtensionRequestState.PENDING).update(
        state=ExtensionRequestState.CANCELLED
    )
    ActionRequest.objects.filter(session=session, state=ActionRequestState.REQUESTED).update(
        state=ActionRequestState.EXPIRED, decided_at=now
    )
    Participant.objects.filter(session=session, left_at__isnull=True).update(left_at=now, holds_control=False)
    consent_team.close_team_viewers(session, now)


def overdue_reason(session: CoBrowseSession, now=None) -> tuple[str, str] | None:
    """(state, reason) the session must move to because a timer ran out, or None."""
    now = now or _now()
    if session.state == SessionState.INVITED:
        if session.invite_expires_at and now >= session.invite_expires_at:
            return SessionState.EXPIRED, EndReason.INVITE_EXPIRED
        return None
    if session.state in SHARING_STATES:
        if session.deadline_at and now >= session.deadline_at:
            return SessionState.TIMED_OUT, EndReason.MAX_DURATION
        idle_limit = timedelta(seconds=settings.COBROWSE_INACTIVITY_TIMEOUT_SECONDS)
        if session.last_activity_at and now >= session.last_activity_at + idle_limit:
            return SessionState.TIMED_OUT, EndReason.INACTIVITY
    return None


@transaction.atomic
def refresh_state(session: CoBrowseSession | int) -> CoBrowseSession:
    """Apply any timer that has run out; returns the current session. Safe to call any time."""
    locked = lock(session)
    overdue = overdue_reason(locked)
    if overdue is not None:
        to_state, reason = overdue
        locked = transition(locked, to_state, reason=reason)
        logger.info("co-browse session %s closed by timer: %s", locked.pk, reason)
    _expire_actions(locked)
    return locked


def record_activity(session_id: int) -> bool:
    """Activity on a sharing session, as cheaply as possible; returns whether it still shares.

    The relay calls this about every 30 s per customer socket. While no timer has run out it is
    one conditional UPDATE (no lock, no re-read); only when that matches nothing — the session
    ended, or its deadline or inactivity limit passed — does the full :func:`touch` run, which
    applies the timer.
    """
    now = _now()
    idle_limit = timedelta(seconds=settings.COBROWSE_INACTIVITY_TIMEOUT_SECONDS)
    updated = CoBrowseSession.objects.filter(
        Q(deadline_at__isnull=True) | Q(deadline_at__gt=now),
        Q(last_activity_at__isnull=True) | Q(last_activity_at__gt=now - idle_limit),
        pk=session_id,
        state__in=SHARING_STATES,
    ).update(last_activity_at=now)
    if updated:
        return True
    return touch(session_id).state in SHARING_STATES


def touch(session: CoBrowseSession | int) -> CoBrowseSession:
    """Activity on a live session: check the timers, then reset the inactivity clock."""
    refreshed = refresh_state(session)
    if refreshed.state not in SHARING_STATES:
        return refreshed
    with transaction.atomic():
        locked = lock(refreshed)
        if locked.state in SHARING_STATES:
            locked.last_activity_at = _now()
            locked.save(update_fields=["last_activity_at"])
        return locked


# --- starting ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartedSession:
    """A sent invitation. The link itself is here only for the copy channel, where the agent passes
    it on; every other channel delivers it to the customer alone, and staff see :attr:`notice`."""

    session: CoBrowseSession
    join_url: str
    join_path: str
    channel: str = ""

    @property
    def notice(self) -> str:
        from consent import services as consent_services

        if self.join_url:
            return "Give this link to the customer. They confirm on their own page before anything is shared."
        return consent_services.sent_notice(self.channel)


def _started(session: CoBrowseSession, channel: str, raw: str) -> StartedSession:
    from consent import services as consent_services

    if not consent_services.shows_link_to_staff(channel):
        return StartedSession(session=session, join_url="", join_path="", channel=channel)
    return StartedSession(
        session=session,
        join_url=consent_services.join_url(raw),
        join_path=consent_services.join_path(raw),
        channel=channel,
    )


def validate_target_url(ticket: Ticket, target_url: str | None) -> str:
    """The target page: the given URL or the account's site_url, on one of its allowed origins."""
    account = ticket.account
    url = (target_url or "").strip() or (account.site_url if account else "")
    if not url:
        return ""
    if len(url) > 500:
        raise CoBrowseError({"target_url": "The target page address is too long."})
    origin = policy.origin_of(url)
    if not origin or not url.lower().startswith(("http://", "https://")):
        raise CoBrowseError({"target_url": "Enter a full http(s) address."})
    allowed = {
        policy.origin_of(o) or o.rstrip("/").lower() for o in (account.allowed_origins if account else [])
    }
    if origin not in allowed:
        raise CoBrowseError(
            {"target_url": "The target page must be on one of the account's allowed origins."}
        )
    return url


def start_session(
    ticket: Ticket,
    *,
    agent: Any,
    channel: str,
    target_url: str | None = None,
    kind: str = SessionKind.DOM,
) -> StartedSession:
    """Invite the ticket's customer to share their screen. One live session per ticket.

    Only the ticket's assignee or a manager starts one; an agent who starts on an unassigned ticket
    takes it in the same transaction (a ticket event and an audit event say so).
    """
    if not permissions.can_start_cobrowse(agent, ticket):
        raise PermissionDenied(permissions.cobrowse_start_refusal(agent, ticket))
    if kind not in SessionKind.values:
        raise CoBrowseError({"kind": f"Unknown session kind '{kind}'."})
    if not ticket.is_open:
        raise CoBrowseError("Co-browse is only available on open tickets.", code="ticket_closed")
    url = validate_target_url(ticket, target_url)
    for live in CoBrowseSession.objects.filter(ticket=ticket, state__in=LIVE_STATES):
        refresh_state(live)  # an overdue session must not block a new one
    try:
        return _start_session(ticket, agent=agent, channel=channel, target_url=url, kind=kind)
    except IntegrityError as exc:
        raise SessionAlreadyLive from exc


@transaction.atomic
def _start_session(ticket: Ticket, *, agent: Any, channel: str, target_url: str, kind: str) -> StartedSession:
    from consent import services as consent_services

    locked_ticket = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("account", "requester")
        .get(pk=ticket.pk)
    )
    if not permissions.can_start_cobrowse(agent, locked_ticket):  # assigned meanwhile?
        raise PermissionDenied(permissions.cobrowse_start_refusal(agent, locked_ticket))
    if CoBrowseSession.objects.filter(ticket=locked_ticket, state__in=LIVE_STATES).exists():
        raise SessionAlreadyLive
    if permissions.takes_ticket_to_start_cobrowse(agent, locked_ticket):
        from tickets import services as ticket_services

        locked_ticket = ticket_services.assign(locked_ticket, actor=agent, assignee=agent)
        audit.record(
            "cobrowse.ticket_taken",
            actor=agent,
            obj=locked_ticket,
            details={"ticket": locked_ticket.pk, "assignee": agent.pk},
        )
    with transaction.atomic():
        session = CoBrowseSession.objects.create(
            ticket=locked_ticket,
            agent=agent,
            customer=locked_ticket.requester,
            kind=kind,
            target_url=target_url,
        )
    # No participant row for the agent yet: a row is a connected socket (``join`` on the console's
    # or viewer's socket, ``leave`` on its close), so the badge's "Watching" is presence, never a
    # seat reserved for someone who has not opened the session. Control defaults to the agent.
    _invite, raw = consent_services.issue_invite(session, channel=channel, actor=agent)
    _event(session, "invited", actor=agent, channel=channel, kind=kind)
    audit.record(
        "cobrowse.session_started",
        actor=agent,
        obj=session,
        details={"session": session.pk, "ticket": locked_ticket.pk, "kind": kind, "channel": channel},
    )
    return _started(session, channel, raw)


def resend_invite(session: CoBrowseSession, *, actor: Any, channel: str) -> StartedSession:
    """A fresh link for a session still waiting for consent; every undecided link stops working."""
    refresh_state(session)
    return _resend_invite(session, actor=actor, channel=channel)


@transaction.atomic
def _resend_invite(session: CoBrowseSession, *, actor: Any, channel: str) -> StartedSession:
    from consent import services as consent_services

    if not permissions.can_manage_cobrowse_session(actor, session):
        raise PermissionDenied("Only the session's agent or a manager can re-send the link.")
    locked = lock(session)
    if locked.state != SessionState.INVITED:
        raise CoBrowseError(
            "A new link can only be sent before the customer has answered.", code="not_invited"
        )
    _invite, raw = consent_services.issue_invite(locked, channel=channel, actor=actor)
    _event(locked, "invite_resent", actor=actor, channel=channel)
    return _started(locked, channel, raw)


# --- consent, connection, end --------------------------------------------------------------------


def apply_consent(session: CoBrowseSession, *, mode: str, recording: bool, record: Any) -> CoBrowseSession:
    """Called by ``consent.services`` inside its transaction, with the session locked."""
    session = transition(session, SessionState.CONSENTED)
    now = _now()
    session.mode = mode
    session.granted_mode = mode
    session.recording = recording
    session.consented_at = now
    session.last_activity_at = now
    session.deadline_at = now + timedelta(seconds=settings.COBROWSE_MAX_DURATION_SECONDS)
    session.save(
        update_fields=["mode", "granted_mode", "recording", "consented_at", "last_activity_at", "deadline_at"]
    )
    Participant.objects.create(session=session, user=session.customer, role=ParticipantRole.CUSTOMER)
    _event(session, "consented", mode=mode, recording=recording, consent=record.pk)
    audit.record(
        "consent.granted",
        obj=session,
        details={
            "session": session.pk,
            "consent": record.pk,
            "mode": mode,
            "recording": recording,
            "prompt_version": record.prompt_version,
        },
    )
    return session


def mark_active(session: CoBrowseSession | int) -> CoBrowseSession:
    """The customer's page connected (first time, or back after a drop)."""
    refresh_state(session)
    with transaction.atomic():
        locked = lock(session)
        if locked.state == SessionState.ACTIVE:
            return locked
        return transition(locked, SessionState.ACTIVE)


def mark_reconnecting(session: CoBrowseSession | int) -> CoBrowseSession:
    refresh_state(session)
    with transaction.atomic():
        locked = lock(session)
        if locked.state == SessionState.RECONNECTING:
            return locked
        return transition(locked, SessionState.RECONNECTING)


def end_session(
    session: CoBrowseSession | int, *, actor: Any, reason: str = EndReason.AGENT_ENDED
) -> CoBrowseSession:
    """The agent (or a manager) ends the session, or withdraws an unanswered invitation."""
    current = refresh_state(session)
    if current.is_terminal:
        return current
    with transaction.atomic():
        locked = lock(current)
        if not permissions.can_manage_cobrowse_session(actor, locked):
            raise PermissionDenied("Only the session's agent or a manager can end it.")
        if locked.state == SessionState.INVITED:
            reason = EndReason.CANCELLED
        return transition(locked, SessionState.ENDED, reason=reason, actor=actor)


def revoke_session(
    session: CoBrowseSession | int, *, customer: Any = None, client: Any = None
) -> CoBrowseSession:
    """The customer pressed Stop sharing. Ends the session at once and records the revocation.

    The caller has authenticated the customer (logged in, bound browser or grant).
    """
    from consent import services as consent_services
    from consent.models import ConsentKind, Decision

    current = refresh_state(session)
    if current.is_terminal:
        return current
    with transaction.atomic():
        locked = lock(current)
        if locked.is_terminal:
            return locked  # ended meanwhile (the socket's stop, a timer): the end stands
        if locked.state not in SHARING_STATES:
            raise IllegalTransition(locked.state, SessionState.REVOKED)
        record = consent_services.record_consent(
            locked,
            kind=ConsentKind.REVOCATION,
            decision=Decision.REVOKED,
            prompt_text="Stop sharing",
            customer=customer,
            client=client,
        )
        locked = transition(
            locked,
            SessionState.REVOKED,
            reason=EndReason.CUSTOMER_REVOKED,
            actor=customer,
            extra={"consent": record.pk},
        )
        audit.record(
            "cobrowse.revoked",
            actor=customer,
            obj=locked,
            details={"session": locked.pk, "consent": record.pk},
        )
        return locked


# --- control modes -----------------------------------------------------------------------------


def _set_mode(session: CoBrowseSession, mode: str, *, actor: Any, by: str, **extra: Any) -> CoBrowseSession:
    previous = session.mode
    session.mode = mode
    if mode_rank(mode) > mode_rank(session.granted_mode or ControlMode.VIEW_ONLY):
        session.granted_mode = mode
    if by == "customer" and mode_rank(mode) < mode_rank(session.granted_mode):
        session.granted_mode = mode  # the customer withdrew what they had granted
    session.save(update_fields=["mode", "granted_mode"])
    _event(session, "mode_changed", actor=actor, **{"from": previous, "to": mode, "by": by, **extra})
    audit.record(
        "cobrowse.mode_changed",
        actor=actor,
        obj=session,
        details={"session": session.pk, "from": previous, "to": mode, "by": by, **extra},
    )
    return session


def _require_sharing(session: CoBrowseSession) -> None:
    if session.state not in SHARING_STATES:
        raise CoBrowseError("The session is not live.", code="not_live")


def request_mode(session: CoBrowseSession | int, *, actor: Any, mode: str) -> ModeRequest | CoBrowseSession:
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
        _require_sharing(locked)
        if mode == locked.mode:
            raise CoBrowseError({"mode": "The session is already in this mode."})
        if mode_rank(mode) < mode_rank(locked.mode):
            return _set_mode(locked, mode, actor=actor, by="agent")
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
        # A request is for whoever holds control now; a hand-over cancels it (see hand_over).
        _event(locked, "mode_requested", actor=actor, to=mode, request=request.pk, holder=holder)
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


def own_request_reason(request: ModeRequest, session: CoBrowseSession, manager: Any) -> str:
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


def decide_full_control(request: ModeRequest | int, *, manager: Any, approve: bool) -> ModeRequest:
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
        _require_sharing(session)
        refusal = own_request_reason(locked, session, manager) if approve else ""
        if not refusal:
            locked.state = ModeRequestState.PENDING_CUSTOMER if approve else ModeRequestState.REJECTED
            locked.manager = manager
            locked.manager_decided_at = _now()
            locked.save(update_fields=["state", "manager", "manager_decided_at"])
            step = "full_control_approved" if approve else "full_control_rejected"
            _event(session, step, actor=manager, request=locked.pk, holder=controller_id(session))
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


def respond_to_mode_request(
    request: ModeRequest | int, *, accept: bool, customer: Any = None, client: Any = None
) -> ModeRequest:
    """The customer's answer. A yes is a new consent record; only then does the mode change."""
    from consent import services as consent_services
    from consent.models import ConsentKind, Decision

    pk = request if isinstance(request, int) else request.pk
    refresh_state(ModeRequest.objects.values_list("session_id", flat=True).get(pk=pk))
    with transaction.atomic():
        locked, session = _lock_request(pk)
        if locked.state != ModeRequestState.PENDING_CUSTOMER:
            raise CoBrowseError("This request is not waiting for your answer.", code="not_pending")
        _require_sharing(session)
        if locked.to_mode == ControlMode.FULL and locked.manager_id is None:
            raise CoBrowseError("Full control needs a manager's approval first.", code="needs_manager")
        record = consent_services.record_consent(
            session,
            kind=ConsentKind.ESCALATION,
            decision=Decision.GRANTED if accept else Decision.DENIED,
            prompt_text=consent_services.escalation_prompt(session, locked.to_mode),
            mode=locked.to_mode if accept else "",
            recording=session.recording,
            customer=customer,
            client=client,
        )
        locked.state = ModeRequestState.ACCEPTED if accept else ModeRequestState.DECLINED
        locked.customer_decided_at = _now()
        locked.save(update_fields=["state", "customer_decided_at"])
        audit.record(
            "consent.escalation_" + ("granted" if accept else "declined"),
            obj=session,
            details={"session": session.pk, "request": locked.pk, "consent": record.pk, "to": locked.to_mode},
        )
        if accept:
            _set_mode(
                session, locked.to_mode, actor=None, by="customer", request=locked.pk, consent=record.pk
            )
        else:
            _event(session, "mode_declined", request=locked.pk, to=locked.to_mode)
        approvals.mode_request_changed(locked)
        return locked


def customer_lower_mode(
    session: CoBrowseSession | int, *, mode: str, customer: Any = None, client: Any = None
) -> CoBrowseSession:
    """The customer takes back some control, at any time. Recorded as a consent record."""
    from consent import services as consent_services
    from consent.models import ConsentKind, Decision

    if mode not in ControlMode.values:
        raise CoBrowseError({"mode": f"Unknown mode '{mode}'."})
    refresh_state(session)
    with transaction.atomic():
        locked = lock(session)
        _require_sharing(locked)
        if mode_rank(mode) >= mode_rank(locked.mode):
            raise CoBrowseError({"mode": "You can only lower the mode here."})
        record = consent_services.record_consent(
            locked,
            kind=ConsentKind.LOWERING,
            decision=Decision.GRANTED,
            prompt_text=f"Lower to {ControlMode(mode).label}",
            mode=mode,
            recording=locked.recording,
            customer=customer,
            client=client,
        )
        return _set_mode(locked, mode, actor=customer, by="customer", consent=record.pk)


# --- extensions --------------------------------------------------------------------------------


def request_extension(session: CoBrowseSession | int, *, actor: Any) -> ExtensionRequest:
    refresh_state(session)
    with transaction.atomic():
        locked = lock(session)
        if not permissions.can_manage_cobrowse_session(actor, locked):
            raise PermissionDenied("Only the session's agent or a manager can ask for more time.")
        _require_sharing(locked)
        if locked.extension_requests.filter(state=ExtensionRequestState.PENDING).exists():
            raise CoBrowseError("An extension request is already waiting.", code="request_pending")
        request = ExtensionRequest.objects.create(
            session=locked, requested_by=actor, seconds=settings.COBROWSE_EXTENSION_SECONDS
        )
        _event(locked, "extension_requested", actor=actor, request=request.pk, seconds=request.seconds)
        return request


def respond_to_extension(
    request: ExtensionRequest | int, *, accept: bool, customer: Any = None, client: Any = None
) -> ExtensionRequest:
    from consent import services as consent_services
    from consent.models import ConsentKind, Decision

    pk = request if isinstance(request, int) else request.pk
    session_id = ExtensionRequest.objects.values_list("session_id", flat=True).get(pk=pk)
    refresh_state(session_id)
    with transaction.atomic():
        session = lock(session_id)
        locked = ExtensionRequest.objects.select_for_update().get(pk=pk)
        if locked.state != ExtensionRequestState.PENDING:
            raise CoBrowseError("This request is not waiting for an answer.", code="not_pending")
        _require_sharing(session)
        record = consent_services.record_consent(
            session,
            kind=ConsentKind.EXTENSION,
            decision=Decision.GRANTED if accept else Decision.DENIED,
            prompt_text=consent_services.extension_prompt(session, locked.seconds),
            mode=session.mode if accept else "",
            recording=session.recording,
            customer=customer,
            client=client,
            extension_seconds=locked.seconds if accept else 0,
        )
        locked.state = ExtensionRequestState.ACCEPTED if accept else ExtensionRequestState.DECLINED
        locked.decided_at = _now()
        locked.save(update_fields=["state", "decided_at"])
        if accept:
            session.deadline_at = (session.deadline_at or _now()) + timedelta(seconds=locked.seconds)
            session.save(update_fields=["deadline_at"])
        _event(session, "extended" if accept else "extension_declined", request=locked.pk, consent=record.pk)
        audit.record(
            "consent.extension_" + ("granted" if accept else "declined"),
            obj=session,
            details={
                "session": session.pk,
                "request": locked.pk,
                "consent": record.pk,
                "seconds": locked.seconds,
            },
        )
        return locked


# --- per-action approvals (controlled mode) ----------------------------------------------------


def request_action(
    session: CoBrowseSession | int,
    *,
    actor: Any,
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


def decide_action(request: ActionRequest | int, *, approve: bool, customer: Any = None) -> ActionRequest:
    pk = request if isinstance(request, int) else request.pk
    session_id = ActionRequest.objects.values_list("session_id", flat=True).get(pk=pk)
    refresh_state(session_id)
    with transaction.atomic():
        session = lock(session_id)
        locked = ActionRequest.objects.select_for_update().get(pk=pk)
        if locked.state != ActionRequestState.REQUESTED:
            raise CoBrowseError("This action is no longer waiting for an answer.", code="not_pending")
        _require_sharing(session)
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


def _expire_actions(session: CoBrowseSession) -> int:
    return ActionRequest.objects.filter(
        session=session, state=ActionRequestState.REQUESTED, expires_at__lte=_now()
    ).update(state=ActionRequestState.EXPIRED, decided_at=_now())


# --- participants ------------------------------------------------------------------------------


def _viewer_slots_taken(session: CoBrowseSession) -> int:
    """Who watches besides the agent: staff viewers and members of the customer's team.

    The agent counts towards the cap: "up to three viewers" is the agent plus two others.
    """
    return (
        session.participants.filter(left_at__isnull=True)
        .exclude(user_id=session.agent_id)
        .exclude(role=ParticipantRole.CUSTOMER)
        .count()
    )


def join(session: CoBrowseSession | int, *, user: Any, role: str = ParticipantRole.VIEWER) -> Participant:
    """A staff member joins a live session; viewers are capped at COBROWSE_MAX_VIEWERS."""
    if role not in (ParticipantRole.VIEWER, ParticipantRole.AGENT):
        raise CoBrowseError({"role": "Customers join through consent."})
    refresh_state(session)
    with transaction.atomic():
        locked = lock(session)
        if not permissions.can_view_cobrowse_session(user, locked):
            raise PermissionDenied("You may not join this session.")
        if locked.state not in LIVE_STATES:
            raise CoBrowseError("The session has ended.", code="not_live")
        present = locked.participants.filter(user=user, left_at__isnull=True).first()
        if present is not None:
            return present
        if (
            role == ParticipantRole.VIEWER
            and _viewer_slots_taken(locked) >= settings.COBROWSE_MAX_VIEWERS - 1
        ):
            raise ViewerLimitReached
        participant = Participant.objects.create(session=locked, user=user, role=role)
        _event(locked, "joined", actor=user, role=role)
        announce_participants(locked)
        return participant


def join_team_viewer(team_viewer_id: int) -> Participant:
    """A member of the customer's team opens the watch socket: view only, within the viewer cap."""
    session_id = TeamViewer.objects.values_list("session_id", flat=True).get(pk=team_viewer_id)
    refresh_state(session_id)
    with transaction.atomic():
        locked = lock(session_id)
        viewer = TeamViewer.objects.select_for_update().get(pk=team_viewer_id)
        if locked.state not in SHARING_STATES:
            raise CoBrowseError("The session has ended.", code="not_live")
        if viewer.state != TeamViewerState.ACCEPTED:
            raise PermissionDenied("You no longer have access to this session.")
        present = locked.participants.filter(team_viewer=viewer, left_at__isnull=True).first()
        if present is not None:
            # The same person again — a reconnect before the old socket timed out, a second tab, a
            # forwarded link: the newest socket takes the seat and the older one is closed, so one
            # person is one seat, counted and shown once, and no socket watches unlisted.
            present.left_at = _now()
            present.save(update_fields=["left_at"])
            announce_team_viewer_closed(locked, viewer.pk, reason="superseded", participant_id=present.pk)
            participant = Participant.objects.create(
                session=locked, user=None, role=ParticipantRole.TEAM, team_viewer=viewer
            )
            log_step(locked, "team_viewer_rejoined", team_viewer=viewer.pk)
            return participant
        if _viewer_slots_taken(locked) >= settings.COBROWSE_MAX_VIEWERS - 1:
            raise ViewerLimitReached
        participant = Participant.objects.create(
            session=locked, user=None, role=ParticipantRole.TEAM, team_viewer=viewer
        )
        log_step(locked, "team_viewer_joined", team_viewer=viewer.pk)
        announce_participants(locked)
        return participant


def watching(session: CoBrowseSession) -> list[dict[str, str]]:
    """Everyone watching besides the customer, by name (the badge and the watch page list them).

    Presence: a participant row is open exactly while its socket is (``join`` / ``leave``), so an
    agent who has not opened the console is not listed, and the badge says it waits for them.
    """
    people: list[dict[str, str]] = []
    seen: set[tuple[str, int]] = set()
    present = (
        session.participants.filter(left_at__isnull=True)
        .exclude(role=ParticipantRole.CUSTOMER)
        .select_related("user", "team_viewer")
    )
    for participant in present:
        if participant.team_viewer is not None:
            key, name = ("team", participant.team_viewer_id), participant.team_viewer.name
            role = ParticipantRole.TEAM
        elif participant.user is not None:
            key = ("user", participant.user_id)
            name = participant.user.public_name
            role = (
                ParticipantRole.AGENT if participant.user_id == session.agent_id else ParticipantRole.VIEWER
            )
        else:
            continue
        if key not in seen:
            seen.add(key)
            people.append({"name": name, "role": str(role)})
    return people


def announce_participants(session: CoBrowseSession) -> None:
    """After the transaction: the customer's badge and everyone watching learn who watches now."""
    from cobrowse.groups import agents_group, customer_group

    people = watching(session)
    _broadcast_on_commit(agents_group(session.pk), {"type": "to.agent.participants", "watching": people})
    _broadcast_on_commit(
        customer_group(session.pk),
        {"type": "customer.frame", "msg_type": "participants", "data": {"watching": people}},
    )


def announce_team_viewer_closed(
    session: CoBrowseSession, team_viewer_id: int, *, reason: str, participant_id: int | None = None
) -> None:
    """After the transaction: the team member's watch socket closes (only the socket holding
    ``participant_id`` when given: the others of that person stay)."""
    from cobrowse.groups import team_viewer_group

    event: dict = {"type": "team.closed", "reason": reason}
    if participant_id is not None:
        event["participant"] = participant_id
    _broadcast_on_commit(team_viewer_group(session.pk, team_viewer_id), event)


def team_viewer_disconnected(participant_id: int) -> None:
    """A team member's watch socket went away (closed tab, lost network); their grant still works."""
    with transaction.atomic():
        session = lock(Participant.objects.values_list("session_id", flat=True).get(pk=participant_id))
        participant = Participant.objects.select_for_update().get(pk=participant_id)
        if participant.left_at is not None:  # removed, left or ended: already written down
            return
        participant.left_at = _now()
        participant.save(update_fields=["left_at"])
        log_step(session, "team_viewer_disconnected", team_viewer=participant.team_viewer_id)
        announce_participants(session)


@transaction.atomic
def invite_viewer(session: CoBrowseSession | int, *, actor: Any, user: Any) -> ViewerInvitation:
    """Let a colleague (another agent) watch this session; the viewer cap applies when they join."""
    locked = lock(session)
    if not permissions.can_manage_cobrowse_session(actor, locked):
        raise PermissionDenied("Only the session's agent or a manager can invite viewers.")
    if locked.state not in LIVE_STATES:
        raise CoBrowseError("The session has ended.", code="not_live")
    if not permissions.is_support_staff(user) or user.pk == locked.agent_id:
        raise CoBrowseError({"username": "Invite another agent or a manager."})
    invitation, created = ViewerInvitation.objects.get_or_create(
        session=locked, user=user, defaults={"invited_by": actor}
    )
    if created:
        _event(locked, "viewer_invited", actor=actor, viewer=user.pk)
        audit.record(
            "cobrowse.viewer_invited",
            actor=actor,
            obj=locked,
            details={"session": locked.pk, "viewer": user.pk},
        )
    return invitation


def controller_id(session: CoBrowseSession) -> int:
    """Who holds control: the participant marked so, else the session's agent."""
    holder = (
        session.participants.filter(left_at__isnull=True, holds_control=True)
        .values_list("user_id", flat=True)
        .first()
    )
    return holder or session.agent_id


def _control_moved(session: CoBrowseSession, *, actor: Any, to_user_id: int | None, by: str) -> None:
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
        _set_mode(session, ControlMode.CONTROLLED, actor=actor, by=by, holder=to_user_id)


@dataclass(frozen=True)
class HandedOver:
    holder_id: int
    holder_name: str
    mode: str


def hand_over(session: CoBrowseSession | int, *, actor: Any, to_user_id: int) -> HandedOver:
    """Give control to another staff participant who is watching and may co-browse themselves.

    In Full Control the session drops to Controlled until Full Control is approved for the new
    holder (a new request, which they or the session's agent make and another manager approves).
    """
    from accounts.models import User

    refresh_state(session)
    with transaction.atomic():
        locked = lock(session)
        _require_sharing(locked)
        current = controller_id(locked)
        if actor.pk != current and not permissions.is_manager(actor):
            raise PermissionDenied("Only the participant holding control (or a manager) can hand it over.")
        target = (
            locked.participants.filter(user_id=to_user_id, left_at__isnull=True)
            .exclude(role__in=[ParticipantRole.CUSTOMER, ParticipantRole.TEAM])
            .first()
        )
        if target is None:
            raise CoBrowseError("That person is not watching this session.", code="not_watching")
        target_user = User.objects.get(pk=to_user_id)
        if not permissions.can_start_cobrowse(target_user):
            raise PermissionDenied(
                "They cannot take control: control needs co-browse rights "
                "(L2 or above, a certified L1, or a manager)."
            )
        if to_user_id != current:
            locked.participants.filter(holds_control=True).update(holds_control=False)
            target.holds_control = True
            target.save(update_fields=["holds_control"])
            record_event(
                locked.ticket,
                EventKind.COBROWSE,
                actor=actor,
                data={"session": locked.pk, "step": "control_handed_over", "to": to_user_id},
                internal=True,
            )
            audit.record(
                "cobrowse.control_handed_over",
                actor=actor,
                obj=locked,
                details={"session": locked.pk, "from": current, "to": to_user_id},
            )
            _control_moved(locked, actor=actor, to_user_id=to_user_id, by="handover")
        return HandedOver(to_user_id, target_user.public_name, locked.mode)


def leave(participant: Participant | int) -> Participant:
    pk = participant if isinstance(participant, int) else participant.pk
    with transaction.atomic():
        session_id = Participant.objects.values_list("session_id", flat=True).get(pk=pk)
        session = lock(session_id)
        locked = Participant.objects.select_for_update().get(pk=pk)
        if locked.left_at is None:
            before = controller_id(session)
            locked.left_at = _now()
            locked.holds_control = False
            locked.save(update_fields=["left_at", "holds_control"])
            after = controller_id(session)
            if after != before and locked.role != ParticipantRole.CUSTOMER:
                # Control falls back to the session's agent: nobody approved Full Control for them.
                _control_moved(session, actor=None, to_user_id=after, by="holder_left")
            announce_participants(session)
        return locked


# --- customer-initiated ------------------------------------------------------------------------


@transaction.atomic
def request_screen_share(ticket: Ticket, *, customer: Any) -> Ticket:
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
        email = assignee.email
        transaction.on_commit(lambda: send_mail(subject, body, None, [email], fail_silently=True))
    audit.record("cobrowse.screen_share_requested", actor=customer, obj=locked, details={"ticket": locked.pk})
    return locked
