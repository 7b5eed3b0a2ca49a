"""A new Full Control request is e-mailed, after commit, to every active manager but the one who
asked; never to agents or customers, never for lower modes, and the logs name no one."""

from __future__ import annotations

import logging

import pytest
from django.db import transaction

from cobrowse import services
from tests.consent.helpers import consent
from tests.factories import make_ticket, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(customer):
    return make_ticket(customer)


@pytest.fixture
def managers(db):
    return [make_user("manager", role="manager"), make_user("manager2", role="manager")]


def _recipients(mailoutbox) -> list[str]:
    return sorted(address for message in mailoutbox for address in message.to)


def test_every_active_manager_is_mailed_once_after_commit(
    ticket, agent, managers, mailoutbox, django_capture_on_commit_callbacks, caplog
):
    make_user("retired", role="manager", is_active=False)
    make_user("agent9", role="agent", agent_level="L3")
    session, _ = consent(ticket, agent, mode="controlled")
    mailoutbox.clear()
    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=True):
        services.request_mode(session, actor=agent, mode="full")
        assert mailoutbox == []  # nothing before the commit
    assert _recipients(mailoutbox) == ["manager2@example.com", "manager@example.com"]
    assert all(len(message.to) == 1 for message in mailoutbox)  # nobody sees the others' address
    message = mailoutbox[0]
    assert ticket.reference in message.subject and "Full control" in message.subject
    assert "/manager/approvals/" in message.body
    logged = caplog.text
    for secret in ("manager@example.com", "manager2@example.com", agent.email, agent.username, "Manager"):
        assert secret not in logged


def test_the_manager_who_asked_is_not_mailed(
    ticket, agent, managers, mailoutbox, django_capture_on_commit_callbacks
):
    asker, other = managers
    session, _ = consent(ticket, agent, mode="controlled")
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.request_mode(session, actor=asker, mode="full")
    assert _recipients(mailoutbox) == [other.email]


def test_no_mail_for_modes_the_customer_alone_decides(
    ticket, agent, managers, mailoutbox, django_capture_on_commit_callbacks
):
    session, _ = consent(ticket, agent, mode="guided")
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.request_mode(session, actor=agent, mode="controlled")
    assert mailoutbox == []


def test_no_mail_for_decisions_or_a_rolled_back_request(
    ticket, agent, managers, mailoutbox, django_capture_on_commit_callbacks
):
    session, _ = consent(ticket, agent, mode="controlled")
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        services.request_mode(session, actor=agent, mode="full")
        raise RuntimeError("rolled back")
    assert mailoutbox == []
    with django_capture_on_commit_callbacks(execute=True):
        request = services.request_mode(session, actor=agent, mode="full")
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.decide_full_control(request, manager=managers[0], approve=True)
    assert mailoutbox == []


def test_a_mail_server_failure_does_not_undo_the_request(
    ticket, agent, managers, settings, django_capture_on_commit_callbacks, caplog
):
    settings.EMAIL_BACKEND = "tests.cobrowse.test_approvals_email.FailingBackend"
    session, _ = consent(ticket, agent, mode="controlled")
    with django_capture_on_commit_callbacks(execute=True):
        request = services.request_mode(session, actor=agent, mode="full")
    request.refresh_from_db()
    assert request.state == "pending_manager"
    assert f"Full Control request {request.pk}" in caplog.text
    assert "@example.com" not in caplog.text


class FailingBackend:
    def __init__(self, *args, **kwargs) -> None:
        pass

    def send_messages(self, messages):
        raise OSError("mail server down")
