"""The ticket survey: asked once when a ticket is first resolved (not when a co-browse session's
survey already asked), answered once by link, clear errors, never by staff, links that hold."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail, signing
from django.test import Client
from django.utils import timezone

from cobrowse.models import CoBrowseSession, SessionState
from tests.factories import make_ticket
from tickets import satisfaction, services
from tickets.models import SatisfactionAnswer, Status, Ticket

pytestmark = pytest.mark.django_db


def _resolve(ticket: Ticket, agent, django_capture_on_commit_callbacks) -> Ticket:
    with django_capture_on_commit_callbacks(execute=True):
        return services.change_status(ticket, actor=agent, status=Status.RESOLVED)


def _link() -> str:
    (message,) = mail.outbox
    return (
        re.search(r"http://\S+/satisfaction/\S+/", message.body).group(0).split("://", 1)[1].split("/", 1)[1]
    )


def test_asked_once_on_first_resolution_and_answered_once(
    customer, agent, django_capture_on_commit_callbacks
):
    ticket = make_ticket(customer, assignee=agent)
    ticket = _resolve(ticket, agent, django_capture_on_commit_callbacks)
    assert mail.outbox[0].to == [customer.email] and ticket.reference in mail.outbox[0].subject
    assert ticket.satisfaction_requested_at is not None
    # Reopened and resolved again: not asked twice.
    services.change_status(ticket, actor=agent, status=Status.OPEN)
    _resolve(ticket, agent, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    url = "/" + _link()
    client = Client()  # from the e-mail, not signed in
    assert 'name="stars"' in client.get(url).content.decode()
    response = client.post(url, {"stars": "2", "comment": " Took three replies "})
    assert response.status_code == 200 and "Thank you" in response.content.decode()
    answer = SatisfactionAnswer.objects.get(ticket=ticket)
    assert (answer.stars, answer.comment) == (2, "Took three replies")
    again = client.post(url, {"stars": "5"})
    assert again.status_code == 409 and SatisfactionAnswer.objects.get(ticket=ticket).stars == 2


def test_not_asked_when_a_shared_session_asked(customer, agent, django_capture_on_commit_callbacks):
    ticket = make_ticket(customer, assignee=agent)
    now = timezone.now()
    CoBrowseSession.objects.create(
        ticket=ticket, agent=agent, customer=customer, state=SessionState.ENDED,
        started_at=now - timedelta(minutes=9), ended_at=now,
    )  # fmt: skip
    ticket = _resolve(ticket, agent, django_capture_on_commit_callbacks)
    assert mail.outbox == [] and ticket.satisfaction_requested_at is None
    # A session the customer never shared asked nothing: that ticket's requester is asked.
    other = make_ticket(customer, assignee=agent)
    CoBrowseSession.objects.create(ticket=other, agent=agent, customer=customer, state=SessionState.DENIED)
    _resolve(other, agent, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1


def test_no_address_no_mail(customer, agent, django_capture_on_commit_callbacks):
    type(customer).objects.filter(pk=customer.pk).update(email="")
    ticket = make_ticket(type(customer).objects.get(pk=customer.pk), assignee=agent)
    assert _resolve(ticket, agent, django_capture_on_commit_callbacks).satisfaction_requested_at is None
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"stars": "0"}, "Choose from 1 to 5 stars."),
        ({"stars": "9"}, "Choose from 1 to 5 stars."),
        ({}, "Choose from 1 to 5 stars."),
        ({"stars": "3", "comment": "x" * 2001}, "Keep the comment under 2000 characters."),
    ],
)
def test_bad_input_is_a_clear_400(customer, agent, data, message):
    ticket = make_ticket(customer, assignee=agent)
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.RESOLVED, resolved_at=timezone.now())
    response = Client().post(f"/satisfaction/{satisfaction.token(ticket)}/", data)
    assert response.status_code == 400 and message in response.content.decode()
    assert not SatisfactionAnswer.objects.exists()


def test_links_that_do_not_hold(customer, agent, monkeypatch):
    ticket = make_ticket(customer, assignee=agent)
    client = Client()
    assert client.get("/satisfaction/not-a-token/").status_code == 404
    assert client.get(f"/satisfaction/{signing.dumps(ticket.pk, salt='other')}/").status_code == 404
    assert client.get(f"/satisfaction/{signing.dumps(999999, salt=satisfaction.SALT)}/").status_code == 404
    url = f"/satisfaction/{satisfaction.token(ticket)}/"
    assert client.get(url).status_code == 409  # not resolved yet
    assert client.post(url, {"stars": "5"}).status_code == 400
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.RESOLVED, resolved_at=timezone.now())
    staff = Client()
    staff.force_login(agent)
    assert staff.post(url, {"stars": "5"}).status_code == 403
    monkeypatch.setattr(satisfaction, "LINK_MAX_AGE_S", -1)
    assert client.get(url).status_code == 410
    assert not SatisfactionAnswer.objects.exists()


def test_the_portal_asks_too_until_answered(customer, agent, django_capture_on_commit_callbacks):
    ticket = _resolve(make_ticket(customer, assignee=agent), agent, django_capture_on_commit_callbacks)
    client = Client()
    client.force_login(customer)
    page = client.get(f"/portal/tickets/{ticket.number}/").content.decode()
    # The link's token carries the second it was signed: compare what it opens, not its text.
    (token,) = re.findall(r'href="/satisfaction/([^/"]+)/"', page)
    assert 'data-testid="satisfaction-ask"' in page and satisfaction.ticket_for_token(token) == ticket
    SatisfactionAnswer.objects.create(ticket=ticket, stars=4)
    assert (
        'data-testid="satisfaction-ask"'
        not in client.get(f"/portal/tickets/{ticket.number}/").content.decode()
    )
