"""The one place that answers "may this user see or do this?".

Views, DRF permission classes, consumers and selectors call these functions; nothing else
re-implements a rule. Which tickets a user may see is a ticket rule and lives with the tickets
(``tickets.permissions``), built on the roles answered here: accounts sits below tickets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet

from accounts.models import AgentLevel, Role, User

if TYPE_CHECKING:
    from tickets.models import Ticket


def _active(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def is_support_staff(user: Any) -> bool:
    """Agents and managers."""
    return _active(user) and user.role in (Role.AGENT, Role.MANAGER)


def is_manager(user: Any) -> bool:
    return _active(user) and user.role == Role.MANAGER


def is_customer(user: Any) -> bool:
    """A signed-in, active customer (someone who raises tickets)."""
    return _active(user) and user.role == Role.CUSTOMER


def can_work_ticket(user: Any, ticket: Ticket | None = None) -> bool:
    """Change status, assignee, priority; write internal notes."""
    return is_support_staff(user)


def can_see_internal_notes(user: Any) -> bool:
    return is_support_staff(user)


def can_use_cobrowse(user: Any) -> bool:
    """L2 and L3 agents, L1 agents once certified, and managers. Customers never."""
    if not _active(user):
        return False
    if user.role == Role.MANAGER:
        return True
    if user.role != Role.AGENT:
        return False
    if user.agent_level in (AgentLevel.L2, AgentLevel.L3):
        return True
    return user.agent_level == AgentLevel.L1 and user.cobrowse_certified_at is not None


def can_start_cobrowse(user: Any, ticket: Ticket | None = None) -> bool:
    """Someone who may use co-browse (:func:`can_use_cobrowse`), on this ticket: a manager, the
    ticket's assignee, or an agent taking an unassigned ticket (:func:`takes_ticket_to_start_cobrowse`).

    Without a ticket, only the role rule is checked (whether to offer co-browse at all).
    """
    if not can_use_cobrowse(user):
        return False
    if ticket is None or user.role == Role.MANAGER:
        return True
    return ticket.assignee_id in (None, user.pk)


def takes_ticket_to_start_cobrowse(user: Any, ticket: Ticket) -> bool:
    """An agent starting co-browse on an unassigned ticket is assigned to it in the same action."""
    return can_use_cobrowse(user) and user.role != Role.MANAGER and ticket.assignee_id is None


def cobrowse_start_refusal(user: Any, ticket: Ticket | None = None) -> str:
    """Why :func:`can_start_cobrowse` said no, in words for the agent."""
    if not can_use_cobrowse(user):
        return "Co-browse needs an L2 or L3 agent, a certified L1 agent, or a manager."
    return "Only the ticket's assignee or a manager can start co-browse on this ticket."


def can_approve_full_control(user: Any) -> bool:
    return is_manager(user)


def can_view_cobrowse_session(user: Any, session: Any) -> bool:
    """The session's agent, any manager, or a colleague the session's agent invited to watch."""
    if is_manager(user):
        return True
    if not is_support_staff(user):
        return False
    if session.agent_id == user.pk:
        return True
    return session.viewer_invitations.filter(user_id=user.pk).exists()


def can_view_recording(user: Any, recording: Any) -> bool:
    """The recorded session's agent and managers; customers only through an approved request."""
    if is_manager(user):
        return True
    session = recording.session
    return is_support_staff(user) and session.agent_id == user.pk


def is_recording_subject(user: Any, recording: Any) -> bool:
    """The customer whose session was recorded (or who raised its ticket): may ask for a copy of the
    recording or have it erased, never watch it without a manager's approval."""
    if not (_active(user) and user.role == Role.CUSTOMER):
        return False
    session = recording.session
    return session.customer_id == user.pk or session.ticket.requester_id == user.pk


def can_view_dashboards(user: Any) -> bool:
    return is_manager(user)


def support_staff() -> QuerySet[User]:
    return User.objects.filter(role__in=[Role.AGENT, Role.MANAGER], is_active=True)


def can_manage_cobrowse_session(user: Any, session: Any) -> bool:
    """End a session, re-send its link, change its mode: the session's agent or a manager."""
    if is_manager(user):
        return True
    return is_support_staff(user) and session.agent_id == user.pk


def is_cobrowse_customer(user: Any, session: Any) -> bool:
    """The logged-in customer whose screen the session shares."""
    return _active(user) and user.role == Role.CUSTOMER and session.customer_id == user.pk


def can_request_screen_share(user: Any, ticket: Ticket) -> bool:
    """Only the ticket's own requester asks for a screen share."""
    return _active(user) and user.role == Role.CUSTOMER and ticket.requester_id == user.pk
