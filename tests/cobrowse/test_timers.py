"""Timers: invite expiry, inactivity, maximum duration, extension — by the sweep and on touch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from cobrowse import services, tasks
from cobrowse.models import ActionRequestState, CoBrowseSession, SessionState
from consent import answers
from consent import grants as consent_grants
from consent import services as consent_services
from consent.models import ConsentKind, ConsentRecord
from tests.consent.helpers import consent, start
from tests.factories import make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(customer):
    return make_ticket(customer)


def _age(session, **fields):
    past = timezone.now() - timedelta(seconds=1)
    CoBrowseSession.objects.filter(pk=session.pk).update(**dict.fromkeys(fields, past))


def test_sweep_expires_unanswered_invites(ticket, agent):
    session, raw = start(ticket, agent)
    assert tasks.sweep_sessions() == 0
    _age(session, invite_expires_at=True)
    assert tasks.sweep_sessions() == 1
    session.refresh_from_db()
    assert (session.state, session.end_reason) == (SessionState.EXPIRED, "invite_expired")
    with pytest.raises(consent_services.InviteGone):
        consent_services.claim_invite(raw)
    assert tasks.sweep_sessions() == 0  # idempotent


def test_sweep_times_out_idle_and_overlong_sessions(ticket, agent, customer):
    idle, _ = consent(ticket, agent)
    long, _ = consent(make_ticket(customer), agent)
    CoBrowseSession.objects.filter(pk=idle.pk).update(last_activity_at=timezone.now() - timedelta(hours=1))
    _age(long, deadline_at=True)
    assert tasks.sweep_sessions() == 2
    idle.refresh_from_db()
    long.refresh_from_db()
    assert (idle.state, idle.end_reason) == (SessionState.TIMED_OUT, "inactivity")
    assert (long.state, long.end_reason) == (SessionState.TIMED_OUT, "max_duration")


def test_sweep_skips_when_locked(ticket, agent):
    session, _ = start(ticket, agent)
    _age(session, invite_expires_at=True)
    cache.add(tasks.SWEEP_LOCK_KEY, "1", timeout=30)
    assert tasks.sweep_sessions() == 0
    session.refresh_from_db()
    assert session.state == SessionState.INVITED
    cache.delete(tasks.SWEEP_LOCK_KEY)
    assert tasks.sweep_sessions() == 1


def test_touch_enforces_limits_without_beat(ticket, agent):
    session, grant = consent(ticket, agent)
    _age(session, deadline_at=True)
    # No sweep ran: the next touch (or grant check) closes the session anyway.
    with pytest.raises(consent_grants.GrantError):
        consent_grants.verify_grant(grant)
    session.refresh_from_db()
    assert session.state == SessionState.TIMED_OUT
    with pytest.raises(services.CoBrowseError):
        services.request_mode(session, actor=agent, mode="guided")
    session.refresh_from_db()
    assert session.state == SessionState.TIMED_OUT  # the refusal did not roll the timeout back


def test_touch_resets_inactivity(ticket, agent, settings):
    session, _ = consent(ticket, agent)
    CoBrowseSession.objects.filter(pk=session.pk).update(
        last_activity_at=timezone.now() - timedelta(seconds=settings.COBROWSE_INACTIVITY_TIMEOUT_SECONDS - 5)
    )
    touched = services.touch(session)
    assert touched.state == SessionState.CONSENTED
    assert (timezone.now() - touched.last_activity_at).total_seconds() < 5


def test_record_activity_is_one_update_while_no_timer_ran_out(
    ticket, agent, settings, django_assert_num_queries
):
    session, _ = consent(ticket, agent)
    before = timezone.now() - timedelta(seconds=settings.COBROWSE_INACTIVITY_TIMEOUT_SECONDS - 5)
    CoBrowseSession.objects.filter(pk=session.pk).update(last_activity_at=before)
    with django_assert_num_queries(1):
        assert services.record_activity(session.pk) is True
    session.refresh_from_db()
    assert session.state == SessionState.CONSENTED
    assert (timezone.now() - session.last_activity_at).total_seconds() < 5


@pytest.mark.parametrize("timer", ["deadline", "inactivity"])
def test_record_activity_applies_a_timer_that_ran_out(ticket, agent, settings, timer):
    session, _ = consent(ticket, agent)
    if timer == "deadline":
        _age(session, deadline_at=True)
    else:
        idle = timedelta(seconds=settings.COBROWSE_INACTIVITY_TIMEOUT_SECONDS + 1)
        CoBrowseSession.objects.filter(pk=session.pk).update(last_activity_at=timezone.now() - idle)
    assert services.record_activity(session.pk) is False  # activity now does not revive it
    session.refresh_from_db()
    assert session.state == SessionState.TIMED_OUT
    assert session.end_reason == ("max_duration" if timer == "deadline" else "inactivity")


def test_record_activity_on_an_ended_session_changes_nothing(ticket, agent):
    session, _ = consent(ticket, agent)
    services.end_session(session, actor=agent)
    session.refresh_from_db()
    ended_activity = session.last_activity_at
    assert services.record_activity(session.pk) is False
    session.refresh_from_db()
    assert session.state == SessionState.ENDED and session.last_activity_at == ended_activity


def test_extension_needs_customer_consent(ticket, agent, settings):
    session, _ = consent(ticket, agent)
    deadline = session.deadline_at
    request = services.request_extension(session, actor=agent)
    session.refresh_from_db()
    assert session.deadline_at == deadline  # nothing yet
    answers.respond_to_extension(request, accept=True)
    session.refresh_from_db()
    assert session.deadline_at == deadline + timedelta(seconds=settings.COBROWSE_EXTENSION_SECONDS)
    record = ConsentRecord.objects.get(kind=ConsentKind.EXTENSION)
    assert record.extension_seconds == settings.COBROWSE_EXTENSION_SECONDS
    declined = services.request_extension(session, actor=agent)
    answers.respond_to_extension(declined, accept=False)
    session.refresh_from_db()
    assert session.deadline_at == deadline + timedelta(seconds=settings.COBROWSE_EXTENSION_SECONDS)


def test_sweep_expires_action_requests(ticket, agent):
    session, _ = consent(ticket, agent, mode="controlled")
    request = services.request_action(session, actor=agent, action={"kind": "click"})
    type(request).objects.filter(pk=request.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert tasks.sweep_sessions() == 1
    request.refresh_from_db()
    assert request.state == ActionRequestState.EXPIRED


def test_refresh_task_tolerates_missing_session():
    assert tasks.refresh_session(987654) == "missing"


def test_beat_entry_is_configured(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["cobrowse-sweep"]
    assert entry["task"] == "cobrowse.tasks.sweep_sessions" and entry["schedule"] == 30.0
