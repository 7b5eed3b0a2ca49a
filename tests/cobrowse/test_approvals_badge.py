"""The Approvals link carries the number of Full Control requests waiting for a manager: one
COUNT query for a manager's page, none for anyone else, and the same rows the approvals page lists."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cobrowse import selectors, services
from tests.consent.helpers import consent
from tests.factories import make_ticket, make_user

pytestmark = pytest.mark.django_db

BADGE = re.compile(r'data-approvals-count[^>]*data-count="(\d+)"( hidden)?')


@pytest.fixture
def ticket(customer):
    return make_ticket(customer)


def _page(user, url: str | None = None):
    client = Client()
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url or reverse("tickets:queue"))
    assert response.status_code == 200
    counts = [q["sql"] for q in queries.captured_queries if "cobrowse_moderequest" in q["sql"]]
    return response.content.decode(), counts


def _full_control_waiting(ticket, agent):
    session, _ = consent(ticket, agent, mode="controlled")
    return session, services.request_mode(session, actor=agent, mode="full")


def test_a_manager_sees_the_number_waiting_next_to_approvals_in_one_query(ticket, agent, manager):
    _full_control_waiting(ticket, agent)
    html, queries = _page(manager)
    match = BADGE.search(html)
    assert match and match.group(1) == "1" and match.group(2) is None
    assert 'data-socket="/ws/manager/approvals/"' in html
    assert "dist/tandem-approvals-live.js" in html
    assert len(queries) == 1 and "COUNT(" in queries[0].upper()


def test_the_badge_is_hidden_when_nothing_waits(manager):
    html, queries = _page(manager)
    match = BADGE.search(html)
    assert match and match.group(1) == "0" and match.group(2) == " hidden"
    assert len(queries) == 1


def test_agents_get_no_badge_no_socket_and_no_query(ticket, agent, manager):
    _full_control_waiting(ticket, agent)
    html, queries = _page(agent)
    assert "data-approvals-count" not in html and "approvals-live" not in html
    assert queries == []


def test_the_count_is_what_the_approvals_page_lists(ticket, customer, agent, manager, other_customer):
    session, request = _full_control_waiting(ticket, agent)
    # Not counted: a request for Control (the customer's to answer), one a manager decided, and
    # one whose session ended.
    other, _ = consent(make_ticket(other_customer), agent, mode="guided")
    services.request_mode(other, actor=agent, mode="controlled")
    third, _ = consent(make_ticket(customer, subject="Another"), agent, mode="controlled")
    declined = services.request_mode(third, actor=agent, mode="full")
    services.decide_full_control(declined, manager=manager, approve=False)
    fourth, _ = consent(make_ticket(customer, subject="Third"), agent, mode="controlled")
    services.request_mode(fourth, actor=agent, mode="full")
    services.end_session(fourth, actor=agent)
    assert selectors.pending_full_control_count() == 1
    assert [r.pk for r in selectors.pending_full_control_requests()] == [request.pk]
    html, _ = _page(manager, reverse("cobrowse:approvals"))
    assert BADGE.search(html).group(1) == "1"
    assert html.count("data-request=") == 1


def test_the_count_drops_once_a_manager_decides(ticket, agent, manager):
    _session, request = _full_control_waiting(ticket, agent)
    approver = make_user("approver", role="manager")
    services.decide_full_control(request, manager=approver, approve=True)
    html, _ = _page(manager)
    assert BADGE.search(html).group(1) == "0"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan")
def test_the_count_uses_the_open_request_index(ticket, agent):
    _full_control_waiting(ticket, agent)
    from cobrowse.models import SHARING_STATES, ModeRequest, ModeRequestState

    qs = ModeRequest.objects.filter(state=ModeRequestState.PENDING_MANAGER, session__state__in=SHARING_STATES)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = qs.explain()
    assert "cobrowse_one_open_mode_request" in plan
