"""A session whose page lost its connection: the agent's fresh link, its screen, the portal's Resume
sharing, the card's resume wording, and the drops that make the console suggest alternatives."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.test import Client

from audit.models import AuditEvent
from cobrowse import page_signals
from cobrowse import services as session_services
from cobrowse.models import CoBrowseSession, EndReason, SessionState
from consent import alternatives, grants, resume, tokens
from consent.models import ConsentKind, ConsentRecord, Decision, SessionInvite
from tests.consent.helpers import confirm_on_device, consent
from tests.factories import make_ticket, make_user
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(customer):
    return make_ticket(customer)


@pytest.fixture
def dropped(ticket, agent):
    """A consented page session whose page connected, then dropped: (session, its tab grant)."""
    session, tab = consent(ticket, agent, mode="guided", recording=True)
    session_services.mark_active(session.pk)
    session_services.mark_reconnecting(session.pk)
    return CoBrowseSession.objects.get(pk=session.pk), tab


def _gone_for(session, seconds: int) -> None:
    """The page dropped ``seconds`` ago (the reconnecting line moved back in time)."""
    TicketEvent.objects.filter(ticket=session.ticket, data__step="reconnecting").update(
        created_at=F("created_at") - timedelta(seconds=seconds)
    )


def _fresh_link(session, actor):
    """Send a fresh link, knowing its token (tests play the customer who receives it)."""
    raw = tokens.new_token()
    with mock.patch("consent.services.new_token", return_value=raw):
        started = resume.send_fresh_link(session, actor=actor)
    return started, raw


def _as(user=None):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


# --- the fresh link: who, when, how often ---------------------------------------------------------


def test_a_fresh_link_waits_for_the_page_to_be_gone_long_enough(dropped, agent, settings):
    session, _tab = dropped
    settings.COBROWSE_FRESH_LINK_AFTER_SECONDS = 30
    _gone_for(session, 20)
    assert 9 <= resume.fresh_link_wait(session) <= 10
    with pytest.raises(resume.FreshLinkRefused) as refused:
        resume.send_fresh_link(session, actor=agent)
    assert refused.value.code == "too_soon"
    _gone_for(session, 11)
    assert resume.fresh_link_wait(session) == 0
    started, raw = _fresh_link(session, agent)
    assert started.join_url.endswith(f"/j/{raw}/")  # the session's channel: copy
    invite = SessionInvite.objects.get(token_hash=tokens.hash_token(raw))
    assert invite.channel == "copy" and invite.expires_at > invite.created_at + timedelta(minutes=14)
    assert AuditEvent.objects.filter(action="cobrowse.fresh_link_sent").count() == 1


def test_only_the_sessions_agent_or_a_manager_and_only_while_reconnecting(dropped, ticket, agent, manager):
    session, _tab = dropped
    _gone_for(session, 60)
    other = make_user("agent9", role="agent", agent_level="L3")
    with pytest.raises(PermissionDenied):
        resume.send_fresh_link(session, actor=other)
    with pytest.raises(PermissionDenied):
        resume.send_fresh_link(session, actor=ticket.requester)
    assert resume.send_fresh_link(session, actor=manager).session.pk == session.pk
    session_services.mark_active(session.pk)
    with pytest.raises(resume.FreshLinkRefused) as refused:
        resume.send_fresh_link(session, actor=agent)
    assert refused.value.code == "not_reconnecting"


def test_a_fresh_link_voids_the_earlier_one_and_is_rate_limited(dropped, agent, settings):
    session, _tab = dropped
    settings.COBROWSE_FRESH_LINK_RATE_LIMIT = "2/h"
    _gone_for(session, 60)
    _first, first_raw = _fresh_link(session, agent)
    _second, second_raw = _fresh_link(session, agent)
    assert _as().get(f"/j/{first_raw}/").status_code == 410
    assert _as().get(f"/j/{second_raw}/").status_code == 200
    with pytest.raises(resume.FreshLinkRefused) as refused:
        resume.send_fresh_link(session, actor=agent)
    assert refused.value.code == "rate_limited"


def test_the_fresh_link_goes_over_the_channel_the_session_used(
    ticket, agent, django_capture_on_commit_callbacks
):
    from django.core import mail

    from consent import services as consent_services
    from tests.consent.helpers import start

    session, raw = start(ticket, agent, channel="email")
    invite = SessionInvite.objects.get(token_hash=tokens.hash_token(raw))
    outcome = consent_services.grant_consent(invite, mode="view_only")
    confirm_on_device(outcome.session, outcome.grant)
    session_services.mark_active(session.pk)
    session_services.mark_reconnecting(session.pk)
    _gone_for(session, 60)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        started = resume.send_fresh_link(CoBrowseSession.objects.get(pk=session.pk), actor=agent)
    assert started.join_url == "" and started.channel == "email"  # never shown to staff
    [message] = mail.outbox
    assert message.to == [ticket.requester.email]
    assert "continue sharing on this device" in message.body and "/j/" in message.body


# --- the customer on the fresh link ---------------------------------------------------------------


def test_continue_sharing_asks_again_on_the_page_with_the_same_terms(dropped, agent, customer):
    session, _tab = dropped
    _gone_for(session, 60)
    _started, raw = _fresh_link(session, agent)
    page = _as(customer).get(f"/j/{raw}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-testid="resume-screen"' in text and "Continue sharing on this device" in text
    assert "Allow guidance" in text and "this session is recorded" in text  # mode and recording shown
    answer = _as(customer).post(f"/j/{raw}/", {"decision": "continue", "mode": "controlled"})
    assert answer.status_code == 302
    target, _, grant = answer["Location"].partition("#tandem=")
    assert target == session.target_url and grant
    record = ConsentRecord.objects.get(session=session, kind=ConsentKind.RESUME)
    assert (record.decision, record.mode, record.recording, record.customer) == (
        Decision.GRANTED,
        "guided",
        True,
        customer,
    )
    assert "lost its connection" in record.prompt_text
    with pytest.raises(grants.UnconfirmedGrant):  # a link grant: the page's card asks first
        grants.verify_grant(grant)
    card = grants.describe_grant(grant, origin="http://localhost:8001").as_dict()
    assert card["resume"] is True and card["title"] == f"Resume sharing with {agent.public_name}?"
    assert card["mode"] == "guided" and card["recording"] is True
    decision = confirm_on_device(session, grant)
    assert decision.grant and grants.verify_grant(decision.grant).pk == session.pk
    assert "Resume sharing with" in decision.record.prompt_text
    assert _as(customer).post(f"/j/{raw}/", {"decision": "continue"}).status_code == 410  # used once


def test_ending_on_the_fresh_link_revokes_the_session(dropped, agent):
    session, _tab = dropped
    _gone_for(session, 60)
    _started, raw = _fresh_link(session, agent)
    answer = _as().post(f"/j/{raw}/", {"decision": "deny"})
    assert answer.status_code == 200 and "Sharing has ended" in answer.content.decode()
    session.refresh_from_db()
    assert (session.state, session.end_reason) == (SessionState.REVOKED, EndReason.CUSTOMER_REVOKED)
    record = ConsentRecord.objects.get(session=session, kind=ConsentKind.RESUME)
    assert record.decision == Decision.REVOKED and record.mode == ""


def test_staff_never_decide_on_a_fresh_link(dropped, agent):
    session, _tab = dropped
    _gone_for(session, 60)
    _started, raw = _fresh_link(session, agent)
    assert _as(agent).post(f"/j/{raw}/", {"decision": "continue"}).status_code == 403
    assert not ConsentRecord.objects.filter(kind=ConsentKind.RESUME).exists()


# --- Resume sharing in the portal -----------------------------------------------------------------


def _resume_url(session):
    return f"/portal/tickets/{session.ticket.number}/cobrowse/{session.pk}/resume/"


def test_the_portal_offers_resume_sharing_only_while_the_page_is_gone(dropped, ticket, customer):
    session, _tab = dropped
    portal = f"/portal/tickets/{ticket.number}/"
    page = _as(customer).get(portal)
    assert 'data-testid="resume-sharing"' in page.content.decode()
    # The form's redirect ends on the customer's own page: form-action allows it (config/csp.py).
    form_action = page["Content-Security-Policy"].split("form-action", 1)[1].split(";", 1)[0].split()
    assert form_action[:2] == ["'self'", "https:"]
    sharing = _as(customer).get(f"/cobrowse/sessions/{session.pk}/").content.decode()
    assert 'data-testid="resume-sharing"' in sharing
    session_services.mark_active(session.pk)
    page = _as(customer).get(portal).content.decode()
    assert 'data-testid="resume-sharing"' not in page and 'data-testid="sharing-badge"' in page
    session_services.mark_reconnecting(session.pk)
    session_services.end_session(session.pk, actor=session.agent)
    assert 'data-testid="resume-sharing"' not in _as(customer).get(portal).content.decode()


def test_resume_sharing_sends_the_customer_to_the_page_with_a_link_grant(dropped, customer):
    session, _tab = dropped
    answer = _as(customer).post(_resume_url(session))
    assert answer.status_code == 302
    target, _, grant = answer["Location"].partition("#tandem=")
    assert target == session.target_url
    with pytest.raises(grants.UnconfirmedGrant):
        grants.verify_grant(grant)
    assert grants.describe_grant(grant, origin="http://localhost:8001").resume
    assert AuditEvent.objects.filter(action="cobrowse.resume_requested").count() == 1


def test_only_the_tickets_requester_may_resume(dropped, other_customer, agent, customer):
    session, _tab = dropped
    assert _as(other_customer).post(_resume_url(session)).status_code == 404
    assert _as(agent).post(_resume_url(session)).status_code == 302  # staff are sent to the queue
    assert _as(customer).get(_resume_url(session)).status_code == 405
    session_services.mark_active(session.pk)
    back = _as(customer).post(_resume_url(session))
    assert back.status_code == 302 and "#tandem=" not in back["Location"]
    assert not AuditEvent.objects.filter(action="cobrowse.resume_requested").exists()


def test_resume_sharing_is_rate_limited(dropped, customer, settings):
    session, _tab = dropped
    settings.COBROWSE_JOIN_RATE_LIMIT = "2/m"
    client = _as(customer)
    assert [client.post(_resume_url(session)).status_code for _ in range(3)] == [302, 302, 429]


# --- drops and alternatives -----------------------------------------------------------------------


def test_only_drops_count_towards_the_alternatives_never_a_navigation(dropped):
    session, _tab = dropped
    for cause in ("page_left", "closed", "ended", "network"):
        page_signals.report_disconnect(page_signals.Disconnect(session.pk, 0, cause))
    assert alternatives.drops(session) == 1 and not alternatives.alternatives_due(session)
    page_signals.report_disconnect(page_signals.Disconnect(session.pk, 1006, "network"))
    assert alternatives.alternatives_due(session)


def test_resuming_records_no_disconnect(dropped, customer):
    from analytics.models import Disconnect

    session, _tab = dropped
    before = Disconnect.objects.filter(session=session).count()
    _grant = _as(customer).post(_resume_url(session))["Location"].partition("#tandem=")[2]
    confirm_on_device(session, _grant)
    session_services.mark_active(session.pk)
    assert Disconnect.objects.filter(session=session).count() == before


def test_a_call_back_is_requested_once_and_audited(dropped, agent, other_customer):
    session, _tab = dropped
    with pytest.raises(PermissionDenied):
        alternatives.request_callback(session, actor=other_customer)
    assert alternatives.request_callback(session, actor=agent) is True
    assert alternatives.request_callback(session, actor=agent) is False
    assert AuditEvent.objects.filter(action="cobrowse.callback_requested").count() == 1
    assert alternatives.callback_requested(session)


def test_switching_to_a_server_side_browser_ends_the_page_session(dropped, agent, settings):
    settings.BROWSER_EGRESS_ALLOW = ["localhost:8001"]
    session, _tab = dropped
    with mock.patch("cobrowse.browser.urlguard.check_url", return_value=session.target_url):
        started = alternatives.switch_to_browser(session, actor=agent)
    session.refresh_from_db()
    assert session.state == SessionState.ENDED and session.end_reason == EndReason.AGENT_ENDED
    new = started.session
    assert (new.kind, new.state, new.target_url) == ("browser", SessionState.INVITED, session.target_url)
    assert new.invites.get().channel == "copy" and started.join_url
    assert AuditEvent.objects.filter(action="cobrowse.switched_to_browser").count() == 1
