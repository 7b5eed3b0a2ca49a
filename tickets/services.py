"""Ticket workflows. Every write to a ticket goes through here.

Each change of a ticket's status or assignee also moves the ticket between the queue's counters
(``tickets.counts.moved``) in the same transaction.
"""

from __future__ import annotations

import enum
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from accounts import permissions
from accounts.models import Role, User
from tickets import counts, satisfaction
from tickets import permissions as ticket_permissions
from tickets.models import (
    STATUS_TRANSITIONS,
    EscalationLevel,
    EventKind,
    Status,
    Team,
    Ticket,
    TicketComment,
    TicketCounter,
    TicketEvent,
)


class InvalidTransition(ValidationError):
    """A status change that the workflow does not allow."""

    def __init__(self, current: str, requested: str):
        self.current, self.requested = current, requested
        super().__init__(
            f"Cannot change status from '{current}' to '{requested}'.", code="invalid_transition"
        )


def _take_numbers(count: int) -> range:
    """Hand out the next ``count`` ticket numbers; the counter row is locked until the transaction ends."""
    start = settings.TANDEM_TICKET_NUMBER_START - 1
    counter = TicketCounter.objects.select_for_update().filter(name="ticket").first()
    if counter is None:
        try:
            with transaction.atomic():
                TicketCounter.objects.create(name="ticket", last_number=start)
        except IntegrityError:
            pass  # another transaction created it first
        counter = TicketCounter.objects.select_for_update().get(name="ticket")
    first = counter.last_number + 1
    counter.last_number += count
    counter.save(update_fields=["last_number"])
    return range(first, first + count)


@transaction.atomic
def reserve_numbers(count: int) -> range:
    """Ticket numbers for a bulk import (demo history, a migration from another desk): one block
    from the same counter, so imported tickets never collide with tickets opened meanwhile."""
    return _take_numbers(count) if count > 0 else range(0)


def record_event(
    ticket: Ticket,
    kind: str,
    *,
    actor: User | None = None,
    data: dict[str, Any] | None = None,
    internal: bool = False,
) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket, kind=kind, actor=actor, data=data or {}, internal=internal
    )


@transaction.atomic
def create_ticket(
    *,
    requester: User,
    subject: str,
    description: str,
    created_by: User | None = None,
    category: str | None = None,
    priority: str | None = None,
    channel: str | None = None,
    assignee: User | None = None,
) -> Ticket:
    """Open a ticket for ``requester`` (a customer). Staff may open one on a customer's behalf."""
    created_by = created_by or requester
    if requester.role != Role.CUSTOMER:
        raise ValidationError({"requester": "The requester must be a customer."})
    if created_by.pk != requester.pk and not permissions.is_support_staff(created_by):
        raise PermissionDenied("Only support staff can open tickets for someone else.")
    if assignee is not None and not permissions.is_support_staff(assignee):
        raise ValidationError({"assignee": "Tickets can only be assigned to agents or managers."})
    ticket = Ticket(
        number=_take_numbers(1).start,
        subject=subject.strip(),
        description=description.strip(),
        requester=requester,
        account=requester.account,
        assignee=assignee,
    )
    if category:
        ticket.category = category
    if priority:
        ticket.priority = priority
    if channel:
        ticket.channel = channel
    ticket.full_clean()
    ticket.save()
    counts.moved(None, counts.key_of(ticket))
    record_event(ticket, EventKind.CREATED, actor=created_by, data={"channel": ticket.channel})
    if assignee is not None:
        record_event(ticket, EventKind.ASSIGNMENT, actor=created_by, data={"to": assignee.pk})
    return ticket


