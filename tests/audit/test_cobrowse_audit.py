"""Co-browse flows write audit events (ids, modes, reasons; no personal data), and the chain holds."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit import services as audit_services
from audit.models import AuditEvent
from cobrowse import services
from consent import answers
from consent import records as consent_records
from consent import services as consent_services
from tests.consent.helpers import consent
from tests.factories import make_ticket

pytestmark = pytest.mark.django_db


def _full_flow(customer, agent, manager):
    client = consent_records.ClientInfo(ip="203.0.113.9", user_agent="Mozilla/5.0 Chrome/156")
    session, _ = consent(make_ticket(customer), agent, mode="guided", client=client)
    request = services.request_mode(session, actor=agent, mode="full")
    services.decide_full_control(request, manager=manager, approve=True)
    answers.respond_to_mode_request(request, accept=True, customer=customer, client=client)
    answers.revoke_session(session, customer=customer, client=client)
    return session


def test_flow_writes_audit_events(customer, agent, manager):
    session = _full_flow(customer, agent, manager)
    actions = list(AuditEvent.objects.filter(object_id=str(session.pk)).values_list("action", flat=True))
    for expected in (
        "cobrowse.invite_issued",
        "cobrowse.session_started",
        "consent.granted",
        "consent.grant_issued",
        "cobrowse.mode_requested",
        "cobrowse.full_control_approved",
        "consent.escalation_granted",
        "cobrowse.mode_changed",
        "cobrowse.revoked",
        "cobrowse.session_ended",
    ):
        assert expected in actions, expected
    ended = AuditEvent.objects.get(object_id=str(session.pk), action="cobrowse.session_ended")
    assert ended.details["reason"] == "customer_revoked" and ended.details["state"] == "revoked"
    changed = AuditEvent.objects.get(object_id=str(session.pk), action="cobrowse.mode_changed")
    assert (changed.details["from"], changed.details["to"]) == ("guided", "full")


def test_audit_details_hold_no_personal_data(customer, agent, manager):
    _full_flow(customer, agent, manager)
    blob = json.dumps(list(AuditEvent.objects.values_list("details", flat=True)))
    for secret in (customer.email, agent.email, customer.first_name, agent.first_name, "203.0.113", "Chrome"):
        assert secret not in blob


def test_denial_and_timeout_are_audited(customer, agent):
    from tests.consent.helpers import start

    session, raw = start(make_ticket(customer), agent)
    consent_services.deny_consent(consent_services.claim_invite(raw))
    assert AuditEvent.objects.filter(action="consent.denied", object_id=str(session.pk)).exists()


def test_verify_audit_detects_edited_cobrowse_row(customer, agent, manager):
    _full_flow(customer, agent, manager)
    call_command("verify_audit")
    target = AuditEvent.objects.get(action="cobrowse.full_control_approved")
    AuditEvent.objects.filter(pk=target.pk).update(details={"session": 0, "request": 0})
    problem = audit_services.verify_chain()
    assert problem is not None and problem.event_id == target.pk
    with pytest.raises(CommandError):
        call_command("verify_audit")


def test_verify_audit_detects_deleted_cobrowse_row(customer, agent, manager):
    _full_flow(customer, agent, manager)
    target = AuditEvent.objects.get(action="cobrowse.mode_changed")
    following = AuditEvent.objects.filter(pk__gt=target.pk).order_by("pk").first()
    AuditEvent.objects.filter(pk=target.pk)._raw_delete(AuditEvent.objects.db)
    problem = audit_services.verify_chain()
    assert problem is not None and problem.event_id == following.pk
