"""Ticket reads, always scoped by ``tickets.permissions``."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from accounts import permissions
from accounts.models import User
from tickets import counts
from tickets import search as search_tickets
from tickets.models import Ticket, TicketComment, TicketEvent
from tickets.permissions import visible_tickets


def ticket_queryset(user: User) -> QuerySet[Ticket]:
    return visible_tickets(user).select_related("requester", "assignee", "account", "team")


def filter_tickets(
    user: User,
    *,
    mine: bool = False,
    unassigned: bool = False,
    status: str | None = None,
    priority: str | None = None,
    category: str | None = None,
    search: str | None = None,
    level: str | None = None,
    team: int | None = None,
) -> QuerySet[Ticket]:
    qs = ticket_queryset(user)
    if level:
        qs = qs.filter(escalation_level=level)
    if team:
        qs = qs.filter(team_id=team)
    if mine:
        qs = qs.filter(assignee=user)
    if unassigned:
        qs = qs.filter(assignee__isnull=True)
    if status == "active":
        qs = qs.exclude(status__in=["resolved", "closed"])
    elif status:
        qs = qs.filter(status=status)
    if priority:
        qs = qs.filter(priority=priority)
    if category:
        qs = qs.filter(category=category)
    if search:
        qs = search_tickets.filter_search(qs, user, search)
    return qs


def queue_counts(user: User) -> dict[str, int]:
    """The queue's navigation figures (active, mine, unassigned): read from the counters that the
    services keep (``tickets.counts``), not counted from the tickets table on every page."""
    if permissions.is_support_staff(user):
        return counts.active_counts(user.pk)
    active = filter_tickets(user, status="active")  # not a queue reader: their own tickets, if any
    return {
        "active": active.count(),
        "mine": active.filter(assignee=user).count(),
        "unassigned": active.filter(assignee__isnull=True).count(),
    }


def best_matches(user: User, filters: dict[str, Any], limit: int = 5) -> list[Ticket]:
    """The best matches of the search in ``filters`` among the tickets the other filters select,
    ranked (``tickets.search.best_matches``); empty without a search."""
    term = filters.get("search")
    if not term:
        return []
    others = filter_tickets(user, **{**filters, "search": None})
    return search_tickets.best_matches(others, user, term, limit)


def get_ticket_by_number(user: User, number: int | str) -> Ticket:
    """Raises ``Ticket.DoesNotExist`` for tickets the user may not see (a 404, never a 403)."""
    number = str(number).upper().removeprefix("T-")
    if not number.isdecimal():
        raise Ticket.DoesNotExist
    return ticket_queryset(user).get(number=int(number))


def ticket_or_404(user: User, number: int | str) -> Ticket:
    """The ticket for a page or an API call: one the user may not see is a 404 like one that does
    not exist, so a number never tells whether it exists."""
    try:
        return get_ticket_by_number(user, number)
    except Ticket.DoesNotExist:
        raise Http404("No such ticket.") from None


def visible_comments(user: User, ticket: Ticket) -> QuerySet[TicketComment]:
    qs = ticket.comments.select_related("author")
    if not permissions.can_see_internal_notes(user):
        qs = qs.filter(is_internal=False)
    return qs


def visible_events(user: User, ticket: Ticket) -> QuerySet[TicketEvent]:
    qs = ticket.events.select_related("actor")
    if not permissions.is_support_staff(user):
        qs = qs.filter(internal=False)
    return qs
