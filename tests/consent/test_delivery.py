"""Sending a link never turns a saved invitation into an error page, and never logs the link."""

from __future__ import annotations

import logging

from consent import delivery


class BrokenMailServer:
    def send(self, message: delivery.InviteMessage) -> None:
        raise ConnectionRefusedError("smtp down")


def test_a_failed_send_is_reported_and_logged_without_the_link_or_recipient(settings, caplog):
    settings.CONSENT_DELIVERY_BACKENDS = {"email": "tests.consent.test_delivery.BrokenMailServer"}
    message = delivery.WatchInviteMessage(
        channel="email",
        session_id=41,
        ticket_reference="T-1001",
        agent_name="Priya",
        link="https://desk.example/w/secret-token/",
        recipient_email="dana@acme.example",
        customer_name="Ada",
    )
    with caplog.at_level(logging.WARNING, logger="consent.delivery"):
        assert delivery.deliver(message) is False
    logged = caplog.text
    assert "session 41" in logged and "ConnectionRefusedError" in logged
    assert "secret-token" not in logged and "dana@acme.example" not in logged


def test_a_working_backend_reports_success(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    message = delivery.InviteMessage(
        channel="email",
        session_id=1,
        ticket_reference="T-1",
        agent_name="Priya",
        link="https://x/j/t/",
        recipient_email="ada@example.com",
    )
    assert delivery.deliver(message) is True


def test_team_member_link_tokens_are_scrubbed_from_logs():
    from accounts.logging_filters import scrub

    token = "j_4I1drSMXv1Cfh7BvBSS-YBlFf3-lsHD3PfUPd1TQM"
    assert scrub(f"Forbidden: /w/{token}/") == "Forbidden: /w/[token]/"
    assert scrub(f"Gone: /j/{token}/") == "Gone: /j/[token]/"
