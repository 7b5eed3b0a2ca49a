"""A queued message may carry files: base64 through the broker (JSON), the original bytes in the
sent message; messages without attachments are sent as before, and logs never name recipients."""

from __future__ import annotations

import base64
import logging

from django.core import mail as outbox
from django.core.mail.backends.locmem import EmailBackend

from accounts import mail

PAYLOAD = bytes(range(256)) * 4  # every byte value: nothing may be lost on the way


def test_an_attachment_arrives_byte_for_byte(db):
    encoded = base64.b64encode(PAYLOAD).decode()
    assert mail.queue(
        "Report", "Attached.", ["boss@example.com"], attachments=[("r.pdf", encoded, "application/pdf")]
    )
    (message,) = outbox.outbox
    assert (message.subject, message.body, message.to) == ("Report", "Attached.", ["boss@example.com"])
    assert message.attachments == [("r.pdf", PAYLOAD, "application/pdf")]


def test_a_message_without_attachments_is_unchanged(db):
    assert mail.queue("Hello", "Body", ["a@example.com", "b@example.com"])
    (message,) = outbox.outbox
    assert message.attachments == [] and message.to == ["a@example.com", "b@example.com"]


def test_a_failed_send_is_logged_without_the_recipient(db, monkeypatch, caplog):
    def refuse(self, messages):
        raise ConnectionRefusedError("boss@example.com refused")

    monkeypatch.setattr(EmailBackend, "send_messages", refuse)
    encoded = base64.b64encode(b"%PDF-").decode()
    with caplog.at_level(logging.WARNING, logger="accounts.mail"):
        mail.queue("Report", "x", ["boss@example.com"], attachments=[("r.pdf", encoded, "application/pdf")])
    assert outbox.outbox == []
    assert "ConnectionRefusedError" in caplog.text and "boss@" not in caplog.text
