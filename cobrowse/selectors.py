"""Co-browse reads, scoped through ``accounts.permissions``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts import permissions
from cobrowse.models import (
    LIVE_STATES,
    SHARING_STATES,
    CoBrowseSession,
    ExtensionRequest,
    ExtensionRequestState,
    ModeRequest,
    ModeRequestState,
    SessionState,
)
from tickets.models import Ticket


def live_session_for_ticket(ticket: Ticket) -> CoBrowseSession | None:
    return (
        CoBrowseSession.objects.select_related("agent", "ticket__account")
        .filter(ticket=ticket, state__in=LIVE_STATES)
        .first()
    )


def sessions_for_ticket(ticket: Ticket, limit: int = 5) -> QuerySet[CoBrowseSession]:
    return CoBrowseSession.objects.select_related("agent").filter(ticket=ticket)[:limit]


def visible_sessions(user: Any) -> QuerySet[CoBrowseSession]:
    qs = CoBrowseSession.objects.select_related("ticket", "agent", "customer")
    if permissions.is_manager(user):
        return qs
    if permissions.is_support_staff(user):
        return qs.filter(Q(agent=user) | Q(viewer_invitations__user=user)).distinct()
    if user.is_authenticated:
        return qs.filter(customer=user)
    return qs.none()


def pending_full_control_requests() -> QuerySet[ModeRequest]:
    """What managers approve on /manager/approvals/."""
    return ModeRequest.objects.select_related("session__ticket", "session__agent", "requested_by").filter(
        state=ModeRequestState.PENDING_MANAGER, session__state__in=SHARING_STATES
    )


def pending_full_control_count() -> int:
    """The Approvals badge: what ``pending_full_control_requests`` lists, in one COUNT query.

    ``state = pending_manager`` implies the open-request partial index's condition, so PostgreSQL
    counts from ``cobrowse_one_open_mode_request`` and joins each row to its session by key.
    """
    return ModeRequest.objects.filter(
        state=ModeRequestState.PENDING_MANAGER, session__state__in=SHARING_STATES
    ).count()


def open_mode_request(session: CoBrowseSession) -> ModeRequest | None:
    return session.mode_requests.filter(
        state__in=[ModeRequestState.PENDING_MANAGER, ModeRequestState.PENDING_CUSTOMER]
    ).first()


def customer_mode_request(session: CoBrowseSession) -> ModeRequest | None:
    """The request the customer must answer now (never one still waiting for a manager)."""
    return session.mode_requests.filter(state=ModeRequestState.PENDING_CUSTOMER).first()


def pending_extension(session: CoBrowseSession) -> ExtensionRequest | None:
    return session.extension_requests.filter(state=ExtensionRequestState.PENDING).first()


def overdue_session_ids(now=None) -> list[int]:
    """Sessions whose timers have run out (the sweep closes them)."""
    now = now or timezone.now()
    idle_cutoff = now - timedelta(seconds=settings.COBROWSE_INACTIVITY_TIMEOUT_SECONDS)
    return list(
        CoBrowseSession.objects.filter(
            Q(state=SessionState.INVITED, invite_expires_at__lte=now)
            | Q(state__in=SHARING_STATES, deadline_at__lte=now)
            | Q(state__in=SHARING_STATES, last_activity_at__lte=idle_cutoff)
        ).values_list("pk", flat=True)
    )


def sessions_with_overdue_actions(now=None) -> list[int]:
    now = now or timezone.now()
    return list(
        CoBrowseSession.objects.filter(
            action_requests__state="requested", action_requests__expires_at__lte=now
        )
        .distinct()
        .values_list("pk", flat=True)
    )
