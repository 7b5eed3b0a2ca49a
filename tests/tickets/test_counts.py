"""The queue's counters (tickets.counts): exact through every change of status and assignee, read by
the queue instead of counting the tickets table, and recomputed by ``rebuild_desk_indexes``."""

from __future__ import annotations

import contextlib
import threading
import time
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from tests.factories import make_ticket, make_user
from tickets import counts, selectors, services
from tickets.models import QueueCount, Status, Team, Ticket

pytestmark = pytest.mark.django_db


def _fresh(user) -> dict[str, int]:
    """The navigation's figures counted from the tickets, as the queue used to."""
    active = Ticket.objects.exclude(status__in=[Status.RESOLVED, Status.CLOSED])
    return {
        "active": active.count(),
        "mine": active.filter(assignee=user).count(),
        "unassigned": active.filter(assignee__isnull=True).count(),
    }


def _assert_exact(*users) -> None:
    """Every counter equals a fresh count of its (status, assignee), none is negative, and the
    queue's figures agree for each user."""
    rows = Ticket.objects.values_list("status", "assignee_id").annotate(n=Count("id")).order_by()
    expected = {(status, assignee or 0): n for status, assignee, n in rows}
    kept = QueueCount.objects.exclude(tickets=0).values_list("status", "assignee_key", "tickets")
    assert {(status, key): n for status, key, n in kept} == expected
    assert not QueueCount.objects.filter(tickets__lt=0).exists()
    for user in users:
        assert selectors.queue_counts(user) == _fresh(user)


