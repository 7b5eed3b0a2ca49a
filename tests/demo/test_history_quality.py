"""Seeded history feeds the live-quality figures: one quality row per session, levels that follow
the round trips, and worse numbers where the page dropped off the network."""

from io import StringIO

import pytest
from django.core.management import call_command

from analytics import dashboard
from analytics.models import Disconnect, SessionQuality
from analytics.periods import Period
from cobrowse.models import CoBrowseSession, Initiator
from live.consumers.customer import PING_INTERVAL_S, PONG_DEADLINE_S

pytestmark = pytest.mark.django_db

GOOD_BUCKETS = ("rtt_le_25", "rtt_le_50", "rtt_le_100", "rtt_le_200")  # QUALITY_GOOD_MS is 200


@pytest.fixture
def sessions():
    call_command("seed_demo", "--history", "7", stdout=StringIO())
    return CoBrowseSession.objects.all()


def test_both_initiators_with_about_one_customer_request_in_five(sessions):
    customer = sessions.filter(initiated_by=Initiator.CUSTOMER).count()
    assert sessions.filter(initiated_by=Initiator.AGENT).exists()
    assert 0.12 < customer / sessions.count() < 0.32
    figures = dashboard.build(Period.default(), dashboard.Filters())
    assert (figures.agent_initiated, figures.customer_initiated) == (sessions.count() - customer, customer)


def test_every_session_is_measured_and_its_counts_add_up(sessions):
    rows = list(SessionQuality.objects.select_related("session"))
    assert len(rows) == sessions.count()
    for row in rows:
        histogram = [getattr(row, name) for name in SessionQuality.RTT_FIELDS]
        assert sum(histogram) == row.good + row.fair + row.poor > 0
        # The level follows the round trip: every heartbeat of at most 200 ms, and only those, is good.
        assert row.good == sum(getattr(row, name) for name in GOOD_BUCKETS)
        assert row.poor >= row.rtt_le_1600 + row.rtt_over_1600  # over 800 ms is beyond QUALITY_FAIR_MS
        assert 0 < row.rtt_max_ms < PONG_DEADLINE_S * 1000
        # One heartbeat every few seconds of the time the page was connected.
        assert sum(histogram) == max(1, int(row.connected_seconds // PING_INTERVAL_S))
        length = (row.session.ended_at - row.session.started_at).total_seconds()
        assert 0 < row.connected_seconds <= length
        assert row.resyncs >= row.gaps and (row.lost_events > 0) == (row.gaps > 0)


def test_mostly_good_and_drops_reconnect_with_losses(sessions):
    dropped = set(Disconnect.objects.filter(cause="network").values_list("session_id", flat=True))
    assert dropped
    rows = {row.session_id: row for row in SessionQuality.objects.all()}
    for session_id, row in rows.items():
        assert row.connections == (2 if session_id in dropped else 1)
        if session_id in dropped:
            assert row.gaps > 0 and row.resyncs > 0
    figures = dashboard.build(Period.default(), dashboard.Filters()).quality
    assert figures.measured == figures.sessions == sessions.count()
    mix = dict(figures.mix)
    assert mix["good"] > 70 and mix["good"] > mix["fair"] > mix["poor"] > 0
    assert figures.p50_ms is not None and 25 <= figures.p50_ms <= 200
    assert figures.reconnects == len(dropped)
    assert 0 < figures.sessions_with_gaps < figures.sessions
