"""The dashboard's chart series against hand-built sessions with known answers: every desk day of the
period (zeros included), a session late in the evening counted on its desk day (not the UTC one),
weeks for long periods, gaps where nobody answered the survey; the charts agree with the tables, and
an agent's page charts their own sessions only."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from html import unescape

import pytest
from django.test import Client
from django.utils import timezone

from analytics import charts, dashboard
from analytics.periods import Period
from cobrowse.models import CoBrowseSession, SessionState
from outcomes.models import SurveyResponse
from tests.factories import make_ticket

DESK_TZ = "America/New_York"  # 23:30 there is already the next day in UTC
WEEK = Period(date(2026, 3, 2), date(2026, 3, 8))  # Monday to Sunday


@pytest.fixture
def desk_tz(settings):
    settings.TIME_ZONE = DESK_TZ
    return settings


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour, minute))


def _session(customer, agent, start, minutes, *, mode="guided", stars=None):
    session = CoBrowseSession.objects.create(
        ticket=make_ticket(customer), agent=agent, customer=customer, state=SessionState.ENDED, mode=mode,
        started_at=start, ended_at=None if minutes is None else start + timedelta(minutes=minutes),
    )  # fmt: skip
    if stars:
        SurveyResponse.objects.create(session=session, stars=stars)
    return session


@pytest.fixture
def known(desk_tz, db, customer, agent, agent_l3):
    """In the week of 2 March (desk time): agent 3 min ★5 and 7 min ★3 on Monday, the second at
    23:30; agent_l3 15 min controlled on Wednesday and 25 min view only ★2 at 00:15 on Thursday;
    agent an unfinished view-only session on Friday and 30 min full control ★4 at 23:30 on Sunday.
    Just outside: Sunday 1 March at 23:30 (★1) and Monday 9 March at 00:10 (★1)."""
    d = date(2026, 3, 2)
    _session(customer, agent, _at(d, 10), 3, stars=5)
    _session(customer, agent, _at(d, 23, 30), 7, stars=3)
    _session(customer, agent_l3, _at(d + timedelta(days=2), 9), 15, mode="controlled")
    _session(customer, agent_l3, _at(d + timedelta(days=3), 0, 15), 25, mode="view_only", stars=2)
    _session(customer, agent, _at(d + timedelta(days=4), 12), None, mode="view_only")
    _session(customer, agent, _at(d + timedelta(days=6), 23, 30), 30, mode="full", stars=4)
    _session(customer, agent, _at(d - timedelta(days=1), 23, 30), 4, stars=1)
    _session(customer, agent, _at(d + timedelta(days=7), 0, 10), 4, stars=1)


def test_sessions_per_day_counts_every_desk_day(known):
    days = charts.series(WEEK, dashboard.Filters())["days"]
    assert days["dates"] == [f"2026-03-0{n}" for n in range(2, 9)]
    # Monday's 23:30 session is Monday's (UTC: Tuesday), Sunday's is Sunday's (UTC: next Monday).
    assert days["sessions"] == [2, 0, 1, 1, 1, 0, 1]
    assert days["labels"][0] == "2 Mar"
    assert days["rows"][0] == ("Mon 2 Mar 2026", 2)
    assert "6 sessions, 2 days without any" in days["summary"]
    assert "busiest day was 2 Mar 2026 with 2" in days["summary"]


def test_mode_mix_and_length_buckets(known):
    s = charts.series(WEEK, dashboard.Filters())
    assert s["modes"]["keys"] == ["view_only", "guided", "controlled", "full"]
    assert s["modes"]["sessions"] == [2, 2, 1, 1]
    assert s["modes"]["summary"].startswith("Sessions by final mode: View only 2 (33 %)")
    # The unfinished session has no length: it is in no bucket, as in the dashboard's table.
    assert s["durations"]["sessions"] == [1, 1, 1, 2]
    assert s["durations"]["labels"] == [label for label, _, _ in dashboard.BUCKETS]


def test_csat_per_day_with_gaps_where_nobody_answered(known):
    csat = charts.series(WEEK, dashboard.Filters())["csat"]
    assert csat["unit"] == "day"
    assert csat["mean"] == [4.0, None, None, 2.0, None, None, 4.0]
    assert csat["answers"] == [2, 0, 0, 1, 0, 0, 1]
    assert "from 4 answers" in csat["summary"] and "lowest 2.0 on 5 Mar 2026" in csat["summary"]


def test_csat_per_week_for_a_long_period(known):
    period = Period(date(2026, 3, 4), date(2026, 4, 7))  # 35 days, from a Wednesday
    csat = charts.series(period, dashboard.Filters())["csat"]
    assert csat["unit"] == "week"
    assert csat["dates"] == [
        "2026-03-02",
        "2026-03-09",
        "2026-03-16",
        "2026-03-23",
        "2026-03-30",
        "2026-04-06",
    ]
    assert csat["labels"][0] == "w/c 2 Mar"
    # Sunday 23:30 desk time belongs to the week of 2 March (in UTC it is already 9 March).
    assert csat["mean"] == [3.0, 1.0, None, None, None, None]
    assert csat["answers"] == [2, 1, 0, 0, 0, 0]
    assert len(charts.series(period, dashboard.Filters())["days"]["sessions"]) == 35


def test_the_charts_agree_with_the_tables(known, agent_l3):
    for filters in (
        dashboard.Filters(),
        dashboard.Filters(agent=agent_l3.pk),
        dashboard.Filters(mode="guided"),
    ):
        s, figures = charts.series(WEEK, filters), dashboard.build(WEEK, filters)
        assert sum(s["days"]["sessions"]) == figures.total
        assert s["durations"]["sessions"] == [n for _, n in figures.buckets]
        by_mode = dict(zip(s["modes"]["keys"], s["modes"]["sessions"], strict=True))
        assert {row["key"]: row["sessions"] for row in figures.modes} == {
            k: n for k, n in by_mode.items() if n
        }
        assert sum(s["csat"]["answers"]) == figures.csat_answers


def test_an_empty_period(desk_tz, db):
    s = charts.series(WEEK, dashboard.Filters())
    assert s["days"]["sessions"] == [0] * 7 and s["days"]["summary"].endswith(": none.")
    assert s["modes"]["sessions"] == [0, 0, 0, 0] and s["durations"]["sessions"] == [0, 0, 0, 0]
    assert s["csat"]["mean"] == [None] * 7 and "no answers" in s["csat"]["summary"]


def _charts_on(page: str) -> dict:
    found = re.search(r'<script id="dashboard-charts" type="application/json">(.*?)</script>', page, re.S)
    assert found, "the page has no chart data"
    return json.loads(found.group(1))


def _canvas_names(page: str) -> dict[str, str]:
    return {
        name: unescape(label)
        for name, label in re.findall(r'<canvas data-chart="(\w+)" role="img" aria-label="([^"]*)"', page)
    }


def test_the_manager_page_charts_every_agent(known, manager):
    client = Client()
    client.force_login(manager)
    page = client.get("/manager/", {"from": "2026-03-02", "to": "2026-03-08"}).content.decode()
    assert _charts_on(page)["days"]["sessions"] == [2, 0, 1, 1, 1, 0, 1]
    names = _canvas_names(page)
    assert set(names) == {"days", "modes", "durations", "csat"}
    assert "6 sessions" in names["days"] and "View only 2" in names["modes"]
    assert "dist/tandem-charts.js" in page


def test_an_agent_charts_their_own_sessions_only(known, agent, agent_l3):
    client = Client()
    client.force_login(agent_l3)
    query = {"from": "2026-03-02", "to": "2026-03-08", "agent": agent.pk}  # the agent filter is ignored
    page = client.get("/agent/performance/", query).content.decode()
    data = _charts_on(page)
    assert data["days"]["sessions"] == [0, 0, 1, 1, 0, 0, 0]
    assert data["modes"]["sessions"] == [1, 0, 1, 0]
    assert data["csat"]["answers"] == [0, 0, 0, 1, 0, 0, 0]
    assert "2 sessions" in _canvas_names(page)["days"]
    assert client.get("/agent/performance/", {"from": "2026-03-09", "to": "2026-03-02"}).status_code == 400