def _reload(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def test_new_tickets_are_counted_assigned_or_not(customer, agent, manager):
    make_ticket(customer)
    make_ticket(customer, created_by=agent, assignee=agent)
    make_ticket(customer, created_by=manager, assignee=manager)
    _assert_exact(agent, manager)
    assert selectors.queue_counts(agent) == {"active": 3, "mine": 1, "unassigned": 1}


def test_every_status_change_moves_the_ticket(customer, agent):
    ticket = services.assign(make_ticket(customer), actor=agent, assignee=agent)
    for status in ("open", "pending", "open", "resolved", "open", "pending", "resolved", "closed"):
        ticket = services.change_status(ticket, actor=agent, status=status)
        _assert_exact(agent)
        done = status in ("resolved", "closed")
        assert selectors.queue_counts(agent) == {
            "active": 0 if done else 1,
            "mine": 0 if done else 1,
            "unassigned": 0,
        }


def test_assigning_reassigning_and_unassigning(customer, agent, agent_l3, manager):
    tickets = [make_ticket(customer) for _ in range(3)]
    services.assign(tickets[0], actor=manager, assignee=agent)
    services.assign(tickets[1], actor=manager, assignee=agent)
    _assert_exact(agent, agent_l3)
    services.assign(_reload(tickets[0]), actor=manager, assignee=agent_l3)
    _assert_exact(agent, agent_l3)
    services.assign(_reload(tickets[1]), actor=manager, assignee=None)
    services.assign(_reload(tickets[2]), actor=manager, assignee=None)  # already unassigned: no change
    _assert_exact(agent, agent_l3)
    assert selectors.queue_counts(agent_l3) == {"active": 3, "mine": 1, "unassigned": 2}


def test_escalation_that_unassigns_moves_the_ticket_to_unassigned(customer, agent_l1, agent):
    ticket = services.assign(make_ticket(customer), actor=agent_l1, assignee=agent_l1)
    kept = services.assign(make_ticket(customer), actor=agent, assignee=agent)
    billing = Team.objects.create(name="Billing")
    services.escalate(ticket, actor=agent_l1, level="L2", team=billing, reason="Card declined")
    services.escalate(kept, actor=agent, level="L2")  # an L2 assignee keeps it
    assert _reload(ticket).assignee_id is None and _reload(kept).assignee_id == agent.pk
    _assert_exact(agent_l1, agent)
    assert selectors.queue_counts(agent_l1) == {"active": 2, "mine": 0, "unassigned": 1}


def test_replies_that_move_the_status(customer, agent):
    ticket = services.assign(make_ticket(customer), actor=agent, assignee=agent)
    services.add_comment(ticket, author=agent, body="On it.")  # first staff reply: new -> open
    assert _reload(ticket).status == Status.OPEN
    _assert_exact(agent)
    services.change_status(_reload(ticket), actor=agent, status="resolved")
    _assert_exact(agent)
    services.add_comment(_reload(ticket), author=customer, body="Still broken.")  # reopens
    assert _reload(ticket).status == Status.OPEN
    services.add_comment(_reload(ticket), author=agent, body="Note", internal=True)
    _assert_exact(agent)


def test_several_changes_at_once_are_netted_into_one_write_per_counter(customer, agent):
    ticket = make_ticket(customer)
    with CaptureQueriesContext(connection) as queries:
        services.update_ticket(ticket, actor=agent, assignee=agent, priority="high", status="resolved")
    writes = [q["sql"] for q in queries if "tickets_queuecount" in q["sql"] and q["sql"].startswith("UPDATE")]
    # (new, unassigned) -1 and (resolved, agent) +1; the (new, agent) step in between nets to nothing.
    assert len(writes) == 2, writes
    _assert_exact(agent)


def test_a_refused_change_leaves_the_counters_as_they_were(customer, agent):
    closed = services.update_ticket(make_ticket(customer), actor=agent, assignee=agent, status="closed")
    _assert_exact(agent)
    with pytest.raises(services.InvalidTransition):  # unassigned first, then refused: all or nothing
        services.update_ticket(closed, actor=agent, assignee=None, status="open")
    assert _reload(closed).assignee_id == agent.pk
    with pytest.raises(ValidationError):
        services.update_ticket(make_ticket(customer), actor=agent, assignee=agent, status="bogus")
    _assert_exact(agent)
    assert selectors.queue_counts(agent) == {"active": 1, "mine": 0, "unassigned": 1}


def test_a_refused_batch_is_dropped_while_the_outer_one_keeps_its_own(customer, agent):
    first, second = make_ticket(customer), make_ticket(customer)
    with transaction.atomic(), counts.batch():
        services.assign(first, actor=agent, assignee=agent)
        with contextlib.suppress(ValidationError), transaction.atomic():
            services.update_ticket(second, actor=agent, assignee=agent, status="bogus")
    assert (_reload(first).assignee_id, _reload(second).assignee_id) == (agent.pk, None)
    _assert_exact(agent)
    assert selectors.queue_counts(agent) == {"active": 2, "mine": 1, "unassigned": 1}


def test_deleting_an_assignee_moves_their_tickets_to_unassigned(customer, agent, manager):
    leaving = make_user("leaving", role="agent", agent_level="L2")
    for _ in range(2):
        services.assign(make_ticket(customer), actor=manager, assignee=leaving)
    services.assign(make_ticket(customer), actor=manager, assignee=agent)
    leaving.delete()
    _assert_exact(agent)
    assert selectors.queue_counts(agent) == {"active": 3, "mine": 1, "unassigned": 2}


def test_deleting_a_ticket_takes_it_out(customer, agent):
    ticket = services.assign(make_ticket(customer), actor=agent, assignee=agent)
    make_ticket(customer)
    ticket.delete()
    _assert_exact(agent)
    assert selectors.queue_counts(agent) == {"active": 1, "mine": 0, "unassigned": 1}


def test_the_queue_reads_the_counters_not_the_tickets(client, customer, agent):
    services.assign(make_ticket(customer), actor=agent, assignee=agent)
    make_ticket(customer)
    client.force_login(agent)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/agent/")
    assert response.context["counts"] == {"active": 2, "mine": 1, "unassigned": 1}
    ticket_counts = [q["sql"] for q in queries if "COUNT(" in q["sql"] and '"tickets_ticket"' in q["sql"]]
    assert all("LIMIT" in sql for sql in ticket_counts), ticket_counts  # only the list's bounded count
    # A counter that says otherwise shows: the figures come from the counters.
    QueueCount.objects.filter(status=Status.NEW, assignee_key=0).update(tickets=7)
    assert client.get("/agent/").context["counts"] == {"active": 8, "mine": 1, "unassigned": 7}


def test_a_customer_gets_their_own_figures(customer, other_customer, agent):
    make_ticket(customer)
    make_ticket(other_customer)
    assert selectors.queue_counts(customer) == {"active": 1, "mine": 0, "unassigned": 1}


def test_rebuild_corrects_what_bypassed_the_services(customer, agent):
    tickets = [services.assign(make_ticket(customer), actor=agent, assignee=agent) for _ in range(3)]
    make_ticket(customer)
    Ticket.objects.filter(pk__in=[t.pk for t in tickets[:2]]).update(status=Status.CLOSED)
    QueueCount.objects.create(status=Status.PENDING, assignee_key=999_999, tickets=5)  # a stray row
    assert selectors.queue_counts(agent) != _fresh(agent)
    result = counts.rebuild()
    _assert_exact(agent)
    assert result.tickets == 4
    assert result.corrected == {
        (Status.NEW, agent.pk): (3, 1),
        (Status.CLOSED, agent.pk): (0, 2),
        (Status.PENDING, 999_999): (5, 0),
    }
    again = counts.rebuild()
    assert again.corrected == {} and "all were exact" in str(again)


def test_the_command_runs_its_steps_and_says_what_each_did(customer, agent):
    make_ticket(customer)
    QueueCount.objects.all().delete()
    out = StringIO()
    call_command("rebuild_desk_indexes", stdout=out)
    text = out.getvalue()
    assert "queue counts: 1 tickets in 1 counters; corrected 1: new/unassigned 0→1" in text
    assert "statistics: analyzed tickets_ticket" in text and "ms)" in text
    _assert_exact(agent)
    out = StringIO()
    call_command("rebuild_desk_indexes", "--step", "queue counts", stdout=out)
    assert "all were exact" in out.getvalue() and "statistics" not in out.getvalue()


def test_the_demo_history_leaves_exact_counters(agent):
    call_command("seed_demo", "--history", "3", stdout=StringIO())
    assert Ticket.objects.filter(description__startswith="[seeded history]").exists()
    _assert_exact(agent)


# --- at the same time (PostgreSQL: SQLite has one writer at a time) ----------------------------


def _waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
def test_two_transactions_creating_the_same_counter_both_count():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and the unique key race are PostgreSQL's")
    inserted, release, errors = threading.Event(), threading.Event(), []

    def first() -> None:
        try:
            with transaction.atomic():
                counts.moved(None, (Status.PENDING, 4242))  # inserts the row, not committed yet
                inserted.set()
                release.wait(10)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    def second() -> None:
        try:
            inserted.wait(10)
            with transaction.atomic():
                counts.moved(None, (Status.PENDING, 4242))  # sees no row; its insert waits on the key
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    waited = False
    for _ in range(200):
        if _waiting_on_a_lock():
            waited = True
            break
        time.sleep(0.02)
    release.set()
    for thread in threads:
        thread.join(15)
    assert not errors
    assert waited, "the second insert never waited on the first one's key"
    assert QueueCount.objects.get(status=Status.PENDING, assignee_key=4242).tickets == 2


@pytest.mark.django_db(transaction=True)
def test_desks_changing_tickets_at_once_keep_exact_counters(customer, agent, agent_l3):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers are PostgreSQL's")
    tickets = [make_ticket(customer) for _ in range(12)]
    errors: list[Exception] = []
    start = threading.Barrier(3)

    def work(mine: list[Ticket], me, other) -> None:
        try:
            start.wait(10)
            for ticket in mine:
                services.update_ticket(ticket, actor=me, assignee=me, status="open")
                services.assign(_reload(ticket), actor=me, assignee=other)
                services.change_status(_reload(ticket), actor=me, status="resolved")
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=work, args=(tickets[0::3], agent, agent_l3)),
        threading.Thread(target=work, args=(tickets[1::3], agent_l3, agent)),
        threading.Thread(target=work, args=(tickets[2::3], agent, None)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    _assert_exact(agent, agent_l3)
    assert selectors.queue_counts(agent)["active"] == 0
