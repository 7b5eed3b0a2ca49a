"""Which tickets a user may see and reply to: the queryset and the object check of one rule.

The list pages filter with :func:`visible_tickets` and the detail checks ask :func:`can_view_ticket`;
both say the same thing (support staff see the queue, customers their own requests) so that list
and detail never disagree. The roles themselves are answered by ``accounts.permissions``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts import permissions
from tickets.models import Ticket


def visible_tickets(user: Any, qs: QuerySet | None = None) -> QuerySet:
    """Tickets the user may see: support staff see the queue, customers their own requests."""
    qs = Ticket.objects.all() if qs is None else qs
    if permissions.is_support_staff(user):
        return qs
    if permissions.is_customer(user):
        return qs.filter(requester=user)
    return qs.none()


def can_view_ticket(user: Any, ticket: Ticket) -> bool:
    if permissions.is_support_staff(user):
        return True
    return permissions.is_customer(user) and ticket.requester_id == user.pk


def can_reply_to_ticket(user: Any, ticket: Ticket) -> bool:
    return can_view_ticket(user, ticket)
