"""How a one-time link travels to the customer: a small backend per delivery channel.

Development backends log (never the link itself: it carries the token) or store the message in
:data:`outbox`. Deployments choose backends with ``CONSENT_DELIVERY_BACKENDS`` (channel → dotted
path); e-mail always goes through Django's mail framework.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class InviteMessage:
    channel: str
    session_id: int
    ticket_reference: str
    agent_name: str
    link: str
    recipient_email: str = ""
    recipient_phone: str = ""
    recipient_user_id: int | None = None

    @property
    def subject(self) -> str:
        return f"Screen sharing for ticket {self.ticket_reference}"

    @property
    def text(self) -> str:
        return (
            f"{self.agent_name} from support would like to look at your screen to help with ticket "
            f"{self.ticket_reference}. Open this link to see what they are asking for and decide: "
            f"{self.link}\nThe link works once and expires soon."
        )


@dataclass(frozen=True)
class WatchInviteMessage(InviteMessage):
    """A one-time link for a member of the customer's team, sent because the customer asked."""

    customer_name: str = ""

    @property
    def subject(self) -> str:
        return f"{self.customer_name} invites you to watch a screen share"

    @property
    def text(self) -> str:
        return (
            f"{self.customer_name} is sharing their screen with {self.agent_name} from support "
            f"(ticket {self.ticket_reference}) and would like you to watch. Open this link to see "
            f"what that means and decide: {self.link}\nThe link works once and expires soon."
        )


class DeliveryBackend(Protocol):
    def send(self, message: InviteMessage) -> None: ...


#: Messages stored by :class:`OutboxDelivery` (development and tests).
outbox: list[InviteMessage] = []


class EmailDelivery:
    def send(self, message: InviteMessage) -> None:
        if not message.recipient_email:
            logger.warning("co-browse invite for session %s: recipient has no e-mail", message.session_id)
            return
        send_mail(
            subject=message.subject,
            message=message.text,
            from_email=None,
            recipient_list=[message.recipient_email],
        )


class LoggingDelivery:
    """Logs that an invite went out, without the link."""

    def send(self, message: InviteMessage) -> None:
        logger.info(
            "co-browse invite for session %s on %s sent via %s",
            message.session_id,
            message.ticket_reference,
            message.channel,
        )


class OutboxDelivery(LoggingDelivery):
    """Logs like :class:`LoggingDelivery` and keeps the message in :data:`outbox`."""

    def send(self, message: InviteMessage) -> None:
        super().send(message)
        outbox.append(message)


class CopyLinkDelivery:
    """The agent copies the link shown to them; nothing is sent."""

    def send(self, message: InviteMessage) -> None:
        return None


DEFAULT_BACKENDS: dict[str, str] = {
    "email": "consent.delivery.EmailDelivery",
    "copy": "consent.delivery.CopyLinkDelivery",
    "sms": "consent.delivery.OutboxDelivery",
    "chat": "consent.delivery.OutboxDelivery",
    "in_app": "consent.delivery.OutboxDelivery",
}


def get_backend(channel: str) -> DeliveryBackend:
    paths = {**DEFAULT_BACKENDS, **getattr(settings, "CONSENT_DELIVERY_BACKENDS", {})}
    if channel not in paths:
        raise ValueError(f"Unknown delivery channel '{channel}'.")
    return import_string(paths[channel])()


def deliver(message: InviteMessage) -> bool:
    """Send the link; False when the backend failed (logged without the recipient or the link).

    Called after the invitation is saved: a mail server that is down must not turn a saved
    invitation into an error page. The sender can send again (a new link replaces this one).
    """
    try:
        get_backend(message.channel).send(message)
    except Exception as exc:
        logger.warning(
            "invite delivery failed: session %s, channel %s, %s",
            message.session_id,
            message.channel,
            type(exc).__name__,
        )
        return False
    return True
