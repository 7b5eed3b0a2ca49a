"""The queue page and the ticket API agree on filters: same values accepted, same tickets found,
same values refused (``tickets.forms.TicketFilterForm`` defines them once)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import make_ticket
from tickets import services
from tickets.models import Status, Team

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(customer, other_customer, agent, manager):
    """A handful of tickets, each filter matching some and not others."""
    payments = Team.objects.create(name="Payments")
    printer = make_ticket(customer, subject="Printer on fire", priority="urgent", category="billing")
    make_ticket(customer, subject="SSO loop", category="sso_authentication", assignee=agent)
    report = make_ticket(other_customer, subject="Report totals wrong", assignee=manager)
    services.change_status(report, actor=manager, status=Status.RESOLVED)
    closed = make_ticket(other_customer, subject="Closed one", priority="low")
    services.change_status(closed, actor=manager, status=Status.CLOSED)
    waiting = make_ticket(customer, subject="Waiting on customer", assignee=agent)
    services.change_status(waiting, actor=agent, status=Status.PENDING)
    escalated = make_ticket(other_customer, subject="Card declined", priority="high", category="billing")
    services.escalate(escalated, actor=agent, level="L2", team=payments, reason="Payments")
    deep = make_ticket(customer, subject="Integration broken", category="integration_setup")
    services.escalate(deep, actor=agent, level="L3", team=None, reason="Needs a developer")
    opened = make_ticket(customer, subject="Opened by staff reply", assignee=manager)
    services.change_status(opened, actor=manager, status=Status.OPEN)
    return {"team": payments, "printer": printer, "report": report}


def _page_numbers(client, params: dict[str, str]) -> tuple[int, set[int]]:
    response = client.get(reverse("tickets:queue"), params)
    numbers = {int(n) for n in re.findall(r'href="/agent/tickets/(\d+)/"', response.content.decode())}
    return response.status_code, numbers


def _api_numbers(client, params: dict[str, str]) -> tuple[int, set[int]]:
    response = client.get("/api/tickets/", {**params, "page_size": 100})
    if response.status_code != 200:
        return response.status_code, set()
    return 200, {t["number"] for t in response.json()["results"]}


def _cases(desk) -> list[dict[str, str]]:
    cases: list[dict[str, str]] = [{"status": value} for value in ("", "active", *Status.values)]
    cases += [{"status": "", "priority": value} for value in ("urgent", "high", "normal", "low")]
    cases += [{"status": "", "category": value} for value in ("billing", "sso_authentication", "other")]
    cases += [{"status": "", "level": value} for value in ("L1", "L2", "L3")]
    cases += [{"status": "", "team": str(desk["team"].pk)}]
    cases += [{"status": "", flag: value} for flag in ("mine", "unassigned") for value in ("on", "true", "1")]
    cases += [{"status": "", "mine": value} for value in ("false", "0", "off", "")]
    cases += [
        {"status": "active", "unassigned": "on"},
        {"status": "", "category": "billing", "level": "L2"},
        {"status": "", "q": "printer"},
        {"status": "", "q": desk["report"].reference},
        {"status": "", "q": str(desk["printer"].number)},
        {"status": "", "q": "customer2"},  # requester name: staff only
        {"status": "", "q": ""},
    ]
    return cases


@pytest.mark.parametrize("role", ["agent", "manager"])
def test_each_filter_finds_the_same_tickets_on_the_page_and_through_the_api(request, client, desk, role):
    user = request.getfixturevalue(role)
    client.force_login(user)
    api = APIClient()
    api.force_login(user)
    found_something = 0
    for params in _cases(desk):
        api_params = {("search" if name == "q" else name): value for name, value in params.items()}
        page_status, on_page = _page_numbers(client, params)
        api_status, through_api = _api_numbers(api, api_params)
        assert (page_status, api_status) == (200, 200), params
        assert on_page == through_api, params
        found_something += bool(on_page)
    assert found_something > 20  # the cases are not all empty lists agreeing on nothing


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("status", "bogus"),
        ("priority", "whenever"),
        ("category", "nope"),
        ("level", "L9"),
        ("team", "999999"),
        ("team", "payments"),
        ("mine", "perhaps"),
        ("unassigned", "2"),
        ("q", "x" * 201),
        ("q", "a\x00b"),
    ],
)
def test_the_page_and_the_api_refuse_the_same_values(client, agent, desk, name, value):
    client.force_login(agent)
    api = APIClient()
    api.force_login(agent)
    page = client.get(reverse("tickets:queue"), {name: value})
    assert page.status_code == 400
    assert 'class="form-errors"' in page.content.decode()
    api_name = "search" if name == "q" else name
    response = api.get("/api/tickets/", {api_name: value})
    assert response.status_code == 400
    assert api_name in response.json()


def test_a_ticked_box_stays_ticked_and_a_false_one_does_not(client, agent, desk):
    client.force_login(agent)
    html = client.get(reverse("tickets:queue"), {"mine": "on", "unassigned": "false"}).content.decode()
    assert re.search(r'<input type="checkbox" name="mine"[^>]*checked', html)
    assert not re.search(r'<input type="checkbox" name="unassigned"[^>]*checked', html)


@pytest.mark.parametrize("value", ["false", "0", "off", "no", ""])
def test_a_false_flag_filters_nothing(client, agent, desk, value):
    """Django's checkbox reads any text but "false" as ticked; the filter form does not."""
    client.force_login(agent)
    assert _page_numbers(client, {"status": "", "mine": value}) == _page_numbers(client, {"status": ""})