def _locked(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


@transaction.atomic
def change_status(ticket: Ticket, *, actor: User, status: str) -> Ticket:
    if not permissions.can_work_ticket(actor, ticket):
        raise PermissionDenied("Only support staff can change a ticket's status.")
    if status not in Status.values:
        raise ValidationError({"status": f"Unknown status '{status}'."})
    locked = _locked(ticket)
    if status == locked.status:
        return locked
    if status not in STATUS_TRANSITIONS[locked.status]:
        raise InvalidTransition(locked.status, status)
    previous, was_resolved = locked.status, locked.resolved_at is not None
    counted = counts.key_of(locked)
    now = timezone.now()
    locked.status = status
    if status == Status.RESOLVED:
        locked.resolved_at = now
    elif status == Status.CLOSED:
        locked.closed_at = now
        locked.resolved_at = locked.resolved_at or now
    elif status == Status.OPEN and previous == Status.RESOLVED:
        locked.resolved_at = None
    locked.save(update_fields=["status", "resolved_at", "closed_at", "updated_at"])
    counts.moved(counted, counts.key_of(locked))
    record_event(locked, EventKind.STATUS, actor=actor, data={"from": previous, "to": status})
    if locked.resolved_at is not None and not was_resolved:
        satisfaction.ask_after_resolution(locked)
    return locked


@transaction.atomic
def assign(ticket: Ticket, *, actor: User, assignee: User | None) -> Ticket:
    if not permissions.can_work_ticket(actor, ticket):
        raise PermissionDenied("Only support staff can assign tickets.")
    if assignee is not None and not permissions.is_support_staff(assignee):
        raise ValidationError({"assignee": "Tickets can only be assigned to agents or managers."})
    locked = _locked(ticket)
    if locked.assignee_id == (assignee.pk if assignee else None):
        return locked
    previous, counted = locked.assignee_id, counts.key_of(locked)
    locked.assignee = assignee
    locked.save(update_fields=["assignee", "updated_at"])
    counts.moved(counted, counts.key_of(locked))
    record_event(
        locked,
        EventKind.ASSIGNMENT,
        actor=actor,
        data={"from": previous, "to": assignee.pk if assignee else None},
    )
    return locked


@transaction.atomic
def _change_field(ticket: Ticket, *, actor: User, field: str, value: str, kind: str) -> Ticket:
    if not permissions.can_work_ticket(actor, ticket):
        raise PermissionDenied(f"Only support staff can change a ticket's {field}.")
    model_field = Ticket._meta.get_field(field)
    choices = model_field.flatchoices if isinstance(model_field, models.Field) else []
    if value not in {c[0] for c in choices}:
        raise ValidationError({field: f"Unknown {field} '{value}'."})
    locked = _locked(ticket)
    previous = getattr(locked, field)
    if previous == value:
        return locked
    setattr(locked, field, value)
    locked.save(update_fields=[field, "updated_at"])
    record_event(locked, kind, actor=actor, data={"from": previous, "to": value})
    return locked


def set_priority(ticket: Ticket, *, actor: User, priority: str) -> Ticket:
    return _change_field(ticket, actor=actor, field="priority", value=priority, kind=EventKind.PRIORITY)


def set_category(ticket: Ticket, *, actor: User, category: str) -> Ticket:
    return _change_field(ticket, actor=actor, field="category", value=category, kind=EventKind.CATEGORY)


class _Unset(enum.Enum):
    """``assignee`` left out, as opposed to ``None`` (unassign)."""

    UNSET = enum.auto()


_UNSET = _Unset.UNSET


@transaction.atomic
def update_ticket(
    ticket: Ticket,
    *,
    actor: User,
    status: str | None = None,
    priority: str | None = None,
    category: str | None = None,
    assignee: User | Literal[_Unset.UNSET] | None = _UNSET,
) -> Ticket:
    """Apply several changes at once, all or nothing (the counters too: netted, in one batch)."""
    with counts.batch():
        if assignee is not _UNSET:
            ticket = assign(ticket, actor=actor, assignee=assignee)
        if priority is not None:
            ticket = set_priority(ticket, actor=actor, priority=priority)
        if category is not None:
            ticket = set_category(ticket, actor=actor, category=category)
        if status is not None:
            ticket = change_status(ticket, actor=actor, status=status)
    return ticket


@transaction.atomic
def add_comment(ticket: Ticket, *, author: User, body: str, internal: bool = False) -> TicketComment:
    """Add a public reply or an internal note, and move the ticket along the workflow.

    - the first public reply by staff sets ``first_response_at`` and opens a new ticket;
    - a customer's reply reopens a pending or resolved ticket;
    - a closed ticket takes no more comments.
    """
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "A comment cannot be empty."})
    if not ticket_permissions.can_reply_to_ticket(author, ticket):
        raise PermissionDenied("You cannot comment on this ticket.")
    if internal and not permissions.can_see_internal_notes(author):
        raise PermissionDenied("Only support staff can write internal notes.")
    locked = _locked(ticket)
    if locked.status == Status.CLOSED:
        raise ValidationError({"body": "This ticket is closed; open a new ticket instead."})
    comment = TicketComment.objects.create(ticket=locked, author=author, body=body, is_internal=internal)
    record_event(
        locked,
        EventKind.NOTE if internal else EventKind.COMMENT,
        actor=author,
        data={"comment": comment.pk},
        internal=internal,
    )
    if internal:
        return comment
    now, counted = timezone.now(), counts.key_of(locked)
    if permissions.is_support_staff(author):
        changed = []
        if locked.first_response_at is None:
            locked.first_response_at = now
            changed.append("first_response_at")
        if locked.status == Status.NEW:
            locked.status = Status.OPEN
            changed.append("status")
            record_event(locked, EventKind.STATUS, actor=author, data={"from": "new", "to": "open"})
        if changed:
            locked.save(update_fields=[*changed, "updated_at"])
    elif locked.status in (Status.PENDING, Status.RESOLVED):
        previous = locked.status
        locked.status = Status.OPEN
        locked.resolved_at = None
        locked.save(update_fields=["status", "resolved_at", "updated_at"])
        record_event(locked, EventKind.STATUS, actor=author, data={"from": previous, "to": "open"})
    counts.moved(counted, counts.key_of(locked))
    return comment


