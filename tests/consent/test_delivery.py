"""Sending a link never turns a saved invitation into an error page, and never logs the link."""

from __future__ import annotations

import logging

import pytest

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


def _agent_panel(agent, ticket) -> str:
    from django.test import Client

    client = Client()
    client.force_login(agent)
    page = client.get(f"/agent/tickets/{ticket.number}/").content.decode()
    return page.split('data-testid="cobrowse-panel"')[1].split("</section>")[0]


@pytest.mark.django_db
def test_a_customer_without_an_e_mail_address_is_a_failure_the_agent_sees(
    customer, agent, mailoutbox, django_capture_on_commit_callbacks
):
    from tests.consent.helpers import start
    from tests.factories import make_ticket

    customer.email = ""
    customer.save(update_fields=["email"])
    ticket = make_ticket(customer)
    with django_capture_on_commit_callbacks(execute=True):
        start(ticket, agent, channel="email")
    assert mailoutbox == []
    assert "E-mail could not be sent: the customer has no e-mail address." in _agent_panel(agent, ticket)


@pytest.mark.django_db
def test_an_unexpected_backend_error_is_named_by_type_only(
    customer, agent, settings, django_capture_on_commit_callbacks
):
    from tests.consent.helpers import start
    from tests.factories import make_ticket

    settings.CONSENT_DELIVERY_BACKENDS = {"email": "tests.consent.test_delivery.BrokenMailServer"}
    ticket = make_ticket(customer)
    with django_capture_on_commit_callbacks(execute=True):
        start(ticket, agent, channel="email")
    panel = _agent_panel(agent, ticket)
    assert "E-mail could not be sent: unexpected error (ConnectionRefusedError)." in panel
    assert "smtp down" not in panel


def test_in_app_notices_reach_only_the_tickets_customer():
    message = delivery.WatchInviteMessage(
        channel="in_app",
        session_id=41,
        ticket_reference="T-1001",
        agent_name="Priya",
        link="https://desk.example/w/secret-token/",
        customer_name="Ada",
    )
    with pytest.raises(delivery.DeliveryFailed):
        delivery.InAppDelivery().send(message)
