"""What the customer's pages say about a session: the portal ticket's panel tells them what they can
do in each state (press Open on an in-app invitation, open a link that came another way, nothing
when the request is closed), and the panel and the "You are sharing" page say what
is shared: their page, or a shared browser that runs on support's side."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from cobrowse import services as cobrowse_services
from consent import services as consent_services
from consent.models import SessionInvite
from tests.consent.helpers import consent, start
from tests.factories import make_ticket
from tickets.models import Status, Ticket

pytestmark = pytest.mark.django_db

BROWSER_URL = "http://localhost:8001/apply"


@pytest.fixture
def ticket(customer):
    return make_ticket(customer)


def _as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _panel(user, ticket) -> str:
    html = _as(user).get(f"/portal/tickets/{ticket.number}/").content.decode()
    start_at = html.index('data-testid="cobrowse-portal-panel"')
    return " ".join(html[start_at : html.index("</section>", start_at)].split())


def _start(ticket, agent, django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        return start(ticket, agent, **kwargs)


def _shared_browser(ticket, agent):
    """A server-side browser session the customer allowed on the consent screen."""
    _session, raw = start(ticket, agent, kind="browser", target_url=BROWSER_URL)
    invite = consent_services.open_invite(raw)
    return consent_services.grant_consent(invite, mode="guided").session


def test_an_in_app_invitation_points_at_its_open_button(
    ticket, customer, agent, django_capture_on_commit_callbacks
):
    _start(ticket, agent, django_capture_on_commit_callbacks, channel="in_app")
    panel = _panel(customer, ticket)
    assert "invited you to share your screen. Press Open on the invitation above" in panel
    assert "sent you a link" not in panel


@pytest.mark.parametrize(
    ("channel", "words"),
    [
        ("email", "sent you a link by e-mail to share your screen."),
        ("sms", "sent you a link by text message to share your screen."),
        ("chat", "sent you a link by chat to share your screen."),
        ("copy", "has a link for you to share your screen and will paste it into your conversation."),
    ],
)
def test_a_link_sent_another_way_is_named_by_how_it_came(
    ticket, customer, agent, channel, words, django_capture_on_commit_callbacks
):
    _start(ticket, agent, django_capture_on_commit_callbacks, channel=channel)
    panel = _panel(customer, ticket)
    assert words in panel and "Open it to see what they ask for, then allow or deny." in panel
    assert "Press Open" not in panel


def test_an_in_app_invitation_that_can_no_longer_be_opened_says_to_ask_for_a_new_one(
    ticket, customer, agent, django_capture_on_commit_callbacks
):
    session, _raw = _start(ticket, agent, django_capture_on_commit_callbacks, channel="in_app")
    SessionInvite.objects.filter(session=session).update(invalidated_at=timezone.now())
    panel = _panel(customer, ticket)
    assert "can no longer be opened. Ask" in panel and "to send a new one" in panel
    assert "Press Open" not in panel


def test_a_server_side_browser_invitation_says_shared_browser_everywhere(
    ticket, customer, agent, django_capture_on_commit_callbacks
):
    _start(
        ticket,
        agent,
        django_capture_on_commit_callbacks,
        channel="in_app",
        kind="browser",
        target_url=BROWSER_URL,
    )
    panel = _panel(customer, ticket)
    assert "invited you to use a shared browser with them. Press Open" in panel
    assert "screen" not in panel.replace("Screen sharing", "")


def test_sharing_a_page_says_this_page(ticket, customer, agent):
    session, _grant = consent(ticket, agent)
    assert "You are sharing your screen with" in _panel(customer, ticket)
    page = _as(customer).get(f"/cobrowse/sessions/{session.pk}/").content.decode()
    assert "can see this page to help with ticket" in page
    assert "shared browser" not in page


def test_a_shared_browser_never_says_this_page_or_your_screen(ticket, customer, agent):
    session = _shared_browser(ticket, agent)
    panel = _panel(customer, ticket)
    assert "are using a shared browser (guidance). It runs on our side" in panel
    assert "sharing your screen" not in panel
    page = " ".join(_as(customer).get(f"/cobrowse/sessions/{session.pk}/").content.decode().split())
    assert "see a shared browser to help with ticket" in page and "not on your device" in page
    assert "this page" not in page
    cobrowse_services.end_session(session, actor=agent)
    ended = " ".join(_as(customer).get(f"/cobrowse/sessions/{session.pk}/").content.decode().split())
    assert "The shared browser is closed" in ended and "your screen" not in ended


def test_after_a_request_the_panel_says_where_the_invitation_will_come(ticket, customer):
    cobrowse_services.request_screen_share(ticket, customer=customer)
    panel = _panel(customer, ticket)
    assert "When your agent invites you, the invitation shows on this page" in panel
    assert "Your agent will send you a link" not in panel


def test_a_closed_request_says_sharing_is_no_longer_possible(ticket, customer):
    assert 'data-testid="request-screen-share"' in _panel(customer, ticket)
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.CLOSED)
    panel = _panel(customer, ticket)
    assert "This request is closed" in panel and 'data-testid="request-screen-share"' not in panel
