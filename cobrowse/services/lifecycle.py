"""The session's life: the state machine, its timers, and the end of a session.

Each public write first runs :func:`refresh_state` in its own transaction, so an overdue session
is closed (and stays closed) even when the requested change is then refused. Timers are enforced
here and by the beat sweep (``cobrowse.tasks``); neither depends on the other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q

from accounts import permissions
from accounts.models import User
from audit import services as audit
from cobrowse import approvals, policy, signals
from cobrowse.models import (
    LIVE_STATES,
    SHARING_STATES,
    STATE_TRANSITIONS,
    ActionRequest,
    ActionRequestState,
    CoBrowseSession,
    EndReason,
    ExtensionRequest,
    ExtensionRequestState,
    Initiator,
    ModeRequest,
    ModeRequestState,
    Participant,
    ParticipantRole,
    SessionKind,
    SessionState,
)
from cobrowse.services.base import CoBrowseError, IllegalTransition, SessionAlreadyLive, _now, lock, log_event
from tickets.models import Ticket

if TYPE_CHECKING:  # consent sits above the core: its record is an annotation here
    from consent.models import ConsentRecord

logger = logging.getLogger(__name__)

# --- state machine -----------------------------------------------------------------------------


def transition(
    session: CoBrowseSession,
    to_state: str,
    *,
    reason: str = "",
    actor: User | None = None,
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
    signals.session_changed(session)
    if to_state not in LIVE_STATES:
        _close_out(session, now)
        step = "denied" if to_state == SessionState.DENIED else "ended"
        log_event(session, step, actor=actor, state=to_state, reason=reason, **(extra or {}))
        audit.record(
            "cobrowse.session_ended",
            actor=actor,
            obj=session,
            details={"session": session.pk, "state": to_state, "reason": reason, "from": current},
        )
    elif to_state in (SessionState.ACTIVE, SessionState.RECONNECTING):
        log_event(session, to_state, actor=actor)
    return session


#: Called with (locked session, end time) inside the transaction that ends a session.
EndHook = Callable[[CoBrowseSession, datetime], None]
_end_hooks: list[EndHook] = []


def on_session_end(hook: EndHook) -> EndHook:
    """Register what an app above the core must undo when a session ends (links, grants, team seats).

    The core cannot import those apps, yet their rows must be closed in the very transaction that
    ends the session (never a moment later, never after a rollback): so they register here, once,
    from their ``AppConfig.ready()``, and :func:`transition` calls every hook under the row lock.
    """
    if hook not in _end_hooks:
        _end_hooks.append(hook)
    return hook


def _close_out(session: CoBrowseSession, now: datetime) -> None:
    """Everything that only made sense while the session was live."""
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
    for hook in _end_hooks:
        hook(session, now)


def overdue_reason(session: CoBrowseSession, now: datetime | None = None) -> tuple[str, str] | None:
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


def open_session(ticket: Ticket, *, agent: User, target_url: str, kind: str) -> CoBrowseSession:
    """A new invited session on a ticket; call inside a transaction (the ticket's row stays locked).

    Only the ticket's assignee or a manager opens one; an agent who starts on an unassigned ticket
    takes it in the same transaction (a ticket event and an audit event say so). One live session
    per ticket: :class:`SessionAlreadyLive` (or the unique index's ``IntegrityError``) otherwise.
    """
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
    # The customer asked for a screen share first: this session answers that request, which is
    # then no longer pending.
    initiated_by = Initiator.CUSTOMER if locked_ticket.screen_share_requested_at else Initiator.AGENT
    if locked_ticket.screen_share_requested_at:
        locked_ticket.screen_share_requested_at = None
        locked_ticket.save(update_fields=["screen_share_requested_at", "updated_at"])
    with transaction.atomic():
        # No participant row for the agent yet: a row is a connected socket (``join`` on the
        # console's or viewer's socket, ``leave`` on its close), so the badge's "Watching" is
        # presence, never a seat reserved for someone who has not opened the session. Control
        # defaults to the agent.
        return CoBrowseSession.objects.create(
            ticket=locked_ticket,
            agent=agent,
            customer=locked_ticket.requester,
            kind=kind,
            target_url=target_url,
            initiated_by=initiated_by,
        )


def check_can_start(ticket: Ticket, *, agent: User, kind: str) -> None:
    """Refuse at once what no transaction could allow: no right to start, an unknown kind, a closed
    ticket. Overdue sessions of the ticket are closed on the way, so they do not block a new one."""
    if not permissions.can_start_cobrowse(agent, ticket):
        raise PermissionDenied(permissions.cobrowse_start_refusal(agent, ticket))
    if kind not in SessionKind.values:
        raise CoBrowseError({"kind": f"Unknown session kind '{kind}'."})
    if not ticket.is_open:
        raise CoBrowseError("Co-browse is only available on open tickets.", code="ticket_closed")


def close_overdue(ticket: Ticket) -> None:
    """Apply any timer that ran out on the ticket's live sessions (an overdue one must not block)."""
    for live in CoBrowseSession.objects.filter(ticket=ticket, state__in=LIVE_STATES):
        refresh_state(live)


# --- consent, connection, end --------------------------------------------------------------------


def apply_consent(
    session: CoBrowseSession, *, mode: str, recording: bool, record: ConsentRecord
) -> CoBrowseSession:
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
    signals.session_changed(session)
    Participant.objects.create(session=session, user=session.customer, role=ParticipantRole.CUSTOMER)
    log_event(session, "consented", mode=mode, recording=recording, consent=record.pk)
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
    session: CoBrowseSession | int, *, actor: User, reason: str = EndReason.AGENT_ENDED
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


def _expire_actions(session: CoBrowseSession) -> int:
    return ActionRequest.objects.filter(
        session=session, state=ActionRequestState.REQUESTED, expires_at__lte=_now()
    ).update(state=ActionRequestState.EXPIRED, decided_at=_now())
