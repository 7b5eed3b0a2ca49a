"""Form friction against a hand-built set of signals with known answers; the 30 % flag; guidance
aimed at a field counted as an intervention on it; managers only."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.utils import timezone

from analytics import friction
from analytics.models import FrictionDay, FrictionDayDone, PageSignal
from analytics.periods import Period
from cobrowse.models import CoBrowseSession, SessionState
from tests.factories import make_ticket, make_user
from tests.live.test_consumers import _full_snapshot_with_secrets, _msg, _pair, _receive_type

PAGE = "https://shop.example/apply"
OTHER = "https://shop.example/pay"


def _sessions(n, customer, agent, *, started_minutes_ago=120):
    ticket = make_ticket(customer)
    started = timezone.now() - timedelta(minutes=started_minutes_ago)
    return [
        CoBrowseSession.objects.create(
            ticket=ticket, agent=agent, customer=customer, state=SessionState.ENDED, started_at=started
        )
        for _ in range(n)
    ]


def _signal(session, kind, field="", page=PAGE, minutes_ago=60):
    row = PageSignal.objects.create(session=session, kind=kind, page_url=page, field=field)
    PageSignal.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(minutes=minutes_ago))


@pytest.fixture
def known(db, customer, agent):
    """Ten sessions on the apply page. IBAN: interventions in four (40 %: flagged), one of which
    errs again afterwards; stalls in five; three validation errors. Name: interventions in three
    (30 %: not flagged, the flag is above 30 %). Two exit intents on the page; one old session."""
    on_page = _sessions(10, customer, agent)
    old = _sessions(1, customer, agent, started_minutes_ago=60 * 24 * 40 + 10)[0]
    sessions = [*on_page, old]
    for s in on_page:
        _signal(s, "idle", minutes_ago=90)
    for s in on_page[:5]:
        _signal(s, "stall", "iban", minutes_ago=80)
    for s in on_page[:4]:
        _signal(s, "intervention", "iban", minutes_ago=70)
    _signal(on_page[0], "validation_error", "iban", minutes_ago=60)  # after its intervention
    _signal(on_page[5], "validation_error", "iban", minutes_ago=60)
    _signal(on_page[6], "validation_error", "iban", minutes_ago=60)
    for s in on_page[4:7]:
        _signal(s, "intervention", "name", minutes_ago=50)
    _signal(on_page[8], "exit_intent", minutes_ago=40)
    _signal(on_page[9], "exit_intent", minutes_ago=40)
    _signal(old, "intervention", "iban", minutes_ago=60 * 24 * 40)  # outside the period
    return sessions


def test_each_figure_against_known_answers(known):
    rows = {r.field: r for r in friction.field_rows(Period.default())}
    iban, name = rows["iban"], rows["name"]
    assert (iban.page_sessions, iban.stalled_sessions, iban.validation_errors) == (10, 5, 3)
    assert (iban.intervened_sessions, iban.completed_after_intervention, iban.exit_intents) == (4, 3, 2)
    assert iban.intervention_rate == Decimal("0.400") and iban.redesign
    assert (name.intervened_sessions, name.completed_after_intervention) == (3, 3)
    assert name.intervention_rate == Decimal("0.300") and not name.redesign
    assert list(rows) == ["iban", "name"]  # worst first


def _figures(period):
    return {(r.page_url, r.field): r for r in friction.field_rows(period)}


def test_stored_days_and_raw_signals_give_the_same_figures(known, customer, agent):
    """Days older than the recent ones are read from FrictionDay once computed; a session counts on
    the day it started, so a session reporting across midnight is counted once in a longer period."""
    today = timezone.localdate()
    # A session that started 10 days ago and reported on two days: one page session, not two.
    crossing = _sessions(1, customer, agent, started_minutes_ago=60 * 24 * 10)[0]
    _signal(crossing, "stall", "iban", minutes_ago=60 * 24 * 10 - 5)
    _signal(crossing, "stall", "iban", minutes_ago=60 * 24 * 9)
    month = Period(today - timedelta(days=29), today)
    raw = _figures(month)
    assert raw[(PAGE, "iban")].page_sessions == 11 and raw[(PAGE, "iban")].stalled_sessions == 6
    assert friction.rebuild() > 0
    assert (
        FrictionDay.objects.filter(day=today - timedelta(days=10), field="iban").get().stalled_sessions == 1
    )
    assert not FrictionDayDone.objects.filter(day=today).exists()  # today is never stored
    assert _figures(month) == raw
    # A stored day is what the page reads: change the stored row and the page follows it.
    FrictionDay.objects.filter(day=today - timedelta(days=10), field="iban").update(stalled_sessions=5)
    assert _figures(month)[(PAGE, "iban")].stalled_sessions == 10
    # The timer: the recent days are recomputed, a lost older day is backfilled.
    FrictionDayDone.objects.filter(day=today - timedelta(days=10)).delete()
    friction.refresh_recent()
    assert FrictionDayDone.objects.filter(day=today - timedelta(days=10)).exists()
    assert _figures(month) == raw
    old_day = timezone.localdate(known[-1].started_at)
    assert _figures(Period(old_day, old_day))[(PAGE, "iban")].intervened_sessions == 1


def test_the_page_flags_and_links_to_the_sessions_behind(known, manager):
    client = Client()
    client.force_login(manager)
    page = client.get("/manager/forms/").content.decode()
    assert 'data-testid="flagged-count">1<' in page and "Redesign, don" in page
    behind = client.get("/manager/forms/sessions/", {"page": PAGE, "field": "iban", "kind": "intervention"})
    text = behind.content.decode()
    assert behind.status_code == 200 and text.count("/outcome/") == 4  # the old one is outside the period
    assert client.get("/manager/forms/sessions/", {"page": PAGE, "kind": "dance"}).status_code == 400
    assert client.get("/manager/forms/", {"from": "nope"}).status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["agent", "customer"])
def test_managers_only(role):
    client = Client()
    client.force_login(make_user(f"u-{role}", role=role))
    assert client.get("/manager/forms/").status_code == 403
    assert client.get("/manager/forms/sessions/", {"page": PAGE, "kind": "stall"}).status_code == 403


@pytest.mark.django_db(transaction=True)
async def test_guidance_aimed_at_a_field_is_an_intervention_on_it():
    session, _grant, _agent, customer, agent_comm, _ = await _pair()
    await customer.send_json_to(
        _msg("rrweb", {"events": [_full_snapshot_with_secrets()], "page_id": "p1"}, 1)
    )
    await _receive_type(agent_comm, "rrweb")
    await agent_comm.send_json_to(_msg("annotate", {"kind": "highlight", "node_id": 7, "page_id": "p1"}, 0))
    await _receive_type(customer, "annotate")
    await agent_comm.send_json_to(_msg("annotate", {"kind": "arrow", "node_id": 2, "page_id": "p1"}, 1))
    await _receive_type(customer, "annotate")  # aimed at <html>: no field, no intervention
    rows = await database_sync_to_async(
        lambda: list(
            PageSignal.objects.filter(session=session, kind="intervention").values_list("field", "detail")
        )
    )()
    assert rows == [("full_name", "highlight")]
    await customer.disconnect()
    await agent_comm.disconnect()