_LEVEL_RANK: dict[str, int] = {EscalationLevel.L1: 1, EscalationLevel.L2: 2, EscalationLevel.L3: 3}


@transaction.atomic
def escalate(
    ticket: Ticket, *, actor: User, level: str, team: Team | None = None, reason: str = ""
) -> Ticket:
    """Move a ticket to another level's queue (and team), or back to the front line.

    The change is recorded (``escalation`` event: levels and team ids, never the reason's text;
    the reason becomes an internal note). When the assignee works below the new level, the ticket
    is unassigned so that it waits in that level's queue instead of staying with them.
    """
    if not permissions.can_work_ticket(actor, ticket):
        raise PermissionDenied("Only support staff can escalate tickets.")
    if level not in EscalationLevel.values:
        raise ValidationError({"level": f"Choose one of {', '.join(EscalationLevel.values)}."})
    locked = _locked(ticket)
    if locked.status == Status.CLOSED:
        raise ValidationError("This ticket is closed; open a new ticket instead.", code="ticket_closed")
    team_id = team.pk if team else None
    if locked.escalation_level == level and locked.team_id == team_id:
        raise ValidationError({"level": "The ticket is already at this level and team."})
    data = {"from": locked.escalation_level, "to": level, "from_team": locked.team_id, "to_team": team_id}
    counted = counts.key_of(locked)
    locked.escalation_level, locked.team = level, team
    changed = ["escalation_level", "team", "updated_at"]
    assignee = locked.assignee
    below = assignee is not None and _LEVEL_RANK.get(assignee.agent_level, 0) < _LEVEL_RANK[level]
    if assignee is not None and below and not permissions.is_manager(assignee):
        data["unassigned"] = assignee.pk
        locked.assignee = None
        changed.append("assignee")
    locked.save(update_fields=changed)
    counts.moved(counted, counts.key_of(locked))
    record_event(locked, EventKind.ESCALATION, actor=actor, data=data, internal=True)
    reason = (reason or "").strip()
    if reason:
        add_comment(locked, author=actor, body=reason, internal=True)
    return locked
