"""The join link /j/<token>/ and the consent screen: single use, expiry, 404/410, rate limit, races."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from cobrowse.models import CoBrowseSession, SessionState
from consent import services as consent_services
from consent.models import ConsentRecord, SessionInvite
from tests.consent.helpers import start
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
    second = Client().get(_url(raw))
    assert second.status_code == 410
    assert "ask your support agent for a new link" in second.content.decode()
    # The 410 page does not say whether the link was used or expired.
    assert "expired" in second.content.decode() and "used" in second.content.decode()


def test_reload_by_claiming_browser_still_works(client, started):
    _, raw = started
    assert client.get(_url(raw)).status_code == 200
    assert client.get(_url(raw)).status_code == 200
    assert Client().get(_url(raw)).status_code == 410


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
    Client().get(_url(raw))
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
    assert consent_services.describe_grant(grant, origin="http://localhost:8001").session.pk == session.pk
    with pytest.raises(consent_services.UnconfirmedGrant):
        consent_services.verify_grant(grant)
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


def test_post_without_claim_is_refused(started):
    _, raw = started
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
def test_concurrent_claims_have_exactly_one_winner(customer, agent):
    if connection.vendor != "postgresql":
        pytest.skip("the race is proven on PostgreSQL")
    session, raw = start(make_ticket(customer), agent)
    barrier = threading.Barrier(8)
    results: list[int] = []
    lock = threading.Lock()

    def open_link(i: int) -> None:
        try:
            barrier.wait()
            code = Client(REMOTE_ADDR=f"203.0.113.{i}").get(_url(raw)).status_code
            with lock:
                results.append(code)
        finally:
            connection.close()

    threads = [threading.Thread(target=open_link, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] + [410] * 7
    assert SessionInvite.objects.filter(session=session, used_at__isnull=False).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_service_level(customer, agent):
    if connection.vendor != "postgresql":
        pytest.skip("the race is proven on PostgreSQL")
    _, raw = start(make_ticket(customer), agent)
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def claim() -> None:
        try:
            barrier.wait()
            consent_services.claim_invite(raw)
            outcomes.append("won")
        except consent_services.InviteGone:
            outcomes.append("gone")
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["gone"] * 5 + ["won"]
