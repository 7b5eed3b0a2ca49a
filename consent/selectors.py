"""Reads for the consent app's pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from accounts import permissions
from accounts.models import User
from cobrowse.models import CoBrowseSession
from consent.models import DeliveryChannel, HelpRequest, HelpRequestState, SessionInvite
from consent.services import sent_notice
from tickets.models import EventKind, TicketEvent


@dataclass(frozen=True)
class DeliveryStatus:
    channel: str
    channel_label: str
    state: str  # "pending", "sent", "failed", "shown" (copy: the agent was shown the link)
    at: datetime
    text: str


def delivery_status(session: CoBrowseSession) -> DeliveryStatus | None:
    """The session's newest link and what became of its delivery (from its ticket event)."""
    invite: SessionInvite | None = session.invites.order_by("-created_at", "-id").first()
    if invite is None:
        return None
    channel = invite.channel
    label = DeliveryChannel(channel).label if channel in DeliveryChannel.values else channel
    if channel == DeliveryChannel.COPY:
        return DeliveryStatus(channel, label, "shown", invite.created_at, "Link shown to the agent to copy.")
    if invite.created_by_id is not None and invite.created_by_id == session.customer_id:
        opened = "The customer opened the invitation."
        return DeliveryStatus(channel, label, "sent", invite.created_at, opened)
    event = (
        TicketEvent.objects.filter(
            ticket_id=session.ticket_id,
            kind=EventKind.COBROWSE,
            data__session=session.pk,
            data__invite=invite.pk,
            data__step__in=["invite_delivered", "invite_delivery_failed"],
        )
        .order_by("-created_at", "-id")
        .first()
    )
    if event is None:
        return DeliveryStatus(channel, label, "pending", invite.created_at, f"Sending the link ({label})…")
    if event.data.get("step") == "invite_delivery_failed":
        return DeliveryStatus(channel, label, "failed", event.created_at, event.data.get("summary", ""))
    return DeliveryStatus(channel, label, "sent", event.created_at, sent_notice(channel))


def waiting_help_requests(user: User, *, limit: int = 20) -> list[HelpRequest]:
    """Help requests waiting for an agent, oldest first, for staff who may co-browse (else none).

    Overdue ones are left out here: the sweep (or the next touch) closes them and asks for a call-back.
    """
    if not permissions.can_use_cobrowse(user):
        return []
    waiting = HelpRequest.objects.filter(state=HelpRequestState.WAITING, expires_at__gt=timezone.now())
    return list(waiting.select_related("ticket", "account").order_by("created_at", "id")[:limit])
