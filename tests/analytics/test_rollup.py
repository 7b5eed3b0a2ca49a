"""The manager pages' facts stay equal to what the raw rows say: kept on every write that changes
them, rebuilt identically from scratch, repaired by the timer, never breaking a write."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from analytics import rollup, services
from analytics.models import SessionFact, TicketFact
from cobrowse import page_signals
from cobrowse.models import CoBrowseSession, SessionState
from outcomes.models import SessionOutcome, SurveyResponse
from recordings.models import Recording
from tests.factories import make_ticket
from tickets import services as ticket_services
from tickets.models import SatisfactionAnswer, Status, TicketComment

pytestmark = pytest.mark.django_db


def _snapshot() -> tuple[list, list]:
    return (
        list(SessionFact.objects.order_by("pk").values()),
        list(TicketFact.objects.order_by("pk").values()),
    )


def test_writes_keep_the_facts_and_a_rebuild_agrees(customer, agent, manager, account):
    ticket = make_ticket(customer, assignee=agent)
    now = timezone.now()
    invited = CoBrowseSession.objects.create(ticket=ticket, agent=agent, customer=customer)
    assert not SessionFact.objects.exists()  # never started: no facts
    session = CoBrowseSession.objects.create(
        ticket=make_ticket(customer, assignee=agent), agent=agent, customer=customer,
        state=SessionState.ACTIVE, mode="guided", started_at=now - timedelta(minutes=12),
    )  # fmt: skip
    fact = SessionFact.objects.get(pk=session.pk)
    assert (fact.mode, fact.category, fact.account_id, fact.outcome, fact.stars) == (
        "guided", "other", account.pk, "", None,
    )  # fmt: skip
    session.state, session.mode, session.ended_at = SessionState.ENDED, "controlled", now
    session.save(update_fields=["state", "mode", "ended_at"])
    SessionOutcome.objects.create(session=session, outcome="resolved", summary="-", recorded_by=agent)
    SurveyResponse.objects.create(session=session, stars=4)
    fact.refresh_from_db()
    assert (fact.mode, fact.ended_at, fact.outcome, fact.stars) == ("controlled", now, "resolved", 4)
    ticket_services.set_category(session.ticket, actor=agent, category="billing")
    assert SessionFact.objects.get(pk=session.pk).category == "billing"
    # The ticket: resolved → facts; a follow-up after the contact counts; reopened → none.
    ticket_services.change_status(session.ticket, actor=agent, status=Status.RESOLVED)
    tf = TicketFact.objects.get(pk=session.ticket_id)
    assert (tf.cobrowse, tf.modes, tf.contact_at, tf.follow_ups, tf.stars) == (
        True,
        ",controlled,",
        now,
        0,
        4.0,
    )
    ticket_services.add_comment(session.ticket, author=customer, body="It broke again")
    assert TicketFact.objects.filter(pk=session.ticket_id).exists() is False  # the reply reopened it
    ticket_services.change_status(session.ticket, actor=agent, status=Status.RESOLVED)
    assert TicketFact.objects.get(pk=session.ticket_id).follow_ups == 1
    # A ticket without co-browse: the first reply is the contact; its own survey is its stars.
    ticket_services.add_comment(invited.ticket, author=agent, body="Try this")
    ticket_services.change_status(invited.ticket, actor=agent, status=Status.RESOLVED)
    SatisfactionAnswer.objects.create(ticket=invited.ticket, stars=2)
    tf = TicketFact.objects.get(pk=invited.ticket_id)
    assert (tf.cobrowse, tf.modes, tf.follow_ups, tf.stars) == (False, "", 0, 2.0)
    assert tf.contact_at == TicketComment.objects.get(ticket=invited.ticket).created_at
    kept = _snapshot()
    SessionFact.objects.all().delete()
    TicketFact.objects.all().delete()
    assert rollup.rebuild() == (1, 2)
    assert _snapshot() == kept


def test_the_timer_repairs_what_bypassed_save(customer, agent):
    session = CoBrowseSession.objects.create(
        ticket=make_ticket(customer, assignee=agent), agent=agent, customer=customer,
        state=SessionState.ACTIVE, started_at=timezone.now() - timedelta(minutes=5),
    )  # fmt: skip
    CoBrowseSession.objects.filter(pk=session.pk).update(mode="controlled")  # no post_save
    assert SessionFact.objects.get(pk=session.pk).mode == "view_only"
    rollup.refresh_recent()
    assert SessionFact.objects.get(pk=session.pk).mode == "controlled"


def test_a_failing_refresh_never_breaks_the_write(customer, agent, monkeypatch, caplog):
    def broken(ids):
        raise RuntimeError("disk full")

    monkeypatch.setattr(rollup, "refresh_sessions", broken)
    session = CoBrowseSession.objects.create(
        ticket=make_ticket(customer, assignee=agent), agent=agent, customer=customer,
        state=SessionState.ACTIVE, started_at=timezone.now(),
    )  # fmt: skip
    assert CoBrowseSession.objects.filter(pk=session.pk).exists()
    assert "the timer will repair them" in caplog.text


def _quality(session_id: int, **counts: int) -> page_signals.ConnectionQuality:
    return page_signals.ConnectionQuality(
        session_id=session_id,
        seconds=60.0,
        rtt_buckets=(10, 4, 0, 0, 0, 0, 1, 0),
        rtt_max_ms=1200,
        levels=(12, 2, 1),
        gaps=counts.get("gaps", 0),
        lost_events=counts.get("lost_events", 0),
        resyncs=counts.get("resyncs", 0),
    )


def test_quality_disconnects_and_recording_reach_the_facts(customer, agent):
    """The relay adds quality with F() updates (no post_save): its service refreshes the facts; a
    disconnect and the recording's first and final saves do too; a rebuild and the upgrade's
    set-based copy give the same columns."""
    now = timezone.now()
    session = CoBrowseSession.objects.create(
        ticket=make_ticket(customer, assignee=agent), agent=agent, customer=customer,
        state=SessionState.ACTIVE, recording=True, started_at=now - timedelta(minutes=5),
    )  # fmt: skip
    fact = SessionFact.objects.get(pk=session.pk)
    assert (fact.connections, fact.disconnects, fact.network_drops, fact.recorded) == (None,) * 4
    services.keep_quality(_quality(session.pk, gaps=1, lost_events=4, resyncs=1))
    services.keep_quality(_quality(session.pk, resyncs=2))
    services.keep_disconnect(page_signals.Disconnect(session_id=session.pk, code=1006, cause="network"))
    services.keep_disconnect(page_signals.Disconnect(session_id=session.pk, code=1000, cause="closed"))
    fact.refresh_from_db()
    assert (fact.connections, fact.rtt_le_25, fact.rtt_le_1600, fact.rtt_max_ms) == (2, 20, 2, 1200)
    assert (fact.good, fact.fair, fact.poor) == (24, 4, 2)
    assert (fact.gaps, fact.lost_events, fact.resyncs) == (1, 4, 3)
    assert (fact.disconnects, fact.network_drops) == (2, 1)
    recording = Recording.objects.create(
        session=session, started_at=now, retention_until=now + timedelta(days=30)
    )
    fact.refresh_from_db()
    assert (fact.recorded, fact.recording_complete, fact.recording_bytes) == (True, False, 0)
    recording.bytes_stored, recording.complete = 5000, True
    recording.save(update_fields=["bytes_stored", "complete"])
    fact.refresh_from_db()
    assert (fact.recording_complete, fact.recording_bytes) == (True, 5000)
    kept = _snapshot()
    SessionFact.objects.all().delete()
    rollup.rebuild()
    assert _snapshot() == kept
    # The upgrade fills the new columns of facts that existed before them.
    SessionFact.objects.update(
        **{name: None for name in SessionFact.QUALITY_FIELDS},
        disconnects=None, network_drops=None, recorded=None, recording_complete=None,
        recording_bytes=None,
    )  # fmt: skip
    upgrade = importlib.import_module("analytics.migrations.0004_session_fact_quality")
    with connection.schema_editor() as editor:
        upgrade.copy_quality(None, editor)
    assert _snapshot() == kept
