"""tickets.permissions: which tickets a user may see; the list and the object check agree."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from tests.factories import make_ticket
from tickets import permissions as ticket_permissions

ROLES = ["customer", "agent_l1", "agent_l1_certified", "agent", "agent_l3", "manager"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Test users need a password, not a slow one."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def users(request):
    return {role: request.getfixturevalue(role) for role in ROLES}


@pytest.mark.django_db
def test_visible_tickets_and_object_checks_agree(users, customer, other_customer):
    own = make_ticket(customer)
    theirs = make_ticket(other_customer)
    everyone = {**users, "other_customer": other_customer, "anonymous": AnonymousUser()}
    for role, user in everyone.items():
        visible = set(ticket_permissions.visible_tickets(user).values_list("pk", flat=True))
        by_object = {t.pk for t in (own, theirs) if ticket_permissions.can_view_ticket(user, t)}
        assert visible == by_object, role
        replies = {t.pk for t in (own, theirs) if ticket_permissions.can_reply_to_ticket(user, t)}
        assert replies == by_object, role
    assert set(ticket_permissions.visible_tickets(customer).values_list("pk", flat=True)) == {own.pk}
    assert set(ticket_permissions.visible_tickets(other_customer).values_list("pk", flat=True)) == {theirs.pk}
    assert set(ticket_permissions.visible_tickets(users["agent_l1"]).values_list("pk", flat=True)) == {
        own.pk,
        theirs.pk,
    }
    assert not ticket_permissions.visible_tickets(AnonymousUser()).exists()


@pytest.mark.django_db
def test_visible_tickets_narrows_a_given_queryset(customer, agent):
    from tickets.models import Ticket

    own = make_ticket(customer)
    make_ticket(customer, subject="Another")
    narrowed = ticket_permissions.visible_tickets(customer, Ticket.objects.filter(pk=own.pk))
    assert list(narrowed) == [own]


@pytest.mark.django_db
def test_inactive_customer_sees_nothing(customer):
    ticket = make_ticket(customer)
    customer.is_active = False
    assert not ticket_permissions.visible_tickets(customer).exists()
    assert ticket_permissions.can_view_ticket(customer, ticket) is False
