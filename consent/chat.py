"""Chat delivery: the invitation goes to the customer's chat through a signed outgoing webhook.

Tandem POSTs JSON to ``CHAT_WEBHOOK_URL``; the chat system posts it into the customer's
conversation. The body is signed with HMAC-SHA256 under ``CHAT_WEBHOOK_SECRET``:

    X-Tandem-Timestamp: <unix seconds>
    X-Tandem-Signature: sha256=<hex of HMAC(secret, "<timestamp>." + body)>

The timestamp is also in the body; receivers reject a signature that does not match or a timestamp
older than a few minutes (:func:`verify_signature`), so a captured request cannot be replayed later.
Without a URL and secret, messages go to the development outbox.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from django.conf import settings

from consent.delivery import DeliveryFailed, InviteMessage, OutboxDelivery, http_post

SIGNATURE_HEADER = "X-Tandem-Signature"
TIMESTAMP_HEADER = "X-Tandem-Timestamp"
#: How old a timestamp :func:`verify_signature` still accepts.
DEFAULT_TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(
    secret: str,
    body: bytes,
    timestamp: str,
    signature: str,
    *,
    now: float | None = None,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver checks: the signature over timestamp and body, and a recent timestamp."""
    try:
        stamp = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - stamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, stamp, body), signature or "")


def payload(message: InviteMessage, timestamp: int) -> dict:
    return {
        "type": "cobrowse.invitation",
        "timestamp": timestamp,
        "session": message.session_id,
        "ticket": message.ticket_reference,
        "customer": message.recipient_user_id,
        "text": message.text,
        "link": message.link,
    }


class ChatWebhookDelivery:
    def send(self, message: InviteMessage) -> None:
        url, secret = settings.CHAT_WEBHOOK_URL, settings.CHAT_WEBHOOK_SECRET
        if not (url and secret):
            OutboxDelivery().send(message)
            return
        if message.recipient_user_id is None:
            raise DeliveryFailed("the recipient has no chat conversation")
        timestamp = int(time.time())
        body = json.dumps(payload(message, timestamp), separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(secret, timestamp, body),
        }
        http_post(url, body, headers, timeout=settings.CHAT_WEBHOOK_TIMEOUT_SECONDS, service="chat webhook")
