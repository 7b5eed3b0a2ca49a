"""Starting a session is inviting its customer: the session row and its one-time link are made in
one transaction, and so is a fresh link for a session still waiting for the customer's answer.

The session itself comes from the core (``cobrowse.services``); the link, its delivery and what
staff may see of it are consent's.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from accounts import permissions
from accounts.models import User
from audit import services as audit
from cobrowse import services as session_services
from cobrowse.models import CoBrowseSession, SessionKind, SessionState
from consent.services import issue_invite, sent_notice, shows_link_to_staff
from consent.tokens import join_path, join_url
from tickets.models import Ticket


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
        if self.join_url:
            return "Give this link to the customer. They confirm on their own page before anything is shared."
        return sent_notice(self.channel)


def _started(session: CoBrowseSession, channel: str, raw: str) -> StartedSession:
    if not shows_link_to_staff(channel):
        return StartedSession(session=session, join_url="", join_path="", channel=channel)
    return StartedSession(session=session, join_url=join_url(raw), join_path=join_path(raw), channel=channel)


def start_session(
    ticket: Ticket,
    *,
    agent: User,
    channel: str,
    target_url: str | None = None,
    kind: str = SessionKind.DOM,
) -> StartedSession:
    """Invite the ticket's customer to share their screen. One live session per ticket.

    Only the ticket's assignee or a manager starts one; an agent who starts on an unassigned ticket
    takes it in the same transaction (a ticket event and an audit event say so).
    """
    session_services.check_can_start(ticket, agent=agent, kind=kind)
    url = session_services.validate_target_url(ticket, target_url)
    session_services.close_overdue(ticket)
    try:
        return _start_session(ticket, agent=agent, channel=channel, target_url=url, kind=kind)
    except IntegrityError as exc:
        raise session_services.SessionAlreadyLive from exc


@transaction.atomic
def _start_session(
    ticket: Ticket, *, agent: User, channel: str, target_url: str, kind: str
) -> StartedSession:
    session = session_services.open_session(ticket, agent=agent, target_url=target_url, kind=kind)
    _invite, raw = issue_invite(session, channel=channel, actor=agent)
    session_services.log_event(session, "invited", actor=agent, channel=channel, kind=kind)
    audit.record(
        "cobrowse.session_started",
        actor=agent,
        obj=session,
        details={"session": session.pk, "ticket": session.ticket_id, "kind": kind, "channel": channel},
    )
    return _started(session, channel, raw)


def resend_invite(session: CoBrowseSession, *, actor: User, channel: str) -> StartedSession:
    """A fresh link for a session still waiting for consent; every undecided link stops working."""
    session_services.refresh_state(session)
    return _resend_invite(session, actor=actor, channel=channel)


@transaction.atomic
def _resend_invite(session: CoBrowseSession, *, actor: User, channel: str) -> StartedSession:
    if not permissions.can_manage_cobrowse_session(actor, session):
        raise PermissionDenied("Only the session's agent or a manager can re-send the link.")
    locked = session_services.lock(session)
    if locked.state != SessionState.INVITED:
        raise session_services.CoBrowseError(
            "A new link can only be sent before the customer has answered.", code="not_invited"
        )
    _invite, raw = issue_invite(locked, channel=channel, actor=actor)
    session_services.log_event(locked, "invite_resent", actor=actor, channel=channel)
    return _started(locked, channel, raw)
