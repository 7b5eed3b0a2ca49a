"""First-contact resolution and follow-up messages with co-browse and without, against hand-built
tickets with known answers; the dashboard shows both and its CSV carries them."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from analytics import contact, dashboard, rollup
from analytics.periods import Period
from cobrowse.models import CoBrowseSession, SessionState
from tests.factories import make_ticket
from tickets.models import Status, Ticket, TicketComment

NOW = timezone.now()


def _comment(ticket: Ticket, author, at: datetime, *, internal: bool = False) -> None:
    c = TicketComment.objects.create(ticket=ticket, author=author, body="…", is_internal=internal)
    TicketComment.objects.filter(pk=c.pk).update(created_at=at)


def _resolved(customer, *, days_ago: float = 1, category: str = "billing", assignee=None) -> Ticket:
    ticket = make_ticket(customer, category=category)
    Ticket.objects.filter(pk=ticket.pk).update(
        status=Status.RESOLVED, resolved_at=NOW - timedelta(days=days_ago), assignee=assignee
    )
    ticket.refresh_from_db()
    return ticket


def _shared(ticket: Ticket, agent, ended: datetime, *, mode: str = "guided") -> None:
    CoBrowseSession.objects.create(
        ticket=ticket, agent=agent, customer=ticket.requester, state=SessionState.ENDED, mode=mode,
        started_at=ended - timedelta(minutes=8), ended_at=ended,
    )  # fmt: skip


@pytest.fixture
def tickets(db, customer, agent, manager):
    t0 = NOW - timedelta(days=3)
    # With co-browse: A resolved in the session (the customer wrote before it, never after); B needed
    # two more messages after it; C's session was never shared (counts as "without").
    a = _resolved(customer, assignee=agent)
    _comment(a, customer, t0)
    _shared(a, agent, t0 + timedelta(hours=1))
    _comment(a, agent, t0 + timedelta(hours=2))  # a reply after the session is not a follow-up
    b = _resolved(customer, assignee=agent, category="sso_authentication")
    _shared(b, agent, t0 + timedelta(hours=1), mode="controlled")
    _comment(b, customer, t0 + timedelta(hours=3))
    _comment(b, customer, t0 + timedelta(hours=4))
    _comment(b, agent, t0 + timedelta(hours=5), internal=True)
    # Without: C one follow-up after the first reply; D none; E no contact at all (left out).
    c = _resolved(customer, assignee=agent)
    CoBrowseSession.objects.create(ticket=c, agent=agent, customer=customer, state=SessionState.DENIED)
    _comment(c, customer, t0)
    _comment(c, manager, t0 + timedelta(hours=1))
    _comment(c, customer, t0 + timedelta(hours=2))
    d = _resolved(customer)
    _comment(d, agent, t0 + timedelta(hours=1))
    _comment(d, agent, t0 + timedelta(hours=2), internal=True)
    _resolved(customer)  # E
    old = _resolved(customer, days_ago=45)  # outside the period
    _comment(old, agent, NOW - timedelta(days=46))
    rollup.rebuild()  # the fixture writes with QuerySet.update, as a bulk import would
    return a, b, c, d


def test_known_answers(tickets, agent):
    result = contact.compare(Period.default(), dashboard.Filters())
    w, wo = result.with_cobrowse, result.without
    assert (w.tickets, w.first_contact, w.follow_ups) == (2, 1, 2)
    assert (w.fcr_rate, w.follow_ups_per_ticket) == (Decimal("50.0"), Decimal("1.00"))
    assert (wo.tickets, wo.first_contact, wo.follow_ups) == (2, 1, 1)
    assert (wo.fcr_rate, wo.follow_ups_per_ticket) == (Decimal("50.0"), Decimal("0.50"))


def test_filters(tickets, agent):
    by_mode = contact.compare(Period.default(), dashboard.Filters(mode="controlled"))
    assert (by_mode.with_cobrowse.tickets, by_mode.with_cobrowse.first_contact) == (1, 0)
    by_category = contact.compare(Period.default(), dashboard.Filters(category="billing"))
    assert (by_category.with_cobrowse.tickets, by_category.without.tickets) == (1, 2)
    by_agent = contact.compare(Period.default(), dashboard.Filters(agent=agent.pk))
    assert (by_agent.with_cobrowse.tickets, by_agent.without.tickets) == (2, 1)  # D is unassigned
    empty = contact.compare(Period.parse({"from": "2020-01-01", "to": "2020-01-31"}), dashboard.Filters())
    assert empty.with_cobrowse.fcr_rate is None and empty.without.follow_ups_per_ticket is None


def test_on_the_dashboard_and_in_its_csv(tickets, manager):
    client = Client()
    client.force_login(manager)
    page = client.get("/manager/").content.decode()
    assert 'data-figure="fcr_with">50.0 %<' in page and 'data-figure="follow_ups_without">0.50<' in page
    body = client.get("/manager/?format=csv&table=contact").content.decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][0] == "side" and rows[1][:3] == ["with_cobrowse", "2", "1"] and rows[2][1] == "2"


def test_csat_with_co_browse_and_without(tickets, customer, agent):
    from outcomes.models import SurveyResponse
    from tickets.models import SatisfactionAnswer

    a, b, c, d = tickets
    SurveyResponse.objects.create(session=a.cobrowse_sessions.get(), stars=5)
    SurveyResponse.objects.create(session=b.cobrowse_sessions.get(), stars=4)
    SatisfactionAnswer.objects.create(ticket=c, stars=2)
    result = contact.compare(Period.default(), dashboard.Filters())
    assert (result.with_cobrowse.csat, result.with_cobrowse.csat_answers) == (Decimal("4.50"), 2)
    assert (result.without.csat, result.without.csat_answers) == (Decimal("2.00"), 1)
    assert contact.compare(Period.default(), dashboard.Filters(mode="guided")).with_cobrowse.csat == Decimal(
        "5.00"
    )


def test_no_follow_ups_shows_zero_not_a_dash(db, customer, agent, manager):
    ticket = _resolved(customer, assignee=agent)
    _shared(ticket, agent, NOW - timedelta(days=2))
    rollup.rebuild()
    client = Client()
    client.force_login(manager)
    page = client.get("/manager/").content.decode()
    assert 'data-figure="follow_ups_with">0.00<' in page and 'data-figure="fcr_with">100.0 %<' in page
