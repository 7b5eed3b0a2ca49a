"""SMS delivery of one-time links through a provider interface.

:class:`TwilioSmsProvider` speaks the common Twilio-compatible HTTP API
(``POST {base}/2010-04-01/Accounts/{sid}/Messages.json``, basic auth, form fields To/From/Body);
it is used when ``SMS_API_BASE_URL``, ``SMS_ACCOUNT_SID``, ``SMS_AUTH_TOKEN`` and
``SMS_FROM_NUMBER`` are all set. Without them, messages go to the development outbox.

Failures raise :class:`consent.delivery.DeliveryFailed` with a reason that names neither the number
nor the link (provider answers are not echoed: they may quote the number).
"""

from __future__ import annotations

import base64
import re
import urllib.parse
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings

from consent.delivery import DeliveryFailed, InviteMessage, OutboxDelivery, http_post

#: E.164: a plus, a country code that does not start with 0, at most 15 digits in all.
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class SmsProvider(Protocol):
    def send_sms(self, *, to: str, body: str) -> None: ...


@dataclass(frozen=True)
class TwilioSmsProvider:
    """A Twilio-compatible Messages API."""

    base_url: str
    account_sid: str
    auth_token: str
    from_number: str
    timeout: float = 5.0

    def send_sms(self, *, to: str, body: str) -> None:
        url = (
            f"{self.base_url.rstrip('/')}/2010-04-01/Accounts/"
            f"{urllib.parse.quote(self.account_sid, safe='')}/Messages.json"
        )
        data = urllib.parse.urlencode({"To": to, "From": self.from_number, "Body": body}).encode()
        credentials = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        headers = {
            "Authorization": f"Basic {credentials}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        http_post(url, data, headers, timeout=self.timeout, service="SMS provider")


def configured_provider() -> SmsProvider | None:
    """The provider the settings describe, or None (development: the outbox)."""
    values = (
        settings.SMS_API_BASE_URL,
        settings.SMS_ACCOUNT_SID,
        settings.SMS_AUTH_TOKEN,
        settings.SMS_FROM_NUMBER,
    )
    if not all(values):
        return None
    return TwilioSmsProvider(*values, timeout=settings.SMS_TIMEOUT_SECONDS)


def sms_text(message: InviteMessage) -> str:
    """Short: one or two SMS segments."""
    return (
        f"{message.agent_name} (support, ticket {message.ticket_reference}) asks to see your screen. "
        f"Decide here: {message.link} (works once, expires soon)"
    )


class SmsDelivery:
    def send(self, message: InviteMessage) -> None:
        phone = (message.recipient_phone or "").replace(" ", "")
        if not phone:
            raise DeliveryFailed("the customer has no phone number")
        if not E164.match(phone):
            raise DeliveryFailed("the customer's phone number is not in international format (+…)")
        provider = configured_provider()
        if provider is None:
            OutboxDelivery().send(message)
            return
        provider.send_sms(to=phone, body=sms_text(message))
