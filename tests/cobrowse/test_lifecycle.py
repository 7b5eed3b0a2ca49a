"""Session lifecycle: start, consent, modes, approvals, participants, end — through the services."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from cobrowse import selectors, services
from cobrowse.models import (
    ActionRequestState,
    CoBrowseSession,
    ModeRequest,
    ModeRequestState,
    ParticipantRole,
    SessionState,
)
from consent import answers, delivery, invitations
from consent import grants as consent_grants
from consent import prompts as consent_prompts
from consent import records as consent_records
from consent import services as consent_services
from consent import tokens as consent_tokens
from consent.models import ConsentKind, ConsentRecord, Decision, SessionGrant, SessionInvite
from tests.consent.helpers import consent, resend, start
from tests.factories import make_account, make_ticket, make_user
from tickets.models import EventKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(customer):
    return make_ticket(customer)


def _steps(ticket):
    return [e.data.get("step") for e in ticket.events.filter(kind=EventKind.COBROWSE).order_by("id")]


def test_start_creates_invited_session_with_hashed_token(ticket, agent):
    session, raw = start(ticket, agent)
    assert session.state == SessionState.INVITED
    assert session.customer == ticket.requester
    assert session.target_url == "http://localhost:8001/"  # the account's site_url by default
    invite = SessionInvite.objects.get(session=session)
    assert len(raw) >= 43  # 32 random bytes, url-safe base64
    assert invite.token_hash == consent_tokens.hash_token(raw) and raw not in invite.token_hash
    # Nobody is listed before their socket connects: the agent joins when they open the console.
    assert not session.participants.exists()
    assert services.watching(session) == []
    assert _steps(ticket) == ["invited"]


def test_capability_matrix_for_starting(
    ticket, agent_l1, agent_l1_certified, agent, agent_l3, manager, customer
):
    for user in (agent_l1, customer):
        with pytest.raises(PermissionDenied):
            invitations.start_session(ticket, agent=user, channel="copy")
        assert not CoBrowseSession.objects.exists()
    for user in (agent_l1_certified, agent, agent_l3, manager):
        session, _ = start(make_ticket(customer), user)  # each takes an unassigned ticket
        services.end_session(session, actor=user)
    assert CoBrowseSession.objects.count() == 4


def test_one_live_session_per_ticket_service_and_constraint(ticket, agent):
    session, _ = start(ticket, agent)
    with pytest.raises(services.SessionAlreadyLive):
        start(ticket, agent)
    with pytest.raises(IntegrityError), transaction.atomic():
        CoBrowseSession.objects.create(ticket=ticket, agent=agent, customer=ticket.requester)
    services.end_session(session, actor=agent)
    start(ticket, agent)  # a finished session frees the ticket


def test_target_url_must_be_on_allowed_origin(ticket, agent):
    with pytest.raises(services.CoBrowseError):
        start(ticket, agent, target_url="https://evil.example/")
    with pytest.raises(services.CoBrowseError):
        start(ticket, agent, target_url="javascript:alert(1)")
    session, _ = start(ticket, agent, target_url="http://localhost:8001/apply?step=3")
    assert session.target_url == "http://localhost:8001/apply?step=3"


def test_no_target_when_account_has_no_site(agent):
    account = make_account("No Site Inc", site_url="", allowed_origins=[])
    customer = make_user("nosite", account=account)
    session, _ = start(make_ticket(customer), agent)
    assert session.target_url == ""


def test_delivery_backends_store_or_log_without_token(
    ticket, agent, caplog, django_capture_on_commit_callbacks
):
    delivery.outbox.clear()
    with caplog.at_level("INFO"), django_capture_on_commit_callbacks(execute=True):
        session, raw = start(ticket, agent, channel="chat")  # no webhook configured: the outbox
    assert len(delivery.outbox) == 1 and delivery.outbox[0].channel == "chat"
    assert raw in delivery.outbox[0].link
    assert raw not in caplog.text
    assert f"session {session.pk}" in caplog.text


def test_email_delivery(ticket, agent, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _, raw = start(ticket, agent, channel="email")
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [ticket.requester.email]
    assert f"/j/{raw}/" in mailoutbox[0].body


def test_resend_invalidates_old_link(ticket, agent):
    session, old = start(ticket, agent)
    resent, new = resend(session, agent, channel="chat")
    assert resent.join_url == ""  # sent to the customer, never shown to staff
    with pytest.raises(consent_services.InviteGone):
        consent_services.claim_invite(old)
    invite = consent_services.claim_invite(new)
    assert invite.channel == "chat"
    assert "invite_resent" in _steps(ticket)


def test_consent_allow_records_everything(ticket, agent, settings):
    settings.CONSENT_CLIENT_INFO = "truncated"
    client = consent_records.ClientInfo(ip="203.0.113.77", user_agent="Mozilla/5.0 Chrome/156.0 Safari/537")
    session, grant = consent(ticket, agent, mode="guided", recording=True, client=client, device=False)
    assert session.state == SessionState.CONSENTED
    assert session.mode == session.granted_mode == "guided"
    assert session.deadline_at and session.consented_at
    record = ConsentRecord.objects.get(session=session)
    assert (record.kind, record.decision, record.mode) == (ConsentKind.INITIAL, Decision.GRANTED, "guided")
    assert record.view and record.guidance and not record.control and not record.full_control
    assert record.recording
    assert record.prompt_version == consent_prompts.PROMPT_VERSION
    assert f"ticket {ticket.reference}" in record.prompt_text and "not passwords" in record.prompt_text
    assert record.client_ip == "203.0.113.0" and record.user_agent == "Chrome"
    # A link grant: it describes the request to the page, and shares nothing until confirmed there.
    assert consent_grants.describe_grant(grant, origin="http://localhost:8001").session == session
    with pytest.raises(consent_grants.UnconfirmedGrant):
        consent_grants.verify_grant(grant)
    assert SessionGrant.objects.get().token_hash == consent_tokens.hash_token(grant)
    assert _steps(ticket) == ["invited", "consented"]


@pytest.mark.parametrize(
    ("policy", "ip", "ua"),
    [("full", "2001:db8:1:2::5", "Mozilla/5.0 Firefox/140.0"), ("none", None, "")],
)
def test_client_info_policy(ticket, agent, settings, policy, ip, ua):
    settings.CONSENT_CLIENT_INFO = policy
    client = consent_records.ClientInfo(ip="2001:db8:1:2::5", user_agent="Mozilla/5.0 Firefox/140.0")
    session, _ = consent(ticket, agent, client=client, device=False)
    record = ConsentRecord.objects.get(session=session)
    assert (record.client_ip, record.user_agent) == (ip, ua)


def test_truncated_ipv6_is_a_48():
    assert consent_records.truncate_ip("2001:db8:1:2::5") == "2001:db8:1::"
    assert consent_records.truncate_ip("::ffff:198.51.100.9") == "198.51.100.0"
    assert consent_records.truncate_ip("not-an-ip") is None


def test_consent_records_are_append_only(ticket, agent):
    session, _ = consent(ticket, agent, device=False)
    record = ConsentRecord.objects.get(session=session)
    record.mode = "full"
    with pytest.raises(ValueError):
        record.save()
    with pytest.raises(ValueError):
        record.delete()


def test_recording_refused_when_account_disallows(agent):
    account = make_account("Careful Clinic", recording_allowed=False)
    customer = make_user("patient", account=account)
    ticket = make_ticket(customer)
    session, raw = start(ticket, agent)
    invite = consent_services.claim_invite(raw)
    with pytest.raises(Exception, match="Recording"):
        consent_services.grant_consent(invite, mode="view_only", recording=True)
    session.refresh_from_db()
    assert session.state == SessionState.INVITED and not ConsentRecord.objects.exists()


def test_deny_ends_session(ticket, agent):
    _session, raw = start(ticket, agent)
    outcome = consent_services.deny_consent(consent_services.claim_invite(raw))
    assert outcome.session.state == SessionState.DENIED
    assert outcome.session.end_reason == "customer_denied"
    assert ConsentRecord.objects.get().decision == Decision.DENIED
    assert _steps(ticket) == ["invited", "denied"]


def test_illegal_transitions_raise_and_change_nothing(ticket, agent):
    session, _ = start(ticket, agent)
    with transaction.atomic():
        locked = services.lock(session)
        with pytest.raises(services.IllegalTransition):
            services.transition(locked, SessionState.ACTIVE)
    session.refresh_from_db()
    assert session.state == SessionState.INVITED
    services.end_session(session, actor=agent)
    with pytest.raises(services.CoBrowseError):
        services.mark_active(session)
    session.refresh_from_db()
    assert session.state == SessionState.ENDED and session.end_reason == "cancelled"


def test_active_reconnecting_loop(ticket, agent):
    session, _ = consent(ticket, agent)
    assert services.mark_active(session).state == SessionState.ACTIVE
    assert services.mark_reconnecting(session).state == SessionState.RECONNECTING
    assert services.mark_active(session).state == SessionState.ACTIVE


def test_revoke_ends_at_once_and_kills_grant(ticket, agent, customer):
    session, grant = consent(ticket, agent)
    session = answers.revoke_session(session, customer=customer)
    assert session.state == SessionState.REVOKED and session.end_reason == "customer_revoked"
    assert ConsentRecord.objects.filter(kind=ConsentKind.REVOCATION, decision=Decision.REVOKED).count() == 1
    with pytest.raises(consent_grants.GrantError):
        consent_grants.verify_grant(grant)
    assert _steps(ticket)[-1] == "ended"
    assert ticket.events.filter(kind=EventKind.COBROWSE).last().data["reason"] == "customer_revoked"


def test_lowering_by_agent_needs_no_approval(ticket, agent):
    session, _ = consent(ticket, agent, mode="controlled")
    session = services.request_mode(session, actor=agent, mode="view_only")
    assert session.mode == "view_only" and session.granted_mode == "controlled"


def test_escalation_waits_for_customer(ticket, agent, customer):
    session, _ = consent(ticket, agent, mode="view_only")
    request = services.request_mode(session, actor=agent, mode="controlled")
    assert request.state == ModeRequestState.PENDING_CUSTOMER
    session.refresh_from_db()
    assert session.mode == "view_only"
    assert selectors.customer_mode_request(session) == request
    answers.respond_to_mode_request(request, accept=True, customer=customer)
    session.refresh_from_db()
    assert session.mode == session.granted_mode == "controlled"
    record = ConsentRecord.objects.filter(kind=ConsentKind.ESCALATION).get()
    assert record.control and not record.full_control


def test_customer_declines_escalation(ticket, agent):
    session, _ = consent(ticket, agent, mode="view_only")
    request = services.request_mode(session, actor=agent, mode="guided")
    answers.respond_to_mode_request(request, accept=False)
    session.refresh_from_db()
    assert session.mode == "view_only"
    assert ConsentRecord.objects.filter(kind=ConsentKind.ESCALATION, decision=Decision.DENIED).exists()


def test_full_control_needs_manager_before_customer_is_asked(ticket, agent, manager, agent_l3):
    session, _ = consent(ticket, agent, mode="controlled")
    request = services.request_mode(session, actor=agent, mode="full")
    assert request.state == ModeRequestState.PENDING_MANAGER
    assert selectors.customer_mode_request(session) is None  # the customer is not asked yet
    with pytest.raises(services.CoBrowseError):
        answers.respond_to_mode_request(request, accept=True)
    with pytest.raises(PermissionDenied):
        services.decide_full_control(request, manager=agent_l3, approve=True)
    assert list(selectors.pending_full_control_requests()) == [request]
    services.decide_full_control(request, manager=manager, approve=True)
    request.refresh_from_db()
    assert request.state == ModeRequestState.PENDING_CUSTOMER and request.manager == manager
    answers.respond_to_mode_request(request, accept=True)
    session.refresh_from_db()
    assert session.mode == "full"
    assert ConsentRecord.objects.filter(full_control=True).count() == 1


def test_manager_rejection_ends_the_request(ticket, agent, manager):
    session, _ = consent(ticket, agent, mode="controlled")
    request = services.request_mode(session, actor=agent, mode="full")
    services.decide_full_control(request, manager=manager, approve=False)
    request.refresh_from_db()
    assert request.state == ModeRequestState.REJECTED
    with pytest.raises(services.CoBrowseError):
        answers.respond_to_mode_request(request, accept=True)
    session.refresh_from_db()
    assert session.mode == "controlled"


def test_customer_lowers_and_withdraws_grant(ticket, agent):
    session, _ = consent(ticket, agent, mode="controlled")
    session = answers.customer_lower_mode(session, mode="guided")
    assert session.mode == session.granted_mode == "guided"
    assert ConsentRecord.objects.filter(kind=ConsentKind.LOWERING).get().mode == "guided"
    with pytest.raises(services.CoBrowseError):
        answers.customer_lower_mode(session, mode="full")


def test_only_one_open_mode_request(ticket, agent):
    session, _ = consent(ticket, agent, mode="view_only")
    services.request_mode(session, actor=agent, mode="guided")
    with pytest.raises(services.CoBrowseError):
        services.request_mode(session, actor=agent, mode="controlled")
    assert ModeRequest.objects.count() == 1


def test_other_agent_cannot_change_mode_or_end(ticket, agent, agent_l3):
    session, _ = consent(ticket, agent)
    with pytest.raises(PermissionDenied):
        services.request_mode(session, actor=agent_l3, mode="view_only")
    with pytest.raises(PermissionDenied):
        services.end_session(session, actor=agent_l3)


def test_action_requests_in_controlled_and_full(ticket, agent, manager):
    session, _ = consent(ticket, agent, mode="controlled")
    request = services.request_action(session, actor=agent, action={"kind": "click", "target": "node:12"})
    assert request.state == ActionRequestState.REQUESTED
    assert services.decide_action(request, approve=True).state == ActionRequestState.APPROVED
    with pytest.raises(services.CoBrowseError):
        services.request_action(session, actor=agent, action={"kind": "submit"})
    with pytest.raises(services.CoBrowseError):
        services.request_action(session, actor=agent, action={"kind": "type", "input_type": "password"})
    denied = services.request_action(session, actor=agent, action={"kind": "type", "target": "node:3"})
    assert services.decide_action(denied, approve=False).state == ActionRequestState.DENIED
    mode_request = services.request_mode(session, actor=agent, mode="full")
    services.decide_full_control(mode_request, manager=manager, approve=True)
    answers.respond_to_mode_request(mode_request, accept=True)
    assert services.request_action(session, actor=agent, action={"kind": "click"}) is None


def test_the_agent_asks_on_behalf_of_the_customer_holding_control(ticket, agent, agent_l3):
    session, _ = consent(ticket, agent, mode="controlled")
    customer = session.participants.get(role=ParticipantRole.CUSTOMER)
    session.participants.update(holds_control=False)
    customer.holds_control = True
    customer.save(update_fields=["holds_control"])
    # Without the keyword only the holder asks; with it the session's agent asks the customer.
    with pytest.raises(PermissionDenied):
        services.request_action(session, actor=agent, action={"kind": "click"})
    request = services.request_action(
        session, actor=agent, action={"kind": "click", "target": "button"}, on_behalf_of_customer_holder=True
    )
    assert request.state == ActionRequestState.REQUESTED and request.requested_by == agent
    # Every other check stays: the session's agent only, the never-list.
    with pytest.raises(PermissionDenied):
        services.request_action(
            session, actor=agent_l3, action={"kind": "click"}, on_behalf_of_customer_holder=True
        )
    with pytest.raises(services.CoBrowseError):
        services.request_action(
            session, actor=agent, action={"kind": "submit"}, on_behalf_of_customer_holder=True
        )
    # Once the customer no longer holds control there is nobody to ask on behalf of.
    customer.holds_control = False
    customer.save(update_fields=["holds_control"])
    with pytest.raises(services.CoBrowseError) as raised:
        services.request_action(
            session, actor=agent, action={"kind": "click"}, on_behalf_of_customer_holder=True
        )
    assert raised.value.code == "not_pending"


def test_action_request_expires(ticket, agent):
    session, _ = consent(ticket, agent, mode="controlled")
    request = services.request_action(session, actor=agent, action={"kind": "click"})
    type(request).objects.filter(pk=request.pk).update(expires_at=request.created_at)
    with pytest.raises(services.CoBrowseError):
        services.decide_action(request, approve=True)
    request.refresh_from_db()
    assert request.state == ActionRequestState.EXPIRED


def test_viewer_cap_counts_the_agent(ticket, agent, settings):
    settings.COBROWSE_MAX_VIEWERS = 3  # the agent plus two others
    session, _ = consent(ticket, agent)
    services.join(session, user=agent, role=ParticipantRole.AGENT)
    managers = [make_user(f"mgr{i}", role="manager") for i in range(3)]
    joined = [services.join(session, user=m) for m in managers[:2]]
    with pytest.raises(services.ViewerLimitReached):
        services.join(session, user=managers[2])
    services.leave(joined[0])
    assert services.join(session, user=managers[2]).role == ParticipantRole.VIEWER
    outsider = make_user("agent9", role="agent", agent_level="L2")
    with pytest.raises(PermissionDenied):
        services.join(session, user=outsider)


def test_end_closes_everything(ticket, agent, manager):
    session, grant = consent(ticket, agent, mode="controlled")
    request = services.request_mode(session, actor=agent, mode="full")
    services.join(session, user=manager)
    services.end_session(session, actor=agent)
    request.refresh_from_db()
    assert request.state == ModeRequestState.CANCELLED
    assert not session.participants.filter(left_at__isnull=True).exists()
    with pytest.raises(consent_grants.GrantError):
        consent_grants.verify_grant(grant)
    session.refresh_from_db()
    assert session.end_reason == "agent_ended" and session.ended_by == agent


def test_screen_share_request_notifies_assignee(
    customer, agent, mailoutbox, django_capture_on_commit_callbacks
):
    ticket = make_ticket(customer, assignee=agent, created_by=agent)
    with django_capture_on_commit_callbacks(execute=True):
        services.request_screen_share(ticket, customer=customer)
    ticket.refresh_from_db()
    assert ticket.screen_share_requested_at is not None
    assert ticket.events.filter(kind=EventKind.SCREEN_SHARE_REQUESTED).count() == 1
    assert mailoutbox[0].to == [agent.email]
    with pytest.raises(PermissionDenied):
        services.request_screen_share(ticket, customer=agent)
