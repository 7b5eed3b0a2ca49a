"""How a one-time link travels to the customer: a small backend per delivery channel.

E-mail is queued for the mail worker (:mod:`accounts.mail`, Django's mail framework), SMS goes through
a provider API (:mod:`consent.sms`), chat through a signed outgoing webhook (:mod:`consent.chat`), and
an in-app notice is the invitation itself, shown on the customer's portal (:mod:`consent.inapp`). SMS
and chat fall back to the development :data:`outbox` only while no provider or webhook is configured.
Deployments may still replace a backend with ``CONSENT_DELIVERY_BACKENDS`` (channel → dotted path).

Delivery runs after the invitation's transaction commits; its outcome (sent, or why not) is a ticket
event the agent sees on the ticket. For e-mail only the worker knows the outcome, so it records it
(:func:`email_outcome`); until then the agent sees "Sending the link". Nothing here logs or records
the link, the e-mail address or the phone number.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from accounts import mail
from cobrowse import services as cobrowse_services
from cobrowse.models import CoBrowseSession

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
    invite_id: int | None = None

    #: Whose link this is: ``join`` (the customer's) or ``watch`` (a member of their team).
    link_kind = "join"

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
class ResumeInviteMessage(InviteMessage):
    """A fresh link for a running session whose page lost its connection (same channel, same rules)."""

    @property
    def text(self) -> str:
        return (
            f"Your screen sharing with {self.agent_name} for ticket {self.ticket_reference} lost its "
            f"connection. Open this link to continue sharing on this device: {self.link}\n"
            "The link works once and expires soon."
        )


@dataclass(frozen=True)
class WatchInviteMessage(InviteMessage):
    """A one-time link for a member of the customer's team, sent because the customer asked."""

    customer_name: str = ""
    link_kind = "watch"

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


