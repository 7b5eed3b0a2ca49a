"""Live quality: the meter's counts, the per-session rows added up from connections, percentiles
from the histogram, the period's figures against known answers, and the relay reporting a closed
socket's quality end to end."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.utils import timezone

from analytics import quality, services
from analytics.models import Disconnect, SessionQuality
from cobrowse import page_signals
from cobrowse.models import CoBrowseSession, SessionState
from live.quality_meter import QualityMeter
from recordings.models import Recording
from tests.factories import make_ticket
from tests.live.test_consumers import _msg, _pair, _receive_type


def _report(session_id: int, buckets=(0,) * 8, *, max_ms=0, levels=(0, 0, 0), gaps=0, lost=0, resyncs=0):
    return page_signals.ConnectionQuality(
        session_id=session_id, seconds=60.0, rtt_buckets=tuple(buckets), rtt_max_ms=max_ms,
        levels=levels, gaps=gaps, lost_events=lost, resyncs=resyncs,
    )  # fmt: skip


def test_histogram_fields_match_the_bounds():
    names = [f"rtt_le_{bound}" for bound in page_signals.RTT_BOUNDS_MS]
    assert list(SessionQuality.RTT_FIELDS) == [*names, f"rtt_over_{page_signals.RTT_BOUNDS_MS[-1]}"]


def test_the_meter_buckets_round_trips_and_counts_repairs():
    meter = QualityMeter(7)
    for ms, level in ((25, "good"), (26, "good"), (0.4, "good"), (250, "fair"), (5000, "poor")):
        meter.round_trip(ms, level)
    meter.gap(3)  # seq 2..4 missing
    meter.resync()  # the agent asked for one
    report = meter.report()
    assert report.rtt_buckets == (2, 1, 0, 0, 1, 0, 0, 1)  # 25 ms is "at most 25"
    assert (report.rtt_max_ms, report.levels) == (5000, (3, 1, 1))
    assert (report.gaps, report.lost_events, report.resyncs) == (1, 3, 2)


@pytest.mark.parametrize(
    ("counts", "q", "max_ms", "expected"),
    [
        ((0,) * 8, 0.5, 0, None),
        ((10, 0, 0, 0, 0, 0, 0, 0), 0.99, 18, 18),  # below the first bound: the largest measured
        ((50, 49, 1, 0, 0, 0, 0, 0), 0.5, 90, 25),  # the 50th of 100 is in the first bucket
        ((50, 49, 1, 0, 0, 0, 0, 0), 0.99, 90, 50),  # the 99th is in the second
        ((50, 49, 0, 0, 0, 0, 0, 1), 0.99, 4200, 50),
        ((50, 48, 0, 0, 0, 0, 0, 2), 0.99, 4200, 4200),  # the top bucket: the largest measured
    ],
)
def test_percentiles_from_the_histogram(counts, q, max_ms, expected):
    assert quality.percentile(counts, q, max_ms) == expected


def _ended(customer, agent, *, days_ago=1, recording=False):
    start = timezone.now() - timedelta(days=days_ago)
    return CoBrowseSession.objects.create(
        ticket=make_ticket(customer), agent=agent, customer=customer, state=SessionState.ENDED,
        started_at=start, ended_at=start + timedelta(minutes=10), recording=recording,
    )  # fmt: skip


@pytest.mark.django_db
def test_connections_add_up_into_the_session_row(customer, agent):
    session = _ended(customer, agent)
    services.keep_quality(_report(session.pk, (3, 1, 0, 0, 0, 0, 0, 0), max_ms=40, levels=(4, 0, 0)))
    services.keep_quality(
        _report(session.pk, (0, 0, 0, 0, 2, 0, 0, 0), max_ms=310, levels=(0, 2, 0), gaps=1, lost=3, resyncs=2)
    )
    row = SessionQuality.objects.get(session=session)
    assert (row.connections, row.connected_seconds, row.rtt_max_ms) == (2, 120.0, 310)
    assert (row.rtt_le_25, row.rtt_le_50, row.rtt_le_400) == (3, 1, 2)
    assert (row.good, row.fair, row.gaps, row.lost_events, row.resyncs) == (4, 2, 1, 3, 2)
    with pytest.raises(ValueError, match="histogram"):
        services.keep_quality(_report(session.pk, (1, 2)))


@pytest.fixture
def measured(db, customer, agent):
    """Three sessions in the period (two measured, one recorded) and one 40 days ago."""
    a = _ended(customer, agent, recording=True)
    b = _ended(customer, agent)
    _ended(customer, agent)  # never reported quality (say, its process died)
    old = _ended(customer, agent, days_ago=40)
    services.keep_quality(_report(a.pk, (90, 8, 1, 0, 0, 0, 0, 0), max_ms=80, levels=(99, 0, 0)))
    services.keep_quality(_report(a.pk, (0,) * 8, levels=(0, 0, 0)))  # a reconnect that measured nothing
    services.keep_quality(
        _report(b.pk, (0, 0, 0, 0, 0, 0, 0, 1), max_ms=2500, levels=(0, 0, 1), gaps=2, lost=9, resyncs=3)
    )
    services.keep_quality(_report(old.pk, (0, 0, 0, 0, 0, 0, 0, 50), max_ms=9000, levels=(0, 0, 50)))
    Disconnect.objects.create(session=b, code=1006, cause="network")
    Disconnect.objects.create(session=a, code=1001, cause="page_left")
    Recording.objects.create(
        session=a, started_at=a.started_at, complete=True, bytes_stored=2048, retention_until=timezone.now()
    )
    return a, b


def test_the_period_figures_against_known_answers(measured):
    from analytics.dashboard import Filters, sessions
    from analytics.periods import Period

    f = quality.period_figures(sessions(Period.default(), Filters()))
    assert (f.sessions, f.measured, f.heartbeats, f.reconnects) == (3, 2, 100, 1)
    assert (f.p50_ms, f.p99_ms, f.max_ms) == (25, 100, 2500)  # 99th of 100: the 100 ms bucket
    assert dict(f.mix) == {"good": Decimal("99.0"), "fair": Decimal("0.0"), "poor": Decimal("1.0")}
    assert (f.resyncs, f.gaps, f.lost_events, f.sessions_with_gaps) == (3, 2, 9, 1)
    assert (f.disconnects, f.network_disconnects, f.disconnect_rate, f.disconnect_flag) == (
        2, 1, Decimal("33.3"), True,
    )  # fmt: skip
    assert (f.recording_consented, f.recordings, f.recordings_complete, f.recording_bytes) == (1, 1, 1, 2048)
    # The dashboard adds the same figures up over its (mode, category, agent) groups in one pass.
    from analytics import dashboard
    from analytics.models import SessionFact

    SessionFact.objects.filter(pk=measured[1].pk).update(mode="controlled")  # two groups, not one
    assert dashboard.build(Period.default(), Filters()).quality == f


def test_sessions_worst_first_with_their_own_percentiles(measured):
    from analytics.dashboard import Filters, sessions
    from analytics.periods import Period

    a, b = measured
    rows = [quality.session_row(s) for s in quality.session_rows(sessions(Period.default(), Filters()))]
    assert [r.session.pk for r in rows][:2] == [b.pk, a.pk]
    worst, good = rows[0], rows[1]
    assert (worst.p50_ms, worst.p99_ms, worst.disconnects, worst.recorded) == (2500, 2500, 1, False)
    # The 99th of 99 round trips is in the 100 ms bucket, and none took longer than 80 ms.
    assert (good.p50_ms, good.p99_ms, good.recorded, good.quality.connections) == (25, 80, True, 2)
    assert rows[2].quality is None and rows[2].p99_ms is None


def test_the_quality_page_and_its_csv(measured, manager, agent):
    a, b = measured
    client = Client()
    client.force_login(manager)
    page = client.get("/manager/quality/").content.decode()
    assert 'data-figure="p99">100<' in page and f"T-{b.ticket.number}" in page
    body = client.get("/manager/quality/?format=csv").content.decode()
    header, first = body.splitlines()[:2]
    assert header.startswith("session,ticket,agent,started") and first.startswith(f"{b.pk},")
    assert client.get("/manager/quality/?from=2026-13-01").status_code == 400
    client.force_login(agent)
    assert client.get("/manager/quality/").status_code == 403


pytestmark_relay = pytest.mark.django_db(transaction=True)


@pytestmark_relay
async def test_the_relay_reports_each_closed_socket(monkeypatch):
    from live.consumers import customer as customer_consumer

    monkeypatch.setattr(customer_consumer, "PING_INTERVAL_S", 0.2)
    session, _grant, _agent, customer, agent_comm, _ = await _pair()
    ping = await _receive_type(customer, "ping")
    await customer.send_json_to(_msg("pong", {"nonce": ping["data"]["nonce"]}, 0))
    await _receive_type(customer, "quality")
    await customer.send_json_to(_msg("signal", {"kind": "idle"}, 0))
    await customer.send_json_to(_msg("signal", {"kind": "idle"}, 5))  # 1..4 lost
    await _receive_type(customer, "snapshot_request", reason="gap")
    await agent_comm.send_json_to(_msg("resync", {"from_seq": 3}, 0))
    await _receive_type(customer, "snapshot_request", reason="resync")
    await customer.disconnect()
    row = None
    for _ in range(50):  # the report is written as the socket closes
        row = await database_sync_to_async(SessionQuality.objects.filter(session_id=session.pk).first)()
        if row is not None:
            break
        await asyncio.sleep(0.1)
    assert row is not None
    assert (row.connections, row.gaps, row.lost_events, row.resyncs) == (1, 1, 4, 2)
    assert (
        sum(getattr(row, name) for name in SessionQuality.RTT_FIELDS) == row.good + row.fair + row.poor >= 1
    )
    await agent_comm.disconnect()
