"""The join link /j/<token>/ and the consent screen: single use, expiry, 404/410, rate limit, races."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from cobrowse.models import CoBrowseSession, SessionState
from consent import grants as consent_grants
from consent import services as consent_services
from consent.models import ConsentRecord, SessionInvite
from tests.consent.helpers import resend, start
from tests.factories import make_account, make_ticket, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(customer):
    return make_ticket(customer)


@pytest.fixture
def started(ticket, agent):
    return start(ticket, agent)


def _url(raw):
    return f"/j/{raw}/"


def test_consent_page_plain_language(client, started, ticket, agent):
    _, raw = started
    response = client.get(_url(raw))
    assert response.status_code == 200
    text = response.content.decode()
    assert (
        f"Agent {agent.display_name} wants to see this page to help you with ticket T-{ticket.number}. "
        "They can see the form fields and your progress — not passwords, payment details or one-time codes."
    ) in text
    for label in ("View only", "Allow guidance", "Allow control", "Deny"):
        assert label in text
    assert 'name="recording"' in text and "checked" not in text
    assert "csrfmiddlewaretoken" in text
    assert response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]


def test_recording_not_offered_when_account_disallows(agent):
    account = make_account("Clinic", recording_allowed=False)
    ticket = make_ticket(make_user("pat", account=account))
    _, raw = start(ticket, agent)
    response = Client().get(_url(raw))
    assert response.status_code == 200 and 'name="recording"' not in response.content.decode()


def test_third_party_site_is_named_for_browser_sessions(ticket, agent):
    _, raw = start(ticket, agent, kind="browser")
    text = Client().get(_url(raw)).content.decode()
    assert "http://localhost:8001/" in text
    assert "will be visible" in text


def test_unknown_token_404_and_used_token_410(client, started):
    _, raw = started
    assert client.get(_url("x" * 43)).status_code == 404
    assert client.get(_url(raw)).status_code == 200
    assert Client().get(_url(raw)).status_code == 200  # opening uses nothing
    client.post(_url(raw), {"decision": "deny"})
    second = Client().get(_url(raw))
    assert second.status_code == 410
    assert "ask your support agent for a new link" in second.content.decode()
    # The 410 page does not say whether the link was used or expired.
    assert "expired" in second.content.decode() and "used" in second.content.decode()


def test_mail_scanners_fetching_the_link_leave_it_usable(started):
    session, raw = started
    scanner = Client(REMOTE_ADDR="192.0.2.25")
    assert scanner.head(_url(raw)).status_code == 200
    assert scanner.get(_url(raw)).status_code == 200
    assert scanner.head(_url(raw)).status_code == 200
    assert scanner.get(_url(raw)).status_code == 200
    assert SessionInvite.objects.get(session=session).used_at is None
    customer_browser = Client()
    assert customer_browser.get(_url(raw)).status_code == 200
    assert customer_browser.post(_url(raw), {"decision": "guided"}).status_code == 302
    session.refresh_from_db()
    assert session.state == SessionState.CONSENTED


def test_two_browsers_open_it_the_first_to_decide_wins(started):
    session, raw = started
    first, second = Client(), Client()
    assert first.get(_url(raw)).status_code == 200
    assert second.get(_url(raw)).status_code == 200
    assert first.post(_url(raw), {"decision": "view_only"}).status_code == 302
    assert second.post(_url(raw), {"decision": "controlled"}).status_code == 410
    assert second.post(_url(raw), {"decision": "deny"}).status_code == 410
    session.refresh_from_db()
    assert (session.state, session.mode) == (SessionState.CONSENTED, "view_only")
    assert ConsentRecord.objects.filter(session=session).count() == 1


def test_an_expired_link_is_never_decided_even_when_opened_before(started):
    session, raw = started
    browser = Client()
    assert browser.get(_url(raw)).status_code == 200
    SessionInvite.objects.filter(session=session).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert browser.post(_url(raw), {"decision": "guided"}).status_code == 410
    assert browser.post(_url(raw), {"decision": "deny"}).status_code == 410
    assert browser.get(_url(raw)).status_code == 410
    session.refresh_from_db()
    assert session.state == SessionState.INVITED and not ConsentRecord.objects.exists()
    invite = SessionInvite.objects.get(session=session)
    with pytest.raises(consent_services.InviteGone):  # the service checks again under the lock
        consent_services.grant_consent(invite, mode="guided")


def test_a_new_link_voids_every_undecided_one_opened_or_not(started, agent):
    session, first = started
    _, second = resend(session, agent, channel="copy")
    opened = Client()
    assert opened.get(_url(second)).status_code == 200  # opened, not decided
    _, third = resend(session, agent, channel="sms")
    assert SessionInvite.objects.filter(session=session, invalidated_at__isnull=True).count() == 1
    for raw in (first, second):
        assert Client().get(_url(raw)).status_code == 410
    assert opened.post(_url(second), {"decision": "guided"}).status_code == 410
    assert Client().post(_url(third), {"decision": "guided"}).status_code == 302


@pytest.mark.parametrize("who", ["agent", "manager", "agent_l3"])
def test_signed_in_staff_cannot_open_or_decide(request, started, who):
    from audit.models import AuditEvent

    session, raw = started
    user = request.getfixturevalue(who)
    staff = Client()
    staff.force_login(user)
    for response in (
        staff.get(_url(raw)),
        staff.post(_url(raw), {"decision": "guided"}),
        staff.post(_url(raw), {"decision": "deny"}),
    ):
        assert response.status_code == 403
        text = response.content.decode()
        assert "this link is for the customer" in text.lower()
        assert "support staff cannot decide on the customer's behalf" in text
        assert 'value="guided"' not in text
    session.refresh_from_db()
    assert session.state == SessionState.INVITED and not ConsentRecord.objects.exists()
    assert SessionInvite.objects.get(session=session).used_at is None
    events = AuditEvent.objects.filter(action="consent.staff_link_refused")
    assert [e.details for e in events] == [{"session": session.pk, "user": user.pk, "link": "join"}] * 3
    assert all(e.actor == user for e in events)
    assert Client().post(_url(raw), {"decision": "guided"}).status_code == 302  # still the customer's


def test_the_services_refuse_staff_as_the_deciding_customer(started, agent):
    _, raw = started
    invite = consent_services.open_invite(raw)
    with pytest.raises(consent_services.StaffCannotDecide):
        consent_services.grant_consent(invite, mode="guided", customer=agent)
    with pytest.raises(consent_services.StaffCannotDecide):
        consent_services.deny_consent(invite, customer=agent)
    assert SessionInvite.objects.get(pk=invite.pk).used_at is None


def test_a_third_party_browser_session_asks_for_recording_separately(ticket, agent):
    session, raw = start(ticket, agent, kind="browser")
    browser = Client()
    page = browser.get(_url(raw)).content.decode()
    assert 'data-testid="recording-question"' in page
    assert "May support record what the secure browser shows?" in page
    assert 'type="checkbox" name="recording"' not in page
    assert 'value="off" required' in page and 'value="on" required' in page
    refused = browser.post(_url(raw), {"decision": "controlled"})  # no answer on recording
    assert refused.status_code == 400 and "Choose whether" in refused.content.decode()
    assert SessionInvite.objects.get(session=session).used_at is None
    assert browser.post(_url(raw), {"decision": "controlled", "recording": "off"}).status_code == 302
    session.refresh_from_db()
    assert session.state == SessionState.CONSENTED and not session.recording
    assert ConsentRecord.objects.get(session=session).recording is False


def test_recording_yes_on_a_third_party_browser_session_is_recorded(customer, agent):
    session, raw = start(make_ticket(customer), agent, kind="browser")
    assert Client().post(_url(raw), {"decision": "controlled", "recording": "on"}).status_code == 302
    session.refresh_from_db()
    assert session.recording and ConsentRecord.objects.get(session=session).third_party_site


def test_a_dom_session_keeps_the_recording_box(started):
    _, raw = started
    page = Client().get(_url(raw)).content.decode()
    assert 'type="checkbox" name="recording"' in page and 'data-testid="recording-question"' not in page


def test_expired_link_410_and_session_expires(client, started):
    session, raw = started
    SessionInvite.objects.filter(session=session).update(expires_at=timezone.now() - timedelta(seconds=1))
    CoBrowseSession.objects.filter(pk=session.pk).update(
        invite_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert client.get(_url(raw)).status_code == 410
    session.refresh_from_db()
    assert session.state == SessionState.EXPIRED and session.end_reason == "invite_expired"


def test_expired_and_used_pages_are_identical(started, ticket, agent):
    _session, raw = started
    Client().post(_url(raw), {"decision": "deny"})
    used = Client().get(_url(raw)).content
    other = make_ticket(ticket.requester)
    session2, raw2 = start(other, agent)
    SessionInvite.objects.filter(session=session2).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = Client().get(_url(raw2)).content
    assert used == expired


def test_allow_redirects_with_grant_in_fragment(client, started):
    session, raw = started
    client.get(_url(raw))
    response = client.post(_url(raw), {"decision": "guided", "recording": "on"})
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("http://localhost:8001/#tandem=")
    grant = location.split("#tandem=", 1)[1]
    assert "?" not in location
    # A link grant: the page it lands on asks its owner before it can share anything.
    assert consent_grants.describe_grant(grant, origin="http://localhost:8001").session.pk == session.pk
    with pytest.raises(consent_grants.UnconfirmedGrant):
        consent_grants.verify_grant(grant)
    session.refresh_from_db()
    assert session.state == SessionState.CONSENTED and session.recording
    # A reload after the decision shows the "You are sharing" page for this browser only.
    assert client.get(_url(raw))["Location"] == f"/cobrowse/sessions/{session.pk}/"
    assert Client().get(_url(raw)).status_code == 410


def test_no_target_shows_you_are_sharing(agent):
    account = make_account("Plain", site_url="", allowed_origins=[])
    ticket = make_ticket(make_user("plain", account=account))
    session, raw = start(ticket, agent)
    browser = Client()
    browser.get(_url(raw))
    response = browser.post(_url(raw), {"decision": "view_only"})
    assert response["Location"].startswith(f"/cobrowse/sessions/{session.pk}/#tandem=")
    page = browser.get(f"/cobrowse/sessions/{session.pk}/")
    assert "You are sharing" in page.content.decode() and "Stop sharing" in page.content.decode()
    assert Client().get(f"/cobrowse/sessions/{session.pk}/").status_code == 404
    stop = browser.post(f"/cobrowse/sessions/{session.pk}/stop/")
    assert stop.status_code == 303
    session.refresh_from_db()
    assert session.state == SessionState.REVOKED


def test_a_post_of_an_invalidated_link_is_refused(started, agent):
    session, raw = started
    resend(session, agent, channel="email")
    assert Client().post(_url(raw), {"decision": "guided"}).status_code == 410
    assert not ConsentRecord.objects.exists()


def test_post_needs_csrf(started):
    _, raw = started
    browser = Client(enforce_csrf_checks=True)
    browser.get(_url(raw))
    assert browser.post(_url(raw), {"decision": "guided"}).status_code == 403


def test_bad_choice_is_400(client, started):
    session, raw = started
    client.get(_url(raw))
    assert client.post(_url(raw), {"decision": "full"}).status_code == 400
    session.refresh_from_db()
    assert session.state == SessionState.INVITED
    assert SessionInvite.objects.get(session=session).used_at is None  # a bad choice uses nothing


def test_deny(client, started):
    session, raw = started
    client.get(_url(raw))
    response = client.post(_url(raw), {"decision": "deny"})
    assert response.status_code == 200 and "Nothing was shared" in response.content.decode()
    session.refresh_from_db()
    assert session.state == SessionState.DENIED


def test_rate_limited_per_address(settings, started):
    settings.COBROWSE_JOIN_RATE_LIMIT = "3/m"
    client = Client(REMOTE_ADDR="198.51.100.7")
    codes = [client.get(_url("nope" * 11)).status_code for _ in range(3)]
    assert codes == [404, 404, 404]
    assert client.get(_url("nope" * 11)).status_code == 429
    _, raw = started
    assert client.get(_url(raw)).status_code == 429  # valid links too, once over the limit
    assert Client(REMOTE_ADDR="198.51.100.8").get(_url(raw)).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_concurrent_decisions_have_exactly_one_winner(customer, agent):
    if connection.vendor != "postgresql":
        pytest.skip("the race is proven on PostgreSQL")
    session, raw = start(make_ticket(customer), agent)
    browsers = [Client(REMOTE_ADDR=f"203.0.113.{i}") for i in range(8)]
    assert all(b.get(_url(raw)).status_code == 200 for b in browsers)
    barrier = threading.Barrier(8)
    results: list[int] = []
    lock = threading.Lock()

    def open_link(i: int) -> None:
        try:
            barrier.wait()
            decision = ("view_only", "guided", "controlled", "deny")[i % 4]
            code = browsers[i].post(_url(raw), {"decision": decision}).status_code
            with lock:
                results.append(code)
        finally:
            connection.close()

    threads = [threading.Thread(target=open_link, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and results.count(410) == 7 and set(results) - {410} <= {200, 302}
    assert SessionInvite.objects.filter(session=session, used_at__isnull=False).count() == 1
    assert ConsentRecord.objects.filter(session=session).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_decisions_service_level(customer, agent):
    if connection.vendor != "postgresql":
        pytest.skip("the race is proven on PostgreSQL")
    _, raw = start(make_ticket(customer), agent)
    invites = [consent_services.claim_invite(raw) for _ in range(6)]  # claims nothing yet
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def claim(i: int) -> None:
        try:
            barrier.wait()
            consent_services.grant_consent(invites[i], mode="guided")
            outcomes.append("won")
        except consent_services.InviteGone:
            outcomes.append("gone")
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["gone"] * 5 + ["won"]
