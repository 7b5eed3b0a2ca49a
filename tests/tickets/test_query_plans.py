"""Every list, page and count of the desk has an index to use (PostgreSQL).

Each page is requested through the test client as its users request it, the SQL it runs is
captured, and each query on a tickets table is explained with sequential scans priced out
(``SET LOCAL enable_seqscan = off``): a query still planned as a ``Seq Scan`` on a tickets table has
no index it can use, and at a million tickets it reads them all. The lists that show a page in an
order (queue, portal, API, the ticket page's other tickets) must also have an index that walks that
order, with sorts priced out too (``enable_sort = off``): a ``Sort`` left in the plan would sort
every matching ticket to show 25. The queries follow the code, not a copy of it.

Searches (``q=`` / ``search=``) are checked separately: they find tickets through the search
vectors' GIN indexes and the number, then page the matches like any list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import make_ticket
from tickets import services
from tickets.models import Team, Ticket

pytestmark = pytest.mark.django_db

TICKETS_TABLE = re.compile(r'"(tickets_(?:ticket|ticketcomment|ticketevent|queuecount))"')


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("query plans are PostgreSQL's")


@dataclass
class Desk:
    agent: object
    customer: object
    ticket: Ticket
    team: Team


@pytest.fixture
def desk(customer, other_customer, agent, agent_l3) -> Desk:
    """A little of everything the lists filter on: statuses, assignees, levels, a team."""
    team = Team.objects.create(name="Billing")
    for n in range(6):
        ticket = make_ticket(customer if n % 2 else other_customer, subject=f"Ticket {n}", category="billing")
        if n % 3:
            ticket = services.assign(ticket, actor=agent, assignee=agent if n % 3 == 1 else agent_l3)
        services.add_comment(ticket, author=agent, body="Looking into it.")
        if n == 4:
            services.escalate(ticket, actor=agent, level="L3", team=team)
        if n >= 5:
            services.change_status(Ticket.objects.get(pk=ticket.pk), actor=agent, status="resolved")
    ticket = Ticket.objects.filter(requester=customer).order_by("number").first()
    return Desk(agent=agent, customer=customer, ticket=ticket, team=team)


#: The index each main list walks: an index that only filters them (the whole table's order, read
#: until a customer's 25 tickets turn up) would pass the checks above and still read it all.
WALKS = {
    "queue (active, the default)": "ticket_active_updated_idx",
    "queue, mine": "ticket_mine_active_idx",
    "queue, unassigned": "ticket_unassigned_active_idx",
    "queue, any status": "ticket_updated_idx",
    "agent ticket page": "ticket_requester_created_idx",  # other tickets from this requester
    "portal": "ticket_requester_updated_idx",
    "API list, staff": "ticket_created_idx",
    "API list, customer": "ticket_requester_created_idx",
}


def _pages(desk: Desk) -> list[tuple[str, object, str]]:
    """(what, who, address): each list, page and count the desk shows."""
    number, team = desk.ticket.number, desk.team.pk
    agent, customer = desk.agent, desk.customer
    return [
        ("queue (active, the default)", agent, "/agent/"),
        ("queue, any status", agent, "/agent/?status="),
        ("queue, status open", agent, "/agent/?status=open"),
        ("queue, status resolved", agent, "/agent/?status=resolved"),
        ("queue, mine", agent, "/agent/?status=active&mine=on"),
        ("queue, mine, any status", agent, "/agent/?status=&mine=on"),
        ("queue, unassigned", agent, "/agent/?status=active&unassigned=on"),
        ("queue, priority", agent, "/agent/?status=active&priority=high"),
        ("queue, category", agent, "/agent/?status=active&category=billing"),
        ("queue, level", agent, "/agent/?status=active&level=L3"),
        ("queue, team", agent, f"/agent/?status=active&team={team}"),
        ("queue, second page", agent, "/agent/?status=active&page=2"),
        ("agent ticket page", agent, f"/agent/tickets/{number}/"),
        ("portal", customer, "/portal/"),
        ("portal ticket page", customer, f"/portal/tickets/{number}/"),
        ("API list, staff", agent, "/api/tickets/"),
        ("API list, staff, active", agent, "/api/tickets/?status=active"),
        ("API list, staff, mine", agent, "/api/tickets/?status=active&mine=true"),
        ("API list, staff, unassigned", agent, "/api/tickets/?status=active&unassigned=true"),
        ("API list, customer", customer, "/api/tickets/"),
        ("API comments", customer, f"/api/tickets/{number}/comments/"),
        ("API events", agent, f"/api/tickets/{number}/events/"),
    ]


#: Indexes that only order the whole table. On a few rows, with statistics an earlier test left
#: behind (ANALYZE's row counts outlive a rolled-back transaction), the planner may walk one of them
#: and filter instead of using the list's own index; the check of a list's own index is made without
#: them (dropped inside the explain's savepoint, so they come back at once).
ORDER_ONLY = ("ticket_created_idx", "ticket_updated_idx")


def _explain(sql: str, *, sorts: bool = True, without: tuple[str, ...] = ()) -> str:
    """The plan with sequential scans (and, unless ``sorts``, sorts) priced out: what remains of
    them has no index to replace it."""
    with transaction.atomic(), connection.cursor() as cursor:
        for index in without:
            cursor.execute(f"DROP INDEX {index}")
        cursor.execute("SET LOCAL enable_seqscan = off")
        if not sorts:
            cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)  # and the setting with it
    return plan


def _queries(user, address: str) -> list[str]:
    client = Client()
    client.force_login(user)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(address)
    assert response.status_code == 200, (address, response.status_code)
    return [q["sql"] for q in captured if q["sql"].startswith("SELECT") and TICKETS_TABLE.search(q["sql"])]


def _walks_its_order(sql: str) -> bool:
    """A page of tickets in an order (``ORDER BY ... LIMIT``), as the lists show them."""
    return '"tickets_ticket"' in sql.split(" FROM ", 1)[1][:40] and " ORDER BY " in sql and " LIMIT " in sql


def test_no_desk_query_reads_a_whole_tickets_table(desk):
    failures, ordered_lists = [], 0
    for what, user, address in _pages(desk):
        queries = _queries(user, address)
        assert queries, f"{what} ({address}) ran no query on a tickets table"
        for sql in queries:
            ordered = _walks_its_order(sql)
            ordered_lists += ordered
            plan = _explain(sql, sorts=not ordered)
            scans = re.findall(r"Seq Scan on (tickets_\w+)", plan)
            if scans:
                failures.append(f"{what} ({address}): Seq Scan on {', '.join(scans)}\n  {sql}\n{plan}")
            elif ordered and re.search(r"\bSort\b", plan):
                failures.append(f"{what} ({address}): no index walks this order\n  {sql}\n{plan}")
            elif ordered and what in WALKS:
                others = tuple(index for index in ORDER_ONLY if index != WALKS[what])
                plan = _explain(sql, sorts=False, without=others)
                if f"using {WALKS[what]} on tickets_ticket" not in plan:
                    failures.append(f"{what} ({address}): does not walk {WALKS[what]}\n  {sql}\n{plan}")
    assert not failures, "\n\n".join(failures)
    assert ordered_lists >= 18  # the lists above, and the ticket page's other tickets


def test_the_queue_counts_read_the_counters_by_their_key(desk):
    plans = [_explain(sql) for sql in _queries(desk.agent, "/agent/") if "tickets_queuecount" in sql]
    assert len(plans) == 1
    assert "queue_count_one_row_per_key" in plans[0], plans[0]


def test_the_check_catches_a_list_without_an_index(desk):
    """The check itself: a filter and an order no index has are reported."""
    plan = _explain(
        "SELECT id FROM tickets_ticket WHERE subject = 'Ticket 1' ORDER BY first_response_at DESC LIMIT 25"
    )
    assert "Seq Scan on tickets_ticket" in plan, plan
    plan = _explain("SELECT id FROM tickets_ticket ORDER BY first_response_at DESC LIMIT 25", sorts=False)
    assert "Sort" in plan, plan


def test_searches_use_the_number_and_the_search_vectors(desk):
    """Every query a search runs (the bounded probe through the GIN indexes, the list, the best
    matches) finds its tickets by an index, whatever the word: subject, reply, beginning, number."""
    number = desk.ticket.number
    searches = [
        ("queue, subject word", desk.agent, "/agent/?status=&q=ticket"),
        ("queue, reply word", desk.agent, "/agent/?status=active&q=looking"),
        ("queue, beginning of a word", desk.agent, "/agent/?status=&q=tick"),
        ("queue, number", desk.agent, f"/agent/?status=&q=T-{number}"),
        ("API, staff", desk.agent, "/api/tickets/?search=looking"),
        ("API, customer", desk.customer, "/api/tickets/?search=ticket"),
    ]
    failures = []
    for what, user, address in searches:
        for sql in _queries(user, address):
            scans = re.findall(r"Seq Scan on (tickets_\w+)", _explain(sql))
            if scans:
                failures.append(f"{what} ({address}): Seq Scan on {', '.join(scans)}\n  {sql}")
    assert not failures, "\n\n".join(failures)
