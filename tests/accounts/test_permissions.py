"""accounts.permissions: the one place that decides who may see or do what."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from accounts import permissions
from tests.factories import make_ticket, make_user

ROLES = ["customer", "agent_l1", "agent_l1_certified", "agent", "agent_l3", "manager"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Test users need a password, not a slow one."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def users(request):
    return {role: request.getfixturevalue(role) for role in ROLES}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("customer", False),
        ("agent_l1", False),
        ("agent_l1_certified", True),
        ("agent", True),
        ("agent_l3", True),
        ("manager", True),
    ],
)
def test_can_start_cobrowse(request, role, expected):
    user = request.getfixturevalue(role)
    assert permissions.can_start_cobrowse(user) is expected
    user.is_active = False
    assert permissions.can_start_cobrowse(user) is False


@pytest.mark.django_db
def test_can_start_cobrowse_edge_cases():
    assert permissions.can_start_cobrowse(AnonymousUser()) is False
    assert permissions.can_start_cobrowse(None) is False
    # An agent without a level is not assumed to be L2+.
    assert permissions.can_start_cobrowse(make_user("nolevel", role="agent")) is False
    # A certification date on a customer grants nothing.
    from django.utils import timezone

    certified_customer = make_user("odd", role="customer", cobrowse_certified_at=timezone.now())
    assert permissions.can_start_cobrowse(certified_customer) is False


@pytest.mark.django_db
def test_starting_on_a_ticket_is_for_its_assignee_or_a_manager(users, customer):
    agent, other, manager = users["agent"], users["agent_l3"], users["manager"]
    unassigned = make_ticket(customer)
    mine = make_ticket(customer, assignee=agent)
    theirs = make_ticket(customer, assignee=other)
    assert permissions.can_start_cobrowse(agent, mine) is True
    assert permissions.can_start_cobrowse(agent, unassigned) is True  # taking it on the way
    assert permissions.can_start_cobrowse(agent, theirs) is False
    assert permissions.can_start_cobrowse(manager, theirs) is True
    # The role rule still holds for the assignee.
    assert (
        permissions.can_start_cobrowse(users["agent_l1"], make_ticket(customer, assignee=users["agent_l1"]))
        is False
    )
    assert permissions.takes_ticket_to_start_cobrowse(agent, unassigned) is True
    assert permissions.takes_ticket_to_start_cobrowse(agent, mine) is False
    assert permissions.takes_ticket_to_start_cobrowse(manager, unassigned) is False
    assert permissions.cobrowse_start_refusal(agent, theirs) == (
        "Only the ticket's assignee or a manager can start co-browse on this ticket."
    )
    assert permissions.cobrowse_start_refusal(users["agent_l1"], unassigned).startswith("Co-browse needs")


@pytest.mark.django_db
def test_can_approve_full_control_is_managers_only(users):
    assert {r for r, u in users.items() if permissions.can_approve_full_control(u)} == {"manager"}
    users["manager"].is_active = False
    assert permissions.can_approve_full_control(users["manager"]) is False
    assert permissions.can_approve_full_control(AnonymousUser()) is False


@pytest.mark.django_db
def test_staff_predicates(users):
    staff = {r for r, u in users.items() if permissions.is_support_staff(u)}
    assert staff == set(ROLES) - {"customer"}
    assert {r for r, u in users.items() if permissions.can_see_internal_notes(u)} == staff
    assert {r for r, u in users.items() if permissions.can_work_ticket(u)} == staff
    assert {r for r, u in users.items() if permissions.can_view_dashboards(u)} == {"manager"}
    assert set(permissions.support_staff().values_list("username", flat=True)) == {
        users[r].username for r in staff
    }


@pytest.mark.django_db
def test_support_staff_excludes_inactive(agent):
    agent.is_active = False
    agent.save()
    assert not permissions.support_staff().filter(pk=agent.pk).exists()
