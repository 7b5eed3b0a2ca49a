"""Chat invitations go out as a signed webhook; the receiver can verify them and refuse replays."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from django.test import Client

from consent import chat
from tests.consent.fake_http import fake_server
from tests.consent.helpers import start
from tests.factories import make_ticket

pytestmark = pytest.mark.django_db

SECRET = "chat-shared-secret-for-tests"


def _verifying(request):
    """What a chat system does with the webhook: check the signature, then post the message."""
    timestamp = request.headers.get("X-Tandem-Timestamp", "")
    expected = (
        "sha256="
        + hmac.new(SECRET.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    )
    if not hmac.compare_digest(expected, request.headers.get("X-Tandem-Signature", "")):
        return 401, b'{"error": "bad signature"}'
    if abs(time.time() - int(timestamp)) > 300:
        return 401, b'{"error": "stale"}'
    return 200, b'{"ok": true}'


@pytest.fixture
def ticket(customer):
    return make_ticket(customer)


@pytest.fixture
def webhook(settings):
    with fake_server() as server:
        server.respond = _verifying
        settings.CHAT_WEBHOOK_URL = server.url + "/hooks/tandem"
        settings.CHAT_WEBHOOK_SECRET = SECRET
        settings.CHAT_WEBHOOK_TIMEOUT_SECONDS = 0.5
        yield server


def _agent_page(agent, ticket) -> str:
    client = Client()
    client.force_login(agent)
    return client.get(f"/agent/tickets/{ticket.number}/").content.decode()


def test_the_invitation_reaches_the_customers_chat_signed(
    ticket, customer, agent, webhook, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        session, raw = start(ticket, agent, channel="chat")
    [request] = webhook.received
    assert request.path == "/hooks/tandem"
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(request.body)
    assert body["type"] == "cobrowse.invitation"
    assert body["customer"] == customer.pk and body["session"] == session.pk
    assert body["ticket"] == ticket.reference
    assert body["link"].endswith(f"/j/{raw}/") and body["link"] in body["text"]
    assert str(body["timestamp"]) == request.headers["X-Tandem-Timestamp"]
    page = _agent_page(agent, ticket)
    assert "Link sent by chat to the customer." in page
    assert raw not in page


def test_a_webhook_that_refuses_the_signature_is_shown_as_a_failure(
    ticket, agent, webhook, settings, django_capture_on_commit_callbacks
):
    settings.CHAT_WEBHOOK_SECRET = "not-the-shared-secret"
    with django_capture_on_commit_callbacks(execute=True):
        start(ticket, agent, channel="chat")
    assert len(webhook.received) == 1
    assert "Chat message could not be sent: the chat webhook answered 401." in _agent_page(agent, ticket)


def test_a_webhook_that_does_not_answer_in_time_is_a_failure(
    ticket, agent, webhook, settings, django_capture_on_commit_callbacks
):
    settings.CHAT_WEBHOOK_TIMEOUT_SECONDS = 0.2
    webhook.delay = 1.0
    with django_capture_on_commit_callbacks(execute=True):
        start(ticket, agent, channel="chat")
    assert "Chat message could not be sent: the chat webhook did not answer in time." in _agent_page(
        agent, ticket
    )


def test_without_a_webhook_chat_goes_to_the_development_outbox(
    ticket, agent, settings, django_capture_on_commit_callbacks
):
    from consent import delivery

    settings.CHAT_WEBHOOK_URL = ""
    delivery.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        session, _raw = start(ticket, agent, channel="chat")
    assert [(m.channel, m.session_id) for m in delivery.outbox] == [("chat", session.pk)]


def test_verify_signature_accepts_a_fresh_signed_body_and_refuses_tampering_and_replay():
    now = int(time.time())
    body = b'{"type":"cobrowse.invitation"}'
    signature = chat.sign(SECRET, now, body)
    assert chat.verify_signature(SECRET, body, str(now), signature, now=now + 10)
    assert not chat.verify_signature(SECRET, body + b" ", str(now), signature, now=now)
    assert not chat.verify_signature("other", body, str(now), signature, now=now)
    assert not chat.verify_signature(SECRET, body, str(now + 1), signature, now=now)  # timestamp is signed
    assert not chat.verify_signature(SECRET, body, str(now), signature, now=now + 301)  # replayed later
    assert not chat.verify_signature(SECRET, body, "soon", signature, now=now)
