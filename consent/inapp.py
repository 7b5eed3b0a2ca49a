"""In-app invitations: the customer's portal shows the invitation and lets them open it.

An in-app invitation is a :class:`~consent.models.SessionInvite` on the ``in_app`` channel that can
still be decided on. Its raw link was never stored (only its digest), so the portal cannot show it;
instead the signed-in customer of the ticket presses Open, which issues a fresh link to them alone
(voiding every undecided link, as any new link does) and sends their browser to it.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from cobrowse import services as cobrowse_services
from cobrowse.models import CoBrowseSession, SessionState
from consent.models import DeliveryChannel, SessionInvite
from consent.services import InviteGone, issue_invite
from consent.tokens import join_path


def pending_in_app_invites(customer: User | AnonymousUser | None) -> QuerySet[SessionInvite]:
    """The customer's in-app invitations that can still be opened, newest first."""
    if customer is None or not customer.is_authenticated:
        return SessionInvite.objects.none()
    return SessionInvite.objects.filter(
        channel=DeliveryChannel.IN_APP,
        used_at__isnull=True,
        invalidated_at__isnull=True,
        expires_at__gt=timezone.now(),
        session__state=SessionState.INVITED,
        session__customer=customer,
    ).select_related("session__ticket", "session__agent")


def _usable_in_app_invite_exists(session: CoBrowseSession) -> bool:
    return SessionInvite.objects.filter(
        session=session,
        channel=DeliveryChannel.IN_APP,
        used_at__isnull=True,
        invalidated_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).exists()


def open_in_app_invite(session: CoBrowseSession | int, customer: User | AnonymousUser) -> str:
    """The customer pressed Open: a fresh link for them; returns its path (``/j/<token>/``).

    Only the session's own customer, signed in, and only while an in-app invitation of the session
    can still be decided on (:class:`InviteGone` otherwise: the agent sends a new one).
    """
    from accounts import permissions

    if not customer.is_authenticated or permissions.is_support_staff(customer):
        raise PermissionDenied("Only the customer can open their invitation.")
    current = cobrowse_services.refresh_state(session)
    with transaction.atomic():
        locked = cobrowse_services.lock(current)
        if locked.customer_id != customer.pk:
            raise PermissionDenied("Only the customer can open their invitation.")
        if locked.state != SessionState.INVITED or not _usable_in_app_invite_exists(locked):
            raise InviteGone(locked.pk)
        _invite, raw = issue_invite(locked, channel=DeliveryChannel.IN_APP, actor=customer, send=False)
    return join_path(raw)
