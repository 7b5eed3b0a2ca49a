"""The session core announces its changes to the live sockets itself, after commit (one path)."""

from __future__ import annotations

import pytest
from django.db import transaction

from cobrowse import services
from cobrowse.groups import customer_group, session_group
from cobrowse.models import EndReason, ModeRequestState, SessionState
from consent import answers
from tests.consent.helpers import consent, start
from tests.factories import make_ticket

pytestmark = pytest.mark.django_db


def _changes(sent):
    return [(group, message) for group, message in sent if message["type"] == "session.changed"]


def test_ending_announces_the_end_to_the_session(broadcasts, customer, agent):
    session, _grant = consent(make_ticket(customer), agent)
    with broadcasts() as sent:
        services.end_session(session.pk, actor=agent)
    assert _changes(sent) == [
        (
            session_group(session.pk),
            {
                "type": "session.changed",
                "state": SessionState.ENDED,
                "mode": "guided",
                "recording": False,
                "end_reason": EndReason.AGENT_ENDED,
            },
        )
    ]


def test_a_lower_mode_is_announced_with_the_new_mode(broadcasts, customer, agent):
    session, _grant = consent(make_ticket(customer), agent, mode="controlled")
    with broadcasts() as sent:
        services.request_mode(session.pk, actor=agent, mode="view_only")
    assert [m["mode"] for _g, m in _changes(sent)] == ["view_only"]


def test_a_request_waiting_for_the_customer_is_put_to_their_page(broadcasts, customer, agent):
    session, _grant = consent(make_ticket(customer), agent, mode="view_only")
    with broadcasts() as sent:
        request = services.request_mode(session.pk, actor=agent, mode="guided")
    assert request.state == ModeRequestState.PENDING_CUSTOMER
    assert (
        customer_group(session.pk),
        {"type": "customer.mode_request", "request_id": request.pk, "mode": "guided"},
    ) in sent
    with broadcasts() as sent:
        answers.respond_to_mode_request(request.pk, accept=True)
    assert [m["mode"] for _g, m in _changes(sent)] == ["guided"]
    assert not [m for _g, m in sent if m["type"] == "customer.mode_request"]  # answered: not asked again


def test_full_control_reaches_the_customer_only_after_a_manager(broadcasts, customer, agent, manager):
    session, _grant = consent(make_ticket(customer), agent, mode="controlled")
    with broadcasts() as sent:
        request = services.request_mode(session.pk, actor=agent, mode="full")
    assert not [m for _g, m in sent if m["type"] == "customer.mode_request"]
    with broadcasts() as sent:
        services.decide_full_control(request.pk, manager=manager, approve=True)
    assert [m for _g, m in sent if m["type"] == "customer.mode_request"] == [
        {"type": "customer.mode_request", "request_id": request.pk, "mode": "full"}
    ]


def test_an_invitation_is_not_announced_and_a_rollback_announces_nothing(broadcasts, customer, agent):
    with broadcasts() as sent:
        session, _raw = start(make_ticket(customer), agent)
    assert _changes(sent) == []  # a new session has no socket to tell
    with broadcasts() as sent, pytest.raises(RuntimeError), transaction.atomic():
        locked = services.lock(session.pk)
        services.transition(locked, SessionState.ENDED, reason=EndReason.CANCELLED, actor=agent)
        raise RuntimeError("rolled back")
    assert sent == []
