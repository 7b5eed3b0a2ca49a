"""Members of the customer's team who watch: the customer's approval, their own one-time link and
consent, the short-lived viewer grant, removal, the end of the session and the viewer cap."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from audit.models import AuditEvent
from cobrowse import services as session_services
from cobrowse.models import Participant, ParticipantRole, TeamViewer, TeamViewerState
from consent import grants, services, team, tokens
from consent.models import ConsentKind, ConsentRecord, Decision, TeamViewerInvite, ViewerGrant
from tests.consent.helpers import consent, invite_team, start, team_grant
from tests.factories import make_ticket, make_user
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared(customer, agent):
    session, _grant = consent(make_ticket(customer), agent, mode="guided")
    return session


def _steps(session) -> list[str]:
    return [
        e.data.get("step")
        for e in TicketEvent.objects.filter(ticket=session.ticket).order_by("id")
        if e.data.get("session") == session.pk
    ]


def test_the_customers_invitation_is_a_consent_record_naming_the_person(shared, customer):
    viewer, raw = invite_team(shared, name="  Dana   Lee ", email="Dana.Lee@ACME.example", customer=customer)
    assert (viewer.name, viewer.email, viewer.state) == ("Dana Lee", "Dana.Lee@acme.example", "invited")
    record = ConsentRecord.objects.get(team_viewer=viewer)
    assert (record.kind, record.decision, record.mode) == (
        ConsentKind.TEAM_VIEWER,
        Decision.GRANTED,
        "view_only",
    )
    assert record.view and not record.guidance and not record.control and record.customer == customer
    assert "Dana Lee (Dana.Lee@acme.example) may watch" in record.prompt_text
    assert "can never click, type or take control" in record.prompt_text
    assert _steps(shared)[-2:] == ["team_viewer_approved", "team_viewer_invited"]


def test_link_is_256_bits_and_stored_only_as_sha256(shared):
    viewer, raw = invite_team(shared)
    assert len(raw) >= 43  # 32 random bytes, URL-safe base64
    link = TeamViewerInvite.objects.get(team_viewer=viewer)
    assert link.token_hash == tokens.hash_token(raw) and raw not in link.token_hash
    assert not TeamViewerInvite.objects.filter(token_hash=raw).exists()


def test_the_link_goes_out_by_email_through_the_delivery_backends(shared, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invite = team.invite_team_viewer(shared, name="Dana Lee", email="dana@acme.example")
    assert invite.link == ""  # not shown to the customer when it is e-mailed
    (message,) = mail.outbox
    assert message.to == ["dana@acme.example"]
    assert "invites you to watch" in message.subject
    raw = re.search(r"/w/([^/\s]+)/", message.body).group(1)
    assert team.claim_watch_link(raw).team_viewer == invite.team_viewer


@pytest.mark.parametrize(
    ("name", "email", "channel", "field"),
    [
        ("", "dana@acme.example", "email", "name"),
        ("x" * 101, "dana@acme.example", "email", "name"),
        ("<script>", "dana@acme.example", "email", "name"),
        ("Dana", "not-an-address", "email", "email"),
        ("Dana", "dana@acme.example", "sms", "channel"),
    ],
)
def test_bad_input_is_refused(shared, name, email, channel, field):
    with pytest.raises(session_services.CoBrowseError) as exc:
        team.invite_team_viewer(shared, name=name, email=email, channel=channel)
    assert field in exc.value.message_dict
    assert not TeamViewer.objects.exists()


def test_only_while_sharing_and_at_most_two_open_invitations(customer, agent, shared):
    waiting, _raw = start(make_ticket(customer), agent)
    with pytest.raises(session_services.CoBrowseError):
        invite_team(waiting)  # not consented yet: nothing is shared
    invite_team(shared, email="a@acme.example")
    with pytest.raises(session_services.CoBrowseError):
        invite_team(shared, email="A@acme.example")  # the same person twice
    invite_team(shared, email="b@acme.example")
    with pytest.raises(session_services.CoBrowseError) as exc:
        invite_team(shared, email="c@acme.example")
    assert exc.value.code == "viewer_limit"


def test_opening_uses_nothing_and_the_decision_claims_the_link_once(shared):
    viewer, raw = invite_team(shared)
    first = team.open_watch_link(raw)
    second = team.claim_watch_link(raw)  # a mail scanner, a second browser: still usable
    assert first.pk == second.pk and first.used_at is None
    viewer.refresh_from_db()
    assert viewer.state == TeamViewerState.INVITED
    assert "team_viewer_opened" not in _steps(shared)
    team.decide_watch(first, join=True)
    assert TeamViewerInvite.objects.get(pk=first.pk).used_at is not None
    assert _steps(shared)[-2:] == ["team_viewer_opened", "team_viewer_accepted"]
    with pytest.raises(services.InviteGone):
        team.decide_watch(second, join=False)  # the second browser to decide loses
    with pytest.raises(services.InviteGone):
        team.open_watch_link(raw)


def test_an_expired_link_cannot_be_decided_even_once_opened(shared):
    viewer, raw = invite_team(shared)
    link = team.open_watch_link(raw)
    TeamViewerInvite.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(services.InviteGone):
        team.decide_watch(link, join=True)
    viewer.refresh_from_db()
    assert viewer.state == TeamViewerState.INVITED and not ViewerGrant.objects.exists()


@pytest.mark.parametrize("raw", ["", "nope", "x" * 500, "../../etc", "%00"])
def test_unknown_links_are_not_found(shared, raw):
    with pytest.raises(services.InviteNotFound):
        team.claim_watch_link(raw)


def test_an_expired_link_is_gone(shared):
    viewer, raw = invite_team(shared)
    TeamViewerInvite.objects.filter(team_viewer=viewer).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(services.InviteGone):
        team.claim_watch_link(raw)


def test_join_is_their_own_consent_and_gives_a_hashed_short_lived_grant(shared):
    viewer, raw = invite_team(shared)
    outcome = team.decide_watch(team.claim_watch_link(raw), join=True)
    assert outcome.redirect_url == f"/watch/{shared.pk}/#tandem={outcome.grant}"
    record = outcome.record
    assert (record.kind, record.decision, record.mode, record.customer) == (
        ConsentKind.VIEWER_JOIN,
        Decision.GRANTED,
        "view_only",
        None,
    )
    assert "You can only watch" in record.prompt_text and "sees your name" in record.prompt_text
    grant = ViewerGrant.objects.get(team_viewer=viewer)
    assert grant.token_hash == tokens.hash_token(outcome.grant)
    assert grant.expires_at <= timezone.now() + timedelta(seconds=team.VIEWER_GRANT_TTL_SECONDS)
    assert team.verify_viewer_grant(outcome.grant) == viewer
    assert "team_viewer_accepted" in _steps(shared)
    with pytest.raises(services.InviteGone):  # one decision per link
        team.decide_watch(outcome.team_viewer.invites.get(), join=True)


def test_a_viewer_grant_never_opens_the_customers_side(shared):
    _viewer, grant = team_grant(shared)
    with pytest.raises(grants.GrantError):
        grants.verify_grant(grant)


def test_an_expired_viewer_grant_is_refused(shared):
    viewer, grant = team_grant(shared)
    ViewerGrant.objects.filter(team_viewer=viewer).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(grants.GrantError):
        team.verify_viewer_grant(grant)


def test_decline_is_recorded_and_gives_nothing(shared):
    viewer, raw = invite_team(shared)
    outcome = team.decide_watch(team.claim_watch_link(raw), join=False)
    assert outcome.grant == "" and outcome.redirect_url == ""
    assert (outcome.record.kind, outcome.record.decision) == (ConsentKind.VIEWER_JOIN, Decision.DENIED)
    viewer.refresh_from_db()
    assert viewer.state == TeamViewerState.DECLINED
    assert not ViewerGrant.objects.exists()
    assert "team_viewer_declined" in _steps(shared)


def test_the_customer_removes_them_grant_and_links_stop_working(shared, customer):
    viewer, grant = team_grant(shared)
    participant = session_services.join_team_viewer(viewer.pk)
    removed = team.remove_team_viewer(shared, viewer.pk, customer=customer)
    assert removed.state == TeamViewerState.REMOVED
    with pytest.raises(grants.GrantError):
        team.verify_viewer_grant(grant)
    participant.refresh_from_db()
    assert participant.left_at is not None
    revocation = ConsentRecord.objects.filter(team_viewer=viewer).last()
    assert (revocation.kind, revocation.decision) == (ConsentKind.TEAM_VIEWER, Decision.REVOKED)
    assert "team_viewer_removed" in _steps(shared)
    records = ConsentRecord.objects.count()
    team.remove_team_viewer(shared, viewer.pk, customer=customer)  # again: nothing more happens
    assert ConsentRecord.objects.count() == records


def test_leave_ends_their_access(shared):
    viewer, grant = team_grant(shared)
    assert team.leave_watching(grant).state == TeamViewerState.LEFT
    with pytest.raises(grants.GrantError):
        team.verify_viewer_grant(grant)
    assert "team_viewer_left" in _steps(shared)


def test_the_end_of_the_session_voids_links_and_grants(shared, agent):
    joined, grant = team_grant(shared, email="a@acme.example")
    waiting, raw = invite_team(shared, email="b@acme.example")
    session_services.end_session(shared, actor=agent)
    with pytest.raises(grants.GrantError):
        team.verify_viewer_grant(grant)
    with pytest.raises(services.InviteGone):
        team.claim_watch_link(raw)
    assert set(TeamViewer.objects.values_list("state", flat=True)) == {TeamViewerState.ENDED}
    assert not ViewerGrant.objects.filter(revoked_at__isnull=True).exists()


def test_team_members_count_towards_the_cap_of_three(shared, agent):
    managers = [make_user(f"boss{i}", role="manager") for i in range(2)]
    session_services.join(shared, user=managers[0])
    first, _grant = team_grant(shared, email="a@acme.example")
    second, _grant = team_grant(shared, email="b@acme.example")
    participant = session_services.join_team_viewer(first.pk)
    assert participant.role == ParticipantRole.TEAM and participant.user is None
    # A second socket of the same person takes the seat; the older one is let go: still one seat.
    again = session_services.join_team_viewer(first.pk)
    assert again != participant
    participant.refresh_from_db()
    assert participant.left_at is not None
    with pytest.raises(session_services.ViewerLimitReached):
        session_services.join_team_viewer(second.pk)
    with pytest.raises(session_services.ViewerLimitReached):
        session_services.join(shared, user=managers[1])
    session_services.team_viewer_disconnected(participant.pk)  # the old socket going: no seat freed
    with pytest.raises(session_services.ViewerLimitReached):
        session_services.join_team_viewer(second.pk)
    session_services.team_viewer_disconnected(again.pk)
    assert session_services.join_team_viewer(second.pk).team_viewer == second
    assert "team_viewer_joined" in _steps(shared) and "team_viewer_disconnected" in _steps(shared)


def test_a_team_member_is_never_handed_control(shared, agent):
    from live import services as live

    viewer, _grant = team_grant(shared)
    session_services.join_team_viewer(viewer.pk)
    assert session_services.watching(shared)[-1] == {"name": "Dana Lee", "role": "team"}
    with pytest.raises(live.LiveRefused):
        live.hand_over(shared.pk, agent, 0)
    assert not Participant.objects.filter(team_viewer=viewer, holds_control=True).exists()


def test_audit_details_hold_ids_never_names_or_addresses(shared, customer):
    viewer, grant = team_grant(shared, customer=customer)
    team.leave_watching(grant)
    events = AuditEvent.objects.filter(action__contains="team_viewer")
    assert {e.action for e in events} >= {
        "cobrowse.team_viewer_approved",
        "cobrowse.team_viewer_invited",
        "cobrowse.team_viewer_opened",
        "cobrowse.team_viewer_accepted",
        "cobrowse.team_viewer_left",
    }
    for event in events:
        text = str(event.details)
        assert "Dana" not in text and "acme.example" not in text
        assert event.details["team_viewer"] == viewer.pk


@pytest.mark.django_db(transaction=True)
def test_concurrent_decisions_have_exactly_one_winner(customer, agent):
    if connection.vendor != "postgresql":
        pytest.skip("the race is proven on PostgreSQL")
    session, _grant = consent(make_ticket(customer), agent)
    _viewer, raw = invite_team(session)
    links = [team.open_watch_link(raw) for _ in range(6)]  # six browsers opened it
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def claim(i: int) -> None:
        try:
            barrier.wait()
            team.decide_watch(links[i], join=i % 2 == 0)
            outcomes.append("won")
        except services.InviteGone:
            outcomes.append("gone")
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["gone"] * 5 + ["won"]
    assert TeamViewerInvite.objects.filter(used_at__isnull=False).count() == 1
    assert ConsentRecord.objects.filter(kind=ConsentKind.VIEWER_JOIN).count() == 1
