"""What every part of the session core shares: its errors, the row lock and the activity line.

(The after-commit broadcast to the live sockets is :mod:`cobrowse.signals`.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import User
from audit import services as audit
from cobrowse.models import SHARING_STATES, CoBrowseSession
from tickets.models import EventKind
from tickets.services import record_event


class CoBrowseError(ValidationError):
    """A request the lifecycle refuses (bad input or wrong moment). Nothing was changed."""


class IllegalTransition(CoBrowseError):
    def __init__(self, current: str, requested: str) -> None:
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


def _now() -> datetime:
    return timezone.now()


def lock(session: CoBrowseSession | int) -> CoBrowseSession:
    """The session row, locked until the transaction ends (call inside ``transaction.atomic``)."""
    pk = session if isinstance(session, int) else session.pk
    return (
        CoBrowseSession.objects.select_for_update(of=("self",))
        .select_related("ticket__account", "agent", "customer")
        .get(pk=pk)
    )


def _actor(actor: User | int | None) -> User | None:
    """A user id (what a socket keeps between frames) becomes the user; a user or None is kept."""
    if isinstance(actor, bool):  # an int to Python, but no one's id
        return None
    if isinstance(actor, int):
        return User.objects.filter(pk=actor).first()
    return actor


def log_event(
    session: CoBrowseSession,
    step: str,
    *,
    actor: User | int | None = None,
    internal: bool = False,
    **data: Any,
) -> None:
    """A line on the ticket's activity for this session: the one writer of those lines.

    Codes and ids only, never what the customer typed. ``actor``: a user, a user id or None (the
    customer, a timer); ``internal``: shown to staff only (what happened inside the live session).
    """
    actor = _actor(actor)
    record_event(
        session.ticket,
        EventKind.COBROWSE,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        data={"step": step, "session": session.pk, **data},
        internal=internal,
    )


def log_step(
    session: CoBrowseSession,
    step: str,
    *,
    actor: User | int | None = None,
    internal: bool = False,
    **data: Any,
) -> None:
    """One step in the session's activity feed and in the audit trail (ids and codes only)."""
    actor = _actor(actor)
    log_event(session, step, actor=actor, internal=internal, **data)
    audit.record(f"cobrowse.{step}", actor=actor, obj=session, details={"session": session.pk, **data})


def require_sharing(session: CoBrowseSession) -> None:
    if session.state not in SHARING_STATES:
        raise CoBrowseError("The session is not live.", code="not_live")


def controller_id(session: CoBrowseSession) -> int:
    """Who holds control: the participant marked so, else the session's agent."""
    holder = (
        session.participants.filter(left_at__isnull=True, holds_control=True)
        .values_list("user_id", flat=True)
        .first()
    )
    return holder or session.agent_id
