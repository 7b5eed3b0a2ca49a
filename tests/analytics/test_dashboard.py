"""The manager dashboard against hand-built sessions with known answers; filters, period, CSV; agents
see their own figures only and never the manager page."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from analytics import dashboard
from analytics.models import Disconnect
from analytics.periods import Period
from cobrowse.models import CoBrowseSession, SessionState
from outcomes.models import SessionOutcome, SurveyResponse
from tests.factories import make_ticket, make_user


def _session(
    customer, agent, minutes, *, category="billing", mode="guided", outcome=None, stars=None, days_ago=1
):
    ticket = make_ticket(customer, category=category)
    start = timezone.now() - timedelta(days=days_ago)
    session = CoBrowseSession.objects.create(
        ticket=ticket, agent=agent, customer=customer, state=SessionState.ENDED, mode=mode,
        started_at=start, ended_at=start + timedelta(minutes=minutes),
    )  # fmt: skip
    if outcome:
        SessionOutcome.objects.create(session=session, outcome=outcome, summary="-", recorded_by=agent)
    if stars:
        SurveyResponse.objects.create(session=session, stars=stars)
    return session


@pytest.fixture
def known(db, customer, agent, agent_l3):
    """agent (L2): 3 min resolved ★5, 7 min resolved ★3, 15 min follow-up; agent_l3: 25 min, no
    outcome, controlled, category sso; one network drop, one clean close; one session 40 days ago."""
    a = _session(customer, agent, 3, outcome="resolved", stars=5)
    _session(customer, agent, 7, outcome="resolved", stars=3)
    _session(customer, agent, 15, outcome="follow_up")
    d = _session(customer, agent_l3, 25, category="sso_authentication", mode="controlled")
    _session(customer, agent, 9, outcome="resolved", stars=1, days_ago=40)
    Disconnect.objects.create(session=a, code=1006, cause="network")
    Disconnect.objects.create(session=d, code=1000, cause="closed")
    return a


def test_every_figure_against_known_answers(known, agent):
    f = dashboard.build(Period.default(), dashboard.Filters())
    assert (f.total, f.avg_minutes) == (4, Decimal("12.5"))
    assert f.buckets == [("< 5 min", 1), ("5–10 min", 1), ("10–20 min", 1), ("> 20 min", 1)]  # noqa: RUF001
    assert (f.with_outcome, f.resolved, f.resolved_rate) == (3, 2, Decimal("66.7"))
    assert (f.csat, f.csat_answers) == (Decimal("4.00"), 2)
    assert (f.network_disconnects, f.disconnect_rate, f.disconnect_flag) == (1, Decimal("25.0"), True)
    modes = {row["key"]: row for row in f.modes}
    assert (modes["guided"]["sessions"], modes["guided"]["share"], modes["guided"]["resolution_rate"]) == (
        3, Decimal("75.0"), Decimal("66.7"),
    )  # fmt: skip
    assert modes["controlled"]["resolution_rate"] is None  # no recorded outcome: no rate, not 0 %
    categories = {row["key"]: row for row in f.categories}
    assert categories["billing"]["avg_minutes"] == Decimal("8.3")
    agents = {row["agent_id"]: row for row in f.agents}
    assert (agents[agent.pk]["sessions"], agents[agent.pk]["csat"]) == (3, Decimal("4.00"))
    assert f.active_agents == 2


def test_filters_and_the_period(known, agent, agent_l3):
    assert dashboard.build(Period.default(), dashboard.Filters(agent=agent_l3.pk)).total == 1
    assert dashboard.build(Period.default(), dashboard.Filters(category="billing")).total == 3
    assert dashboard.build(Period.default(), dashboard.Filters(mode="controlled")).total == 1
    today = timezone.localdate()
    older = Period(today - timedelta(days=60), today - timedelta(days=31))
    assert dashboard.build(older, dashboard.Filters()).total == 1
    with pytest.raises(ValueError):
        dashboard.Filters.parse({"mode": "telepathy"})
    with pytest.raises(ValueError):
        dashboard.Filters.parse({"agent": "x"})


def test_the_page_and_its_csv(known, manager):
    client = Client()
    client.force_login(manager)
    page = client.get("/manager/").content.decode()
    assert 'data-figure="sessions">4<' in page and 'data-testid="disconnect-flag"' in page
    response = client.get("/manager/", {"format": "csv", "table": "modes"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["label", "sessions", "share", "avg_minutes", "resolution_rate"]
    assert ["Guidance", "3", "75.0", "8.3", "66.7"] in rows
    summary = dict(
        csv.reader(
            io.StringIO(client.get("/manager/", {"format": "csv", "table": "summary"}).content.decode())
        )
    )
    assert summary["sessions"] == "4" and summary["resolved_rate"] == "66.7"
    assert client.get("/manager/", {"format": "csv", "table": "secrets"}).status_code == 400
    assert client.get("/manager/", {"mode": "telepathy"}).status_code == 400


def test_agents_see_their_own_figures_only(known, agent, agent_l3):
    client = Client()
    client.force_login(agent_l3)
    assert client.get("/manager/").status_code == 403
    page = client.get("/agent/performance/", {"agent": agent.pk}).content.decode()  # the filter is ignored
    assert 'data-figure="sessions">1<' in page
    csv_rows = client.get("/agent/performance/", {"format": "csv", "table": "agents"}).content.decode()
    assert agent.display_name not in csv_rows
    customer = Client()
    customer.force_login(make_user("shopper"))
    assert customer.get("/agent/performance/").status_code == 403


def test_customer_initiated_sessions_answer_the_customers_request(customer, agent, manager):
    """Starting a session on a ticket whose customer asked for a screen share answers that request."""
    from cobrowse.services.lifecycle import open_session
    from cobrowse.services.requests import request_screen_share

    asked, offered = make_ticket(customer, assignee=agent), make_ticket(customer, assignee=agent)
    request_screen_share(asked, customer=customer)
    first = open_session(asked, agent=agent, target_url="", kind="dom")
    second = open_session(offered, agent=agent, target_url="", kind="dom")
    asked.refresh_from_db()
    assert (first.initiated_by, second.initiated_by, asked.screen_share_requested_at) == (
        "customer",
        "agent",
        None,
    )
    CoBrowseSession.objects.filter(pk__in=[first.pk, second.pk]).update(
        state=SessionState.ENDED, started_at=timezone.now() - timedelta(hours=1), ended_at=timezone.now()
    )
    f = dashboard.build(Period.default(), dashboard.Filters())
    assert (f.total, f.agent_initiated, f.customer_initiated) == (2, 1, 1)
    client = Client()
    client.force_login(manager)
    page = client.get("/manager/").content.decode()
    assert 'data-figure="customer_initiated">1<' in page
