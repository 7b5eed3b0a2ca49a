"""The survey by e-mail: once, when a session the customer shared ends, to the ticket's requester, with
a link that works; none for a session that never started."""

from __future__ import annotations

import logging
import re

import pytest
from django.core import mail
from django.db import transaction
from django.test import Client

from cobrowse import services as session_services
from cobrowse.models import SessionState
from outcomes.models import SurveyResponse
from tests.consent.helpers import consent, start
from tests.factories import make_ticket

LINK = re.compile(r"https?://\S+/survey/\S+/")


def shared_session(customer, agent):
    session, _grant = consent(make_ticket(customer), agent)
    return session_services.mark_active(session.pk)  # the customer's page connected


@pytest.mark.django_db
def test_the_requester_gets_one_email_with_a_working_link(
    customer, agent, settings, django_capture_on_commit_callbacks, caplog
):
    settings.TANDEM_BASE_URL = "https://desk.example"
    session = shared_session(customer, agent)
    mail.outbox.clear()  # the invitation
    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=True):
        session_services.end_session(session.pk, actor=agent)
    (message,) = mail.outbox
    assert message.to == [customer.email]
    assert message.subject == f"How did your session on {session.ticket.reference} go?"
    link = LINK.search(message.body).group(0)
    assert link.startswith("https://desk.example/survey/")
    assert customer.email not in caplog.text  # no address in the logs

    path = link.removeprefix("https://desk.example")
    assert 'name="stars"' in Client().get(path).content.decode()
    answered = Client().post(path + "answer/", {"stars": 5}, content_type="application/json")
    assert answered.status_code == 201
    assert SurveyResponse.objects.get(session=session).stars == 5

    # A session ends once: ending it again (a second click, the sweep) sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        session_services.end_session(session.pk, actor=agent)
        session_services.refresh_state(session.pk)
    assert len(mail.outbox) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("ending", ["revoked", "timed_out"])
def test_other_ways_a_shared_session_ends_send_it_too(
    customer, agent, django_capture_on_commit_callbacks, ending
):
    session = shared_session(customer, agent)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        session_services.transition(session_services.lock(session.pk), ending, reason=ending)
    assert [m.subject for m in mail.outbox] == [f"How did your session on {session.ticket.reference} go?"]


@pytest.mark.django_db
def test_no_email_for_a_session_that_never_started(customer, agent, django_capture_on_commit_callbacks):
    withdrawn, _token = start(make_ticket(customer), agent)  # invited, never answered
    consented, _grant = consent(make_ticket(customer), agent)  # allowed, but the page never connected
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        session_services.end_session(withdrawn.pk, actor=agent)
        session_services.end_session(consented.pk, actor=agent)
    withdrawn.refresh_from_db()
    consented.refresh_from_db()
    assert (withdrawn.state, consented.state) == (SessionState.ENDED, SessionState.ENDED)
    assert mail.outbox == []


@pytest.mark.django_db
def test_none_when_the_end_rolls_back_and_none_without_an_address(
    customer, agent, django_capture_on_commit_callbacks
):
    session = shared_session(customer, agent)
    mail.outbox.clear()
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        session_services.end_session(session.pk, actor=agent)
        raise RuntimeError("the request failed after the end")
    assert mail.outbox == []

    customer.email = ""
    customer.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        session_services.end_session(session.pk, actor=agent)
    assert mail.outbox == []
