"""In-app invitations: shown on the customer's portal with an Open button that issues their link."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from consent.models import SessionInvite
from consent.tokens import hash_token
from tests.consent.helpers import start
from tests.factories import make_account, make_ticket, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(customer):
    return make_ticket(customer)


def _as(user):
    client = Client()
    client.force_login(user)
    return client


def _open_url(ticket, session):
    return f"/portal/tickets/{ticket.number}/invitations/{session.pk}/open/"


def _start_in_app(ticket, agent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return start(ticket, agent, channel="in_app")


def test_the_customers_ticket_and_header_show_the_invitation(
    ticket, customer, agent, django_capture_on_commit_callbacks
):
    session, _raw = _start_in_app(ticket, agent, django_capture_on_commit_callbacks)
    client = _as(customer)
    page = client.get(f"/portal/tickets/{ticket.number}/").content.decode()
    assert 'data-testid="in-app-invitation"' in page
    assert f'action="{_open_url(ticket, session)}"' in page
    assert 'data-testid="notification-count">1<' in page
    listing = client.get("/portal/").content.decode()
    assert f"/portal/tickets/{ticket.number}/#invitation" in listing


def test_the_agent_sees_that_it_was_sent_and_never_the_link(
    ticket, agent, django_capture_on_commit_callbacks
):
    client = _as(agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/agent/tickets/{ticket.number}/cobrowse/start/", {"channel": "in_app"})
    assert response.status_code == 200
    assert "/j/" not in response.content.decode()
    page = client.get(f"/agent/tickets/{ticket.number}/").content.decode()
    assert "Link sent by an in-app notice to the customer." in page
    assert "/j/" not in page


def test_open_issues_a_fresh_link_voids_the_old_one_and_goes_to_it(
    ticket, customer, agent, django_capture_on_commit_callbacks
):
    session, old_raw = _start_in_app(ticket, agent, django_capture_on_commit_callbacks)
    client = _as(customer)
    response = client.post(_open_url(ticket, session))
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("/j/") and location.endswith("/")
    new_raw = location.removeprefix("/j/").removesuffix("/")
    new_invite = SessionInvite.objects.get(token_hash=hash_token(new_raw))
    assert new_invite.session_id == session.pk and new_invite.channel == "in_app"
    assert SessionInvite.objects.get(token_hash=hash_token(old_raw)).invalidated_at is not None
    assert client.get(location).status_code == 200  # the consent screen
    assert client.get(f"/j/{old_raw}/").status_code == 410
    agent_page = _as(agent).get(f"/agent/tickets/{ticket.number}/").content.decode()
    assert "The customer opened the invitation." in agent_page
    assert new_raw not in agent_page


def test_only_the_tickets_customer_can_open_it(ticket, agent, django_capture_on_commit_callbacks):
    session, _raw = _start_in_app(ticket, agent, django_capture_on_commit_callbacks)
    stranger = make_user("stranger", role="customer", account=make_account("Initech"))
    before = SessionInvite.objects.count()
    assert _as(stranger).post(_open_url(ticket, session)).status_code == 404
    response = _as(agent).post(_open_url(ticket, session))  # staff are sent to the agent pages
    assert response.status_code == 302 and "/j/" not in response["Location"]
    assert SessionInvite.objects.count() == before
    assert "in-app-invitation" not in _as(stranger).get("/portal/").content.decode()


def test_a_colleague_who_sees_the_ticket_cannot_open_the_customers_invitation(
    ticket, other_customer, agent, django_capture_on_commit_callbacks
):
    session, _raw = _start_in_app(ticket, agent, django_capture_on_commit_callbacks)
    before = SessionInvite.objects.count()
    response = _as(other_customer).post(_open_url(ticket, session))
    assert response.status_code == 404
    assert SessionInvite.objects.count() == before


def test_open_is_post_only(ticket, customer, agent, django_capture_on_commit_callbacks):
    session, _raw = _start_in_app(ticket, agent, django_capture_on_commit_callbacks)
    assert _as(customer).get(_open_url(ticket, session)).status_code == 405


@pytest.mark.parametrize("how", ["copy_link_sent_since", "expired", "ended"])
def test_an_invitation_that_is_no_longer_open_cannot_be_opened(
    ticket, customer, agent, how, django_capture_on_commit_callbacks
):
    from cobrowse import services as cobrowse_services
    from tests.consent.helpers import resend

    session, _raw = _start_in_app(ticket, agent, django_capture_on_commit_callbacks)
    if how == "copy_link_sent_since":
        resend(session, agent, channel="copy")
    elif how == "expired":
        SessionInvite.objects.filter(session=session).update(expires_at=timezone.now() - timedelta(seconds=1))
    else:
        cobrowse_services.end_session(session, actor=agent)
    before = SessionInvite.objects.count()
    client = _as(customer)
    response = client.post(_open_url(ticket, session), follow=True)
    assert response.status_code == 200
    assert "can no longer be opened" in response.content.decode()
    assert 'data-testid="in-app-invitation"' not in response.content.decode()
    assert SessionInvite.objects.count() == before


def test_other_channels_show_no_in_app_invitation(
    ticket, customer, agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        start(ticket, agent, channel="email")
    page = _as(customer).get(f"/portal/tickets/{ticket.number}/").content.decode()
    assert 'data-testid="in-app-invitation"' not in page
    assert 'data-testid="portal-notifications"' not in page


def test_pressing_open_over_and_over_is_rate_limited(
    ticket, customer, agent, settings, django_capture_on_commit_callbacks
):
    settings.COBROWSE_JOIN_RATE_LIMIT = "3/m"
    session, _raw = _start_in_app(ticket, agent, django_capture_on_commit_callbacks)
    client = _as(customer)
    answers = [client.post(_open_url(ticket, session)).status_code for _ in range(4)]
    assert answers == [302, 302, 302, 429]
    assert SessionInvite.objects.filter(session=session).count() == 4  # the first and three opens


def test_a_server_side_browser_invitation_is_named_as_one(
    ticket, customer, agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        start(ticket, agent, channel="in_app", kind="browser", target_url="http://localhost:8001/apply")
    client = _as(customer)
    page = client.get(f"/portal/tickets/{ticket.number}/").content.decode()
    card = page[page.index('data-testid="in-app-invitation"') : page.index('data-testid="open-invitation"')]
    assert "Invitation to a shared browser" in card and "runs on our side, not on your device" in card
    assert "your screen" not in card
    assert "invites you to a shared browser" in client.get("/portal/").content.decode()


def test_a_page_invitation_still_asks_to_look_at_the_screen(
    ticket, customer, agent, django_capture_on_commit_callbacks
):
    _start_in_app(ticket, agent, django_capture_on_commit_callbacks)
    page = _as(customer).get(f"/portal/tickets/{ticket.number}/").content.decode()
    assert "Invitation to share your screen" in page and "invites you to share your screen" in page
