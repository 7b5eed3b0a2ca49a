"""Ticket workflows: the status table, timestamps, replies, and who may do what."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from tests.factories import make_ticket, make_user
from tickets import services
from tickets.models import STATUS_TRANSITIONS, EventKind, Status, Ticket, TicketComment, TicketEvent

ALL_PAIRS = list(itertools.product(Status.values, Status.values))
LEGAL = [(a, b) for a, b in ALL_PAIRS if b in STATUS_TRANSITIONS[a]]
ILLEGAL = [(a, b) for a, b in ALL_PAIRS if a != b and b not in STATUS_TRANSITIONS[a]]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Test users need a password, not a slow one."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def in_status(ticket: Ticket, status: str) -> Ticket:
    """Put a ticket in a state directly (bypassing the workflow) to test one step from it."""
    Ticket.objects.filter(pk=ticket.pk).update(status=status)
    ticket.refresh_from_db()
    return ticket


@pytest.fixture
def ticket(customer):
    return make_ticket(customer)


def test_the_table_covers_every_status():
    assert set(STATUS_TRANSITIONS) == set(Status.values)
    assert STATUS_TRANSITIONS[Status.CLOSED] == frozenset()
    assert len(LEGAL) + len(ILLEGAL) + len(Status.values) == len(ALL_PAIRS)


@pytest.mark.django_db
@pytest.mark.parametrize(("current", "requested"), LEGAL)
def test_legal_transitions(ticket, agent, current, requested):
    ticket = in_status(ticket, current)
    changed = services.change_status(ticket, actor=agent, status=requested)
    assert changed.status == requested
    assert Ticket.objects.get(pk=ticket.pk).status == requested
    event = ticket.events.get(kind=EventKind.STATUS)
    assert event.data == {"from": current, "to": requested}
    assert event.actor == agent and event.internal is False


@pytest.mark.django_db
@pytest.mark.parametrize(("current", "requested"), ILLEGAL)
def test_illegal_transitions(ticket, agent, current, requested):
    ticket = in_status(ticket, current)
    with pytest.raises(services.InvalidTransition) as caught:
        services.change_status(ticket, actor=agent, status=requested)
    assert (caught.value.current, caught.value.requested) == (current, requested)
    assert caught.value.code == "invalid_transition"
    assert f"'{current}' to '{requested}'" in caught.value.messages[0]
    assert Ticket.objects.get(pk=ticket.pk).status == current
    assert not ticket.events.filter(kind=EventKind.STATUS).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("status", Status.values)
def test_same_status_is_a_no_op(ticket, agent, status):
    ticket = in_status(ticket, status)
    assert services.change_status(ticket, actor=agent, status=status).status == status
    assert not ticket.events.filter(kind=EventKind.STATUS).exists()


@pytest.mark.django_db
def test_unknown_status(ticket, agent):
    with pytest.raises(ValidationError) as caught:
        services.change_status(ticket, actor=agent, status="archived")
    assert "status" in caught.value.message_dict


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["customer", "other_customer"])
def test_customers_cannot_change_status(request, ticket, role):
    with pytest.raises(PermissionDenied):
        services.change_status(ticket, actor=request.getfixturevalue(role), status=Status.CLOSED)
    assert Ticket.objects.get(pk=ticket.pk).status == Status.NEW


# --- timestamps -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_resolve_then_reopen_clears_resolved_at(ticket, agent):
    resolved = services.change_status(ticket, actor=agent, status=Status.RESOLVED)
    assert resolved.resolved_at is not None and resolved.closed_at is None
    reopened = services.change_status(ticket, actor=agent, status=Status.OPEN)
    assert reopened.resolved_at is None


@pytest.mark.django_db
def test_closing_keeps_the_resolution_time(ticket, agent):
    resolved = services.change_status(ticket, actor=agent, status=Status.RESOLVED)
    earlier = resolved.resolved_at - timedelta(hours=1)
    Ticket.objects.filter(pk=ticket.pk).update(resolved_at=earlier)
    closed = services.change_status(ticket, actor=agent, status=Status.CLOSED)
    assert closed.closed_at is not None
    assert closed.resolved_at == earlier


@pytest.mark.django_db
def test_closing_unresolved_ticket_sets_both(ticket, agent):
    closed = services.change_status(ticket, actor=agent, status=Status.CLOSED)
    assert closed.closed_at is not None
    assert closed.resolved_at == closed.closed_at


@pytest.mark.django_db
def test_first_response_is_the_first_public_staff_reply(ticket, customer, agent, manager):
    services.add_comment(ticket, author=customer, body="More details")
    services.add_comment(ticket, author=agent, body="private", internal=True)
    ticket.refresh_from_db()
    assert ticket.first_response_at is None and ticket.status == Status.NEW

    before = timezone.now()
    services.add_comment(ticket, author=agent, body="Hello!")
    ticket.refresh_from_db()
    first = ticket.first_response_at
    assert first is not None and first >= before
    assert ticket.status == Status.OPEN
    assert ticket.events.filter(kind=EventKind.STATUS, data={"from": "new", "to": "open"}).count() == 1

    services.add_comment(ticket, author=manager, body="Following up")
    ticket.refresh_from_db()
    assert ticket.first_response_at == first


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Status.PENDING, Status.RESOLVED])
def test_customer_reply_reopens(ticket, customer, agent, status):
    services.change_status(ticket, actor=agent, status=status)
    services.add_comment(ticket, author=customer, body="Still broken")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.resolved_at is None
    event = ticket.events.filter(kind=EventKind.STATUS).last()
    assert event.data == {"from": status, "to": "open"} and event.actor == customer


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Status.NEW, Status.OPEN])
def test_customer_reply_leaves_new_and_open_alone(ticket, customer, status):
    ticket = in_status(ticket, status)
    services.add_comment(ticket, author=customer, body="Any news?")
    assert Ticket.objects.get(pk=ticket.pk).status == status
    assert not ticket.events.filter(kind=EventKind.STATUS).exists()


@pytest.mark.django_db
def test_staff_reply_does_not_reopen_pending(ticket, agent):
    services.change_status(ticket, actor=agent, status=Status.PENDING)
    services.add_comment(ticket, author=agent, body="Waiting for your logs")
    assert Ticket.objects.get(pk=ticket.pk).status == Status.PENDING


# --- comments ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_closed_ticket_refuses_comments(ticket, customer, agent):
    services.change_status(ticket, actor=agent, status=Status.CLOSED)
    for author, internal in ((customer, False), (agent, False), (agent, True)):
        with pytest.raises(ValidationError):
            services.add_comment(ticket, author=author, body="hello", internal=internal)
    assert not TicketComment.objects.exists()


@pytest.mark.django_db
def test_comment_rules(ticket, customer, other_customer, agent):
    with pytest.raises(ValidationError):
        services.add_comment(ticket, author=customer, body="   ")
    with pytest.raises(PermissionDenied):
        services.add_comment(ticket, author=other_customer, body="hi")
    with pytest.raises(PermissionDenied):
        services.add_comment(ticket, author=customer, body="note", internal=True)
    assert not TicketComment.objects.exists()
    note = services.add_comment(ticket, author=agent, body="  note  ", internal=True)
    assert note.body == "note" and note.is_internal
    event = ticket.events.get(kind=EventKind.NOTE)
    assert event.internal is True and event.data == {"comment": note.pk}


# --- create and triage ------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_ticket_records_creation_and_assignment(customer, agent):
    ticket = services.create_ticket(
        requester=customer,
        created_by=agent,
        subject=" S ",
        description=" D ",
        assignee=agent,
        channel="phone",
    )
    assert (ticket.subject, ticket.description, ticket.account) == ("S", "D", customer.account)
    events = list(ticket.events.values_list("kind", "actor", "data"))
    assert events == [
        (EventKind.CREATED, agent.pk, {"channel": "phone"}),
        (EventKind.ASSIGNMENT, agent.pk, {"to": agent.pk}),
    ]


@pytest.mark.django_db
def test_create_ticket_rules(customer, other_customer, agent):
    with pytest.raises(ValidationError):
        services.create_ticket(requester=agent, subject="s", description="d")
    with pytest.raises(PermissionDenied):
        services.create_ticket(requester=other_customer, created_by=customer, subject="s", description="d")
    with pytest.raises(ValidationError):
        services.create_ticket(requester=customer, subject="s", description="d", assignee=other_customer)
    with pytest.raises(ValidationError):
        services.create_ticket(requester=customer, subject="s", description="d", priority="asap")
    with pytest.raises(ValidationError):
        services.create_ticket(requester=customer, subject="   ", description="d")
    assert not Ticket.objects.exists()
    assert not TicketEvent.objects.exists()


@pytest.mark.django_db
def test_assign_rules(ticket, customer, agent):
    with pytest.raises(PermissionDenied):
        services.assign(ticket, actor=customer, assignee=agent)
    with pytest.raises(ValidationError):
        services.assign(ticket, actor=agent, assignee=customer)
    inactive = make_user("gone", role="agent", agent_level="L2", is_active=False)
    with pytest.raises(ValidationError):
        services.assign(ticket, actor=agent, assignee=inactive)
    services.assign(ticket, actor=agent, assignee=agent)
    services.assign(ticket, actor=agent, assignee=agent)  # no change, no event
    services.assign(ticket, actor=agent, assignee=None)
    data = list(ticket.events.filter(kind=EventKind.ASSIGNMENT).values_list("data", flat=True))
    assert data == [{"from": None, "to": agent.pk}, {"from": agent.pk, "to": None}]


@pytest.mark.django_db
def test_priority_and_category(ticket, agent, customer):
    services.set_priority(ticket, actor=agent, priority="urgent")
    services.set_category(ticket, actor=agent, category="billing")
    services.set_category(ticket, actor=agent, category="billing")
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.category) == ("urgent", "billing")
    assert ticket.events.filter(kind=EventKind.CATEGORY).count() == 1
    with pytest.raises(ValidationError):
        services.set_priority(ticket, actor=agent, priority="whenever")
    with pytest.raises(PermissionDenied):
        services.set_category(ticket, actor=customer, category="other")


@pytest.mark.django_db
def test_update_ticket_is_all_or_nothing(ticket, agent, manager):
    services.change_status(ticket, actor=agent, status=Status.CLOSED)
    count = TicketEvent.objects.count()
    with pytest.raises(services.InvalidTransition):
        services.update_ticket(ticket, actor=agent, assignee=manager, priority="high", status=Status.OPEN)
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.priority) == (None, "normal")
    assert TicketEvent.objects.count() == count


@pytest.mark.django_db
def test_events_are_append_only(ticket):
    event = ticket.events.first()
    event.data = {"tampered": True}
    with pytest.raises(ValueError):
        event.save()
