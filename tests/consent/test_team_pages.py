"""The pages of a team member's journey: the customer's invite and Remove, the one-time link
/w/<token>/ (404 unknown, 410 used or expired, rate limited, never a 500), the consent screen,
the watch page and the grant endpoints."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cobrowse.models import TeamViewer, TeamViewerState
from consent import team
from consent.models import ConsentKind, ConsentRecord, TeamViewerInvite, ViewerGrant
from tests.consent.helpers import consent, invite_team, start, team_grant
from tests.factories import make_ticket, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared(customer, agent):
    session, _grant = consent(make_ticket(customer), agent, mode="guided")
    return session


def _invite_url(session) -> str:
    return reverse("consent:invite_team_member", args=[session.pk])


def _form(channel: str = "copy", **extra) -> dict:
    return {"name": "Dana Lee", "email": "dana.lee@acme.example", "channel": channel, **extra}


def test_the_sharing_customer_sees_the_form_and_invites_with_a_link_to_pass_on(client, customer, shared):
    client.force_login(customer)
    page = client.get(reverse("cobrowse:sharing", args=[shared.pk])).content.decode()
    assert 'data-testid="team-invite-form"' in page and "can only watch" in page
    response = client.post(_invite_url(shared), _form())
    assert response.status_code == 200
    raw = re.search(r'value="http[^"]+/w/([^"/]+)/"', response.content.decode()).group(1)
    viewer = TeamViewer.objects.get()
    assert team.claim_watch_link(raw).team_viewer == viewer
    assert viewer.invited_by == customer
    assert ConsentRecord.objects.filter(team_viewer=viewer, kind=ConsentKind.TEAM_VIEWER).exists()
    page = client.get(reverse("cobrowse:sharing", args=[shared.pk])).content.decode()
    assert "Dana Lee" in page and 'data-testid="remove-team-viewer"' in page


def test_the_portal_panel_offers_the_same(client, customer, shared):
    client.force_login(customer)
    page = client.get(reverse("tickets:portal_ticket", args=[shared.ticket.number])).content.decode()
    assert 'data-testid="team-invite-form"' in page


def test_the_browser_that_consented_may_invite_without_a_login(customer, agent):
    session, raw = start(make_ticket(customer), agent)
    browser = Client()
    browser.get(f"/j/{raw}/")
    browser.post(f"/j/{raw}/", {"decision": "view_only"})
    response = browser.post(_invite_url(session), _form("email"))
    assert response.status_code == 200 and "We e-mailed Dana Lee" in response.content.decode()
    assert "/w/" not in response.content.decode()  # e-mailed: the link is not shown to the customer


def test_approval_comes_only_from_the_sharing_customer(client, shared, agent, other_customer, manager):
    for who in (agent, other_customer, manager, None):
        c = Client()
        if who is not None:
            c.force_login(who)
        assert c.post(_invite_url(shared), _form()).status_code == 404
    assert not TeamViewer.objects.exists()


def test_bad_input_goes_back_with_a_message(client, customer, shared):
    client.force_login(customer)
    response = client.post(_invite_url(shared), _form(email="nope"), follow=True)
    assert "Enter a valid e-mail address." in response.content.decode()
    assert not TeamViewer.objects.exists()


def test_invite_needs_csrf(customer, shared):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(customer)
    assert strict.post(_invite_url(shared), _form()).status_code == 403


def test_the_customer_removes_them(client, customer, shared, other_customer):
    viewer, _grant = team_grant(shared)
    url = reverse("consent:remove_team_member", args=[shared.pk, viewer.pk])
    stranger = Client()
    stranger.force_login(other_customer)
    assert stranger.post(url).status_code == 404
    client.force_login(customer)
    assert client.post(url).status_code == 303
    viewer.refresh_from_db()
    assert viewer.state == TeamViewerState.REMOVED
    assert client.post(reverse("consent:remove_team_member", args=[shared.pk, 999999])).status_code == 404


# --- the team member's link -------------------------------------------------------------------


def test_the_consent_screen_says_whose_page_which_agent_view_only_and_visible(shared, customer):
    _viewer, raw = invite_team(shared)
    page = Client().get(f"/w/{raw}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert customer.display_name in text and shared.agent.display_name in text
    assert "You can only watch" in text and "sees your name" in text
    assert 'value="join"' in text and 'value="decline"' in text


def test_join_redirects_to_the_watch_page_with_the_grant_in_the_fragment(shared):
    viewer, raw = invite_team(shared)
    browser = Client()
    assert browser.get(f"/w/{raw}/").status_code == 200
    assert browser.get(f"/w/{raw}/").status_code == 200  # a reload by the same browser
    response = browser.post(f"/w/{raw}/", {"decision": "join"})
    assert response.status_code == 303
    location = response["Location"]
    assert location.startswith(f"/watch/{shared.pk}/#tandem=")
    grant = location.split("#tandem=", 1)[1]
    assert team.verify_viewer_grant(grant) == viewer
    assert browser.get(f"/w/{raw}/").status_code == 410  # decided: the link is spent


def test_decline(shared):
    viewer, raw = invite_team(shared)
    browser = Client()
    browser.get(f"/w/{raw}/")
    response = browser.post(f"/w/{raw}/", {"decision": "decline"})
    assert response.status_code == 200 and 'data-testid="watch-declined"' in response.content.decode()
    viewer.refresh_from_db()
    assert viewer.state == TeamViewerState.DECLINED and not ViewerGrant.objects.exists()


def test_unknown_404_decided_in_another_browser_410_expired_410(shared):
    assert Client().get("/w/" + "a" * 43 + "/").status_code == 404
    _viewer, raw = invite_team(shared, email="a@acme.example")
    first, second = Client(), Client()
    assert first.get(f"/w/{raw}/").status_code == 200
    assert second.get(f"/w/{raw}/").status_code == 200  # opening uses nothing
    assert first.post(f"/w/{raw}/", {"decision": "join"}).status_code == 303
    assert second.post(f"/w/{raw}/", {"decision": "join"}).status_code == 410
    assert Client().get(f"/w/{raw}/").status_code == 410
    viewer, raw = invite_team(shared, email="b@acme.example")
    browser = Client()
    assert browser.get(f"/w/{raw}/").status_code == 200
    TeamViewerInvite.objects.filter(team_viewer=viewer).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert browser.get(f"/w/{raw}/").status_code == 410
    assert browser.post(f"/w/{raw}/", {"decision": "join"}).status_code == 410
    viewer.refresh_from_db()
    assert viewer.state == TeamViewerState.INVITED


def test_mail_scanners_fetching_the_link_leave_it_usable(shared):
    viewer, raw = invite_team(shared)
    scanner = Client(REMOTE_ADDR="192.0.2.50")
    assert scanner.head(f"/w/{raw}/").status_code == 200
    assert scanner.get(f"/w/{raw}/").status_code == 200
    assert scanner.get(f"/w/{raw}/").status_code == 200
    assert TeamViewerInvite.objects.get(team_viewer=viewer).used_at is None
    assert Client().post(f"/w/{raw}/", {"decision": "join"}).status_code == 303


@pytest.mark.parametrize("who", ["agent", "manager"])
def test_signed_in_staff_cannot_open_or_decide_a_watch_link(request, shared, who):
    from audit.models import AuditEvent

    user = request.getfixturevalue(who)
    viewer, raw = invite_team(shared)
    staff = Client()
    staff.force_login(user)
    for response in (staff.get(f"/w/{raw}/"), staff.post(f"/w/{raw}/", {"decision": "join"})):
        assert response.status_code == 403
        text = response.content.decode()
        assert "support staff cannot decide on the customer's behalf" in text
        assert viewer.name not in text and 'value="join"' not in text
    assert TeamViewerInvite.objects.get(team_viewer=viewer).used_at is None
    assert not ViewerGrant.objects.exists()
    events = AuditEvent.objects.filter(action="consent.staff_link_refused")
    assert [e.details for e in events] == [{"session": shared.pk, "user": user.pk, "link": "watch"}] * 2
    assert all(e.actor == user for e in events)
    assert Client().post(f"/w/{raw}/", {"decision": "join"}).status_code == 303  # still theirs


def test_a_recorded_session_is_announced_before_anything_is_seen(customer, agent):
    recorded, _grant = consent(make_ticket(customer), agent, mode="guided", recording=True)
    _viewer, raw = invite_team(recorded)
    browser = Client()
    page = browser.get(f"/w/{raw}/").content.decode()
    assert 'data-testid="watch-recorded"' in page and "This session is recorded." in page
    assert page.index("This session is recorded.") < page.index('value="join"')
    location = browser.post(f"/w/{raw}/", {"decision": "join"})["Location"]
    watch = browser.get(location.split("#", 1)[0]).content.decode()
    assert 'data-testid="watch-recorded"' in watch
    assert watch.index('data-testid="watch-recorded"') < watch.index('data-testid="watch-view"')
    # Another browser learns nothing about the session from the page.
    assert 'data-testid="watch-recorded"' not in Client().get(f"/watch/{recorded.pk}/").content.decode()


def test_an_unrecorded_session_says_nothing_about_recording(shared):
    _viewer, raw = invite_team(shared)
    browser = Client()
    assert 'data-testid="watch-recorded"' not in browser.get(f"/w/{raw}/").content.decode()
    location = browser.post(f"/w/{raw}/", {"decision": "join"})["Location"]
    assert 'data-testid="watch-recorded"' not in browser.get(location.split("#", 1)[0]).content.decode()


@pytest.mark.parametrize(
    "token", ["x" * 1000, "%C3%A9t%C3%A9", "..%2F..%2Fetc", "a%00b", "'or'1'='1", "%F0%9F%98%80"]
)
def test_garbage_tokens_are_not_found(shared, token):
    assert Client().get(f"/w/{token}/").status_code == 404
    assert Client().post(f"/w/{token}/", {"decision": "join"}).status_code == 404


def test_bad_choice_and_csrf(shared):
    _viewer, raw = invite_team(shared)
    browser = Client()
    browser.get(f"/w/{raw}/")
    assert browser.post(f"/w/{raw}/", {"decision": "full"}).status_code == 400
    assert TeamViewerInvite.objects.get().used_at is None  # a bad choice uses nothing
    strict = Client(enforce_csrf_checks=True)
    strict.get(f"/w/{raw}/")
    assert strict.post(f"/w/{raw}/", {"decision": "join"}).status_code == 403


def test_a_link_after_the_session_ended_is_gone(shared, agent):
    from cobrowse import services as session_services

    _viewer, raw = invite_team(shared)
    session_services.end_session(shared, actor=agent)
    assert Client().get(f"/w/{raw}/").status_code == 410


def test_rate_limited_per_address(settings, shared):
    settings.COBROWSE_JOIN_RATE_LIMIT = "3/m"
    client = Client(REMOTE_ADDR="198.51.100.9")
    assert [client.get("/w/" + "n" * 43 + "/").status_code for _ in range(3)] == [404, 404, 404]
    _viewer, raw = invite_team(shared)
    assert client.get(f"/w/{raw}/").status_code == 429  # valid links too, once over the limit
    assert Client(REMOTE_ADDR="198.51.100.10").get(f"/w/{raw}/").status_code == 200


# --- the watch page and its grant ---------------------------------------------------------------


def test_the_watch_page_is_the_same_shell_for_any_session(shared):
    for pk in (shared.pk, 987654):
        page = Client().get(f"/watch/{pk}/")
        assert page.status_code == 200
        text = page.content.decode()
        assert f"/ws/cobrowse/{pk}/watch/" in text and "tandem-watch.js" in text
        assert shared.ticket.reference not in text


def test_grant_refresh_and_leave(shared):
    viewer, grant = team_grant(shared)
    refresh = reverse("consent:watch_grant", args=[shared.pk])
    leave = reverse("consent:watch_leave", args=[shared.pk])
    assert Client().post(refresh).status_code == 404  # no grant
    assert Client().post(refresh, HTTP_X_TANDEM_GRANT="bogus").status_code == 404
    other = make_user("someone", role="customer")
    other_session, _ = consent(make_ticket(other), shared.agent)
    assert (
        Client()
        .post(reverse("consent:watch_grant", args=[other_session.pk]), HTTP_X_TANDEM_GRANT=grant)
        .status_code
        == 404
    )
    assert Client().get(refresh, HTTP_X_TANDEM_GRANT=grant).status_code == 405
    before = ViewerGrant.objects.get().expires_at
    assert Client().post(refresh, HTTP_X_TANDEM_GRANT=grant).status_code == 200
    assert ViewerGrant.objects.get().expires_at >= before
    assert Client(enforce_csrf_checks=True).post(leave, HTTP_X_TANDEM_GRANT=grant).status_code == 200
    viewer.refresh_from_db()
    assert viewer.state == TeamViewerState.LEFT
    assert Client().post(refresh, HTTP_X_TANDEM_GRANT=grant).status_code == 410
