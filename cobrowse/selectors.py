"""Co-browse reads, scoped through ``accounts.permissions``."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts import permissions
from accounts.models import User
from cobrowse.models import (
    LIVE_STATES,
    SHARING_STATES,
    CoBrowseSession,
    ExtensionRequest,
    ExtensionRequestState,
    ModeRequest,
    ModeRequestState,
    SessionKind,
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


def visible_sessions(user: User | AnonymousUser) -> QuerySet[CoBrowseSession]:
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


def overdue_session_ids(now: datetime | None = None) -> list[int]:
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


def sessions_with_overdue_actions(now: datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return list(
        CoBrowseSession.objects.filter(
            action_requests__state="requested", action_requests__expires_at__lte=now
        )
        .distinct()
        .values_list("pk", flat=True)
    )


# --- active sessions (the "Active sessions" page) ------------------------------------------------


def watch_url(session: CoBrowseSession) -> str:
    """Where staff watch a session: the console for a customer's page, the screencast viewer for a
    server-side browser. One of the two, never both: each open view takes one of the session's seats."""
    if session.kind == SessionKind.BROWSER:
        return reverse("browser-viewer", args=[session.pk])
    return reverse("console:live", args=[session.pk])


def _not_overdue(now: datetime) -> Q:
    """Live sessions whose timers have not run out: the sweep closes the others within 30 s, and
    until then a list must not offer them as live."""
    idle_cutoff = now - timedelta(seconds=settings.COBROWSE_INACTIVITY_TIMEOUT_SECONDS)
    invited_open = Q(state=SessionState.INVITED) & (
        Q(invite_expires_at__isnull=True) | Q(invite_expires_at__gt=now)
    )
    sharing_open = (
        Q(state__in=SHARING_STATES)
        & (Q(deadline_at__isnull=True) | Q(deadline_at__gt=now))
        & (Q(last_activity_at__isnull=True) | Q(last_activity_at__gt=idle_cutoff))
    )
    return invited_open | sharing_open


def active_sessions(user: User, now: datetime | None = None) -> dict[str, list[CoBrowseSession]]:
    """What the "Active sessions" page lists for ``user``, in at most three queries.

    ``own``: live and waiting sessions the user leads. ``invited``: live sessions a colleague asked
    them to watch. ``all``: every live session, for managers only (empty for anyone else).
    """
    if not permissions.is_support_staff(user):
        return {"own": [], "invited": [], "all": []}
    now = now or timezone.now()
    base = (
        CoBrowseSession.objects.filter(_not_overdue(now))
        .select_related("ticket", "agent")
        .order_by("created_at", "id")
    )
    own = list(base.filter(agent=user))
    invited = list(base.filter(viewer_invitations__user=user).exclude(agent=user).distinct())
    everyone = list(base) if permissions.is_manager(user) else []
    return {"own": own, "invited": invited, "all": everyone}
