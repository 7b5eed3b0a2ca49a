"""SMS invitations go through a Twilio-compatible provider; failures reach the agent, not a 500."""

from __future__ import annotations

import base64
import logging
from urllib.parse import parse_qs

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from consent import delivery
from tests.consent.fake_http import fake_server
from tests.consent.helpers import start
from tests.factories import make_ticket

pytestmark = pytest.mark.django_db

PHONE = "+447700900123"


@pytest.fixture
def ticket(customer):
    customer.phone = PHONE
    customer.save(update_fields=["phone"])
    return make_ticket(customer)


@pytest.fixture
def provider(settings):
    with fake_server() as server:
        settings.SMS_API_BASE_URL = server.url
        settings.SMS_ACCOUNT_SID = "AC0123456789"
        settings.SMS_AUTH_TOKEN = "sms-auth-token"
        settings.SMS_FROM_NUMBER = "+15005550006"
        settings.SMS_TIMEOUT_SECONDS = 0.5
        yield server


def _as(user):
    client = Client()
    client.force_login(user)
    return client


def _start_from_ticket_page(client, ticket, channel, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(f"/agent/tickets/{ticket.number}/cobrowse/start/", {"channel": channel})


def test_the_link_goes_to_the_provider_and_the_agent_sees_only_that_it_was_sent(
    ticket, agent, provider, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _session, raw = start(ticket, agent, channel="sms")
    [request] = provider.received
    assert request.path == "/2010-04-01/Accounts/AC0123456789/Messages.json"
    expected_auth = base64.b64encode(b"AC0123456789:sms-auth-token").decode()
    assert request.headers["Authorization"] == f"Basic {expected_auth}"
    form = parse_qs(request.body.decode())
    assert form["To"] == [PHONE] and form["From"] == ["+15005550006"]
    assert f"/j/{raw}/" in form["Body"][0]

    page = _as(agent).get(f"/agent/tickets/{ticket.number}/").content.decode()
    assert "Link sent by SMS to the customer." in page
    assert raw not in page
    assert "/j/" not in page


def test_the_started_page_does_not_show_the_link(ticket, agent, provider, django_capture_on_commit_callbacks):
    response = _start_from_ticket_page(_as(agent), ticket, "sms", django_capture_on_commit_callbacks)
    assert response.status_code == 200
    page = response.content.decode()
    assert "/j/" not in page and 'data-testid="join-link"' not in page
    assert len(provider.received) == 1


@pytest.mark.parametrize("status", [400, 401, 500, 503])
def test_a_provider_error_is_shown_on_the_ticket_never_a_500(
    ticket, agent, provider, status, caplog, django_capture_on_commit_callbacks
):
    provider.respond = lambda _request: (status, b'{"message": "The number +447700900123 is blocked"}')
    client = _as(agent)
    with caplog.at_level(logging.DEBUG):
        response = _start_from_ticket_page(client, ticket, "sms", django_capture_on_commit_callbacks)
    assert response.status_code == 200
    page = client.get(f"/agent/tickets/{ticket.number}/").content.decode()
    assert f"SMS could not be sent: the SMS provider answered {status}." in page
    assert "/j/" not in page
    assert PHONE not in caplog.text and "/j/" not in caplog.text


def test_a_provider_that_does_not_answer_in_time_is_a_failure(
    ticket, agent, provider, settings, django_capture_on_commit_callbacks
):
    settings.SMS_TIMEOUT_SECONDS = 0.2
    provider.delay = 1.0
    client = _as(agent)
    response = _start_from_ticket_page(client, ticket, "sms", django_capture_on_commit_callbacks)
    assert response.status_code == 200
    page = client.get(f"/agent/tickets/{ticket.number}/").content.decode()
    assert "SMS could not be sent: the SMS provider did not answer in time." in page


def test_an_unreachable_provider_is_a_failure(ticket, agent, settings, django_capture_on_commit_callbacks):
    with fake_server() as server:
        closed = server.url  # nothing listens there once the block ends
    settings.SMS_API_BASE_URL = closed
    settings.SMS_ACCOUNT_SID, settings.SMS_AUTH_TOKEN, settings.SMS_FROM_NUMBER = "AC1", "t", "+15005550006"
    client = _as(agent)
    _start_from_ticket_page(client, ticket, "sms", django_capture_on_commit_callbacks)
    page = client.get(f"/agent/tickets/{ticket.number}/").content.decode()
    assert "SMS could not be sent: the SMS provider could not be reached." in page


def test_a_customer_without_a_phone_number_is_a_failure_and_nothing_is_sent(
    customer, agent, provider, django_capture_on_commit_callbacks
):
    ticket = make_ticket(customer)  # customer.phone is empty
    client = _as(agent)
    response = _start_from_ticket_page(client, ticket, "sms", django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert provider.received == []
    page = client.get(f"/agent/tickets/{ticket.number}/").content.decode()
    assert "SMS could not be sent: the customer has no phone number." in page


def test_without_a_provider_sms_goes_to_the_development_outbox(
    ticket, agent, settings, django_capture_on_commit_callbacks
):
    settings.SMS_API_BASE_URL = ""
    delivery.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        session, raw = start(ticket, agent, channel="sms")
    assert [(m.channel, m.session_id) for m in delivery.outbox] == [("sms", session.pk)]
    assert raw in delivery.outbox[0].link


def test_a_resent_sms_replaces_the_failure_notice(
    ticket, agent, provider, django_capture_on_commit_callbacks
):
    from tests.consent.helpers import resend

    provider.respond = lambda _request: (500, b"{}")
    with django_capture_on_commit_callbacks(execute=True):
        session, _raw = start(ticket, agent, channel="sms")
    provider.respond = lambda _request: (201, b"{}")
    with django_capture_on_commit_callbacks(execute=True):
        resend(session, agent, channel="sms")
    page = _as(agent).get(f"/agent/tickets/{ticket.number}/").content.decode()
    assert "Link sent by SMS to the customer." in page
    assert "could not be sent" not in page.split('data-testid="cobrowse-panel"')[1].split("</section>")[0]


@pytest.mark.parametrize("number", ["07700900123", "+44 7700 900123x", "+0447700900123", "447700900123"])
def test_phone_numbers_must_be_international(customer, number):
    customer.phone = number
    with pytest.raises(ValidationError) as exc:
        customer.full_clean()
    assert "phone" in exc.value.message_dict


def test_an_international_number_is_accepted(customer):
    customer.phone = PHONE
    customer.full_clean()