class DeliveryFailed(Exception):
    """A link could not be delivered. ``reason`` is shown to the agent: never the link or recipient."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DeliveryBackend(Protocol):
    def send(self, message: InviteMessage) -> None: ...


#: Messages stored by :class:`OutboxDelivery` (development and tests).
outbox: list[InviteMessage] = []

#: How the agent is told what went through which channel ("SMS could not be sent: …").
CHANNEL_NAMES = {
    "email": "E-mail",
    "copy": "Link",
    "sms": "SMS",
    "chat": "Chat message",
    "in_app": "In-app notice",
}


#: The mail worker's outcome hook for invitations (registered in ``ConsentConfig.ready``).
EMAIL_OUTCOME = "consent.invite"


class EmailDelivery:
    """Queues the message for the mail worker, which sends it and then records the outcome.

    ``deliver`` already runs after the invitation's commit, so the message is queued at once. Whether
    the mail server took it is known only in the worker: it calls :func:`email_outcome`.
    """

    records_outcome = True

    def send(self, message: InviteMessage) -> None:
        if not message.recipient_email:
            raise DeliveryFailed("the customer has no e-mail address")
        queued = mail.queue(
            message.subject,
            message.text,
            [message.recipient_email],
            outcome=EMAIL_OUTCOME,
            context=_outcome_context(message),
        )
        if not queued:
            raise DeliveryFailed("the mail queue could not be reached")


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


class InAppDelivery:
    """The stored invitation is the notice: the customer's portal lists it with an Open button.

    Nothing travels, so the raw link is dropped here; the portal issues a fresh one when the customer
    presses Open (:func:`consent.inapp.open_in_app_invite`). Only the ticket's customer has a portal.
    """

    def send(self, message: InviteMessage) -> None:
        if message.link_kind != "join" or message.recipient_user_id is None:
            raise DeliveryFailed("in-app notices reach only the ticket's customer")


def http_post(url: str, body: bytes, headers: dict[str, str], *, timeout: float, service: str) -> None:
    """POST to a provider; any failure becomes :class:`DeliveryFailed` naming only ``service``.

    Answers are not echoed into the reason: providers quote the recipient in their errors.
    """
    if not url.lower().startswith(("https://", "http://")):
        raise DeliveryFailed(f"the {service} address is not an http(s) URL")
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (checked above)
            response.read()
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"the {service} answered {exc.code}") from None
    except TimeoutError:
        raise DeliveryFailed(f"the {service} did not answer in time") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise DeliveryFailed(f"the {service} did not answer in time") from None
        raise DeliveryFailed(f"the {service} could not be reached") from None
    except OSError:
        raise DeliveryFailed(f"the {service} could not be reached") from None


DEFAULT_BACKENDS: dict[str, str] = {
    "email": "consent.delivery.EmailDelivery",
    "copy": "consent.delivery.CopyLinkDelivery",
    "sms": "consent.sms.SmsDelivery",
    "chat": "consent.chat.ChatWebhookDelivery",
    "in_app": "consent.delivery.InAppDelivery",
}


def get_backend(channel: str) -> DeliveryBackend:
    paths = {**DEFAULT_BACKENDS, **getattr(settings, "CONSENT_DELIVERY_BACKENDS", {})}
    if channel not in paths:
        raise ValueError(f"Unknown delivery channel '{channel}'.")
    backend: DeliveryBackend = import_string(paths[channel])()
    return backend


def failure_text(channel: str, reason: str) -> str:
    return f"{CHANNEL_NAMES.get(channel, channel)} could not be sent: {reason}."


def deliver(message: InviteMessage) -> bool:
    """Send the link (e-mail: queue it); False when the backend failed (logged without the recipient
    or the link).

    Called after the invitation is saved: a provider that is down must not turn a saved invitation
    into an error page. The outcome is recorded on the ticket for the agent, who can send again (a
    new link replaces this one); a backend that ``records_outcome`` itself (e-mail) records it later.
    """
    context = _outcome_context(message)
    try:
        backend = get_backend(message.channel)
        backend.send(message)
    except Exception as exc:
        _report(context, exc)
        return False
    if not getattr(backend, "records_outcome", False):
        _report(context, None)
    return True


def email_outcome(context: dict[str, Any], error: Exception | None) -> None:
    """The mail worker sent an invitation's e-mail, or could not: recorded like any other channel's."""
    _report(context, error)


def _outcome_context(message: InviteMessage) -> dict[str, Any]:
    """Which link went through which channel: ids and codes only, never the link or the recipient."""
    return {
        "session": message.session_id,
        "invite": message.invite_id,
        "link": message.link_kind,
        "channel": message.channel,
    }


def _report(context: dict[str, Any], error: Exception | None) -> None:
    """Log a failure (session id, channel and reason only) and record the outcome on the ticket."""
    if error is None:
        _record_outcome(context, failed=False, reason="")
        return
    if isinstance(error, DeliveryFailed):
        reason = error.reason
    else:
        reason = f"unexpected error ({type(error).__name__})"
    logger.warning(
        "invite delivery failed: session %s, channel %s, %s", context["session"], context["channel"], reason
    )
    _record_outcome(context, failed=True, reason=reason)


def _record_outcome(context: dict[str, Any], *, failed: bool, reason: str) -> None:
    """A staff-only line on the ticket's activity, through the session's one activity writer: which
    link, which channel, sent or why not (ids and codes only)."""
    channel = str(context["channel"])
    if channel == "copy":
        return
    channel_name = CHANNEL_NAMES.get(channel, channel)
    summary = failure_text(channel, reason) if failed else f"{channel_name} sent"
    try:
        session = CoBrowseSession.objects.select_related("ticket").filter(pk=context["session"]).first()
        if session is None:
            return
        cobrowse_services.log_event(
            session,
            "invite_delivery_failed" if failed else "invite_delivered",
            internal=True,
            invite=context["invite"],
            link=context["link"],
            channel=channel,
            reason=reason,
            summary=summary,
        )
    except Exception as exc:  # the outcome is a note; it must never break the page that sent
        logger.warning(
            "invite delivery outcome not recorded: session %s, %s", context["session"], type(exc).__name__
        )
