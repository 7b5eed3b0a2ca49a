"""The queue's counters: tickets per (status, assignee), kept exact in the writer's transaction.

The queue's navigation (active, mine, unassigned) used to count the tickets table on every page;
at a million tickets that is the slowest part of the page. ``QueueCount`` holds one row per
(status, assignee) instead, and every writer of a ticket's status or assignee moves one ticket from
its old key to its new one here, with ``F()`` updates in its own transaction: a rolled back change
leaves the counters as they were, and two desks never overwrite each other's figures.

- ``tickets.services`` calls :func:`moved` after each change (creation, status, assignment,
  escalation that unassigns, a reply that reopens); several changes in one service call are netted
  and written in key order (:func:`batch`), so two transactions never wait on each other's rows
  in opposite orders.
- Deleting a user folds their rows into the unassigned ones (the ticket's ``SET_NULL``), deleting a
  ticket takes it out; both are receivers, connected in ``TicketsConfig.ready``.
- Bulk writers that bypass the services (the demo's history, an import, a ``QuerySet.update``) call
  :func:`rebuild`, also run by ``manage.py rebuild_desk_indexes``.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F

from tickets.models import ACTIVE_STATUSES, QueueCount, Ticket

#: (status, assignee id or 0 for unassigned)
Key = tuple[str, int]

UNASSIGNED = 0


def key_of(ticket: Ticket) -> Key:
    """Where ``ticket`` is counted now."""
    return (ticket.status, ticket.assignee_id or UNASSIGNED)


class _Batches(threading.local):
    """The changes of the service calls in progress on this thread, innermost last."""

    def __init__(self) -> None:
        self.stack: list[Counter[Key]] = []


_batches = _Batches()


@contextmanager
def batch() -> Iterator[None]:
    """Collect the counter changes of a block and write them, netted and in key order, when it ends.

    Use it inside the block's transaction. A batch inside another joins it (written when the
    outer one ends); a block that raises drops its own changes, as its savepoint drops its writes.
    """
    _batches.stack.append(Counter())
    try:
        yield
    except BaseException:
        _batches.stack.pop()
        raise
    changes = _batches.stack.pop()
    if _batches.stack:
        _batches.stack[-1].update(changes)
    else:
        _apply(changes)


def moved(before: Key | None, after: Key | None) -> None:
    """One ticket left ``before`` (None: it is new) for ``after`` (None: it is gone)."""
    if before == after:
        return
    changes: Counter[Key] = Counter()
    if before is not None:
        changes[before] -= 1
    if after is not None:
        changes[after] += 1
    _record(changes)


def _record(changes: Counter[Key]) -> None:
    if _batches.stack:
        _batches.stack[-1].update(changes)
    else:
        _apply(changes)


def _apply(changes: Counter[Key]) -> None:
    for (status, assignee_key), delta in sorted(changes.items()):
        if delta:
            _add(status, assignee_key, delta)


def _add(status: str, assignee_key: int, delta: int) -> None:
    """``F()`` update of one row, created on first use. Two transactions creating the same row: the
    second one's insert waits for the first to commit, fails on the unique key inside its own
    savepoint, and updates the row the first one made."""
    row = QueueCount.objects.filter(status=status, assignee_key=assignee_key)
    if row.update(tickets=F("tickets") + delta):
        return
    try:
        with transaction.atomic():
            QueueCount.objects.create(status=status, assignee_key=assignee_key, tickets=delta)
    except IntegrityError:
        row.update(tickets=F("tickets") + delta)


def active_counts(assignee_id: int) -> dict[str, int]:
    """The queue's navigation: active tickets, those of ``assignee_id``, and the unassigned ones."""
    figures = {"active": 0, "mine": 0, "unassigned": 0}
    rows = QueueCount.objects.filter(status__in=ACTIVE_STATUSES).values_list("assignee_key", "tickets")
    for assignee_key, tickets in rows:
        figures["active"] += tickets
        if assignee_key == assignee_id:
            figures["mine"] += tickets
        if assignee_key == UNASSIGNED:
            figures["unassigned"] += tickets
    return figures


# --- from scratch ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RebuildResult:
    tickets: int
    rows: int
    corrected: dict[Key, tuple[int, int]]  # key: (what the counter said, what the table says)

    def __str__(self) -> str:
        fixed = ", ".join(
            f"{status}/{key or 'unassigned'} {was}→{now}"
            for (status, key), (was, now) in sorted(self.corrected.items())
        )
        return f"{self.tickets} tickets in {self.rows} counters; " + (
            f"corrected {len(self.corrected)}: {fixed}" if self.corrected else "all were exact"
        )


def tally() -> dict[Key, int]:
    """Tickets per key, counted from the tickets table (one grouped scan)."""
    rows = Ticket.objects.values_list("status", "assignee_id").annotate(n=Count("id")).order_by()
    result: dict[Key, int] = {}
    for status, assignee_id, n in rows:
        key = (status, assignee_id or UNASSIGNED)
        result[key] = result.get(key, 0) + n
    return result


def stored() -> dict[Key, int]:
    """The counters as they are, without the empty ones."""
    rows = QueueCount.objects.exclude(tickets=0).values_list("status", "assignee_key", "tickets")
    return {(status, key): n for status, key, n in rows}


@transaction.atomic
def rebuild() -> RebuildResult:
    """Recompute every counter from the tickets table and correct those that differ.

    On PostgreSQL the counters are locked first (writers wait, readers do not): a writer that
    already moved a counter has committed by then and is in the count; one that has not waits and
    moves the rebuilt figure afterwards. SQLite has one writer at a time anyway.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {QueueCount._meta.db_table} IN EXCLUSIVE MODE")
    truth = tally()
    current = {
        (status, key): n
        for status, key, n in QueueCount.objects.values_list("status", "assignee_key", "tickets")
    }
    corrected: dict[Key, tuple[int, int]] = {}
    for key in sorted(set(truth) | set(current)):
        was, now = current.get(key), truth.get(key, 0)
        if was == now:
            continue
        if was is None:
            QueueCount.objects.create(status=key[0], assignee_key=key[1], tickets=now)
        elif now == 0:
            QueueCount.objects.filter(status=key[0], assignee_key=key[1]).delete()
        else:
            QueueCount.objects.filter(status=key[0], assignee_key=key[1]).update(tickets=now)
        corrected[key] = (was or 0, now)
    return RebuildResult(tickets=sum(truth.values()), rows=len(truth), corrected=corrected)


# --- writes that bypass the services ---------------------------------------------------------


def assignee_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    """``pre_delete`` of a user: their tickets become unassigned (``SET_NULL``), in the same
    transaction, so their counters move to the unassigned ones."""
    rows = list(QueueCount.objects.filter(assignee_key=instance.pk).exclude(tickets=0))
    changes: Counter[Key] = Counter()
    for row in rows:
        changes[(row.status, row.assignee_key)] -= row.tickets
        changes[(row.status, UNASSIGNED)] += row.tickets
    _record(changes)


def ticket_deleted(sender: Any, instance: Ticket, **kwargs: Any) -> None:
    """``post_delete`` of a ticket (the admin may delete one): it leaves its counter."""
    moved(key_of(instance), None)
