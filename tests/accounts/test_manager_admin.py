"""Managers get a working Django admin: view on Tandem's models, change where a manager acts
(tickets, users, customer accounts), never on the audit trail or consent records, and never the
rights that decide who administers Tandem. The access follows the role wherever it changes."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management import call_command

from accounts import services
from accounts.models import User
from audit import services as audit
from audit.models import AuditEvent
from consent.models import ConsentRecord
from tests.consent.helpers import consent
from tests.factories import make_ticket, make_user
from tickets.models import Status, TicketEvent

pytestmark = pytest.mark.django_db


def _admin_url(model, suffix: str = "") -> str:
    meta = model._meta
    return f"/admin/{meta.app_label}/{meta.model_name}/{suffix}"


@pytest.fixture
def manager_user(db) -> User:
    """An agent promoted to manager through the accounts service."""
    return services.set_role(make_user("dana", role="agent", agent_level="L3"), "manager")


@pytest.fixture
def manager_client(client, manager_user):
    client.force_login(manager_user)
    return client


@pytest.fixture
def consented(customer, agent):
    session, _grant = consent(make_ticket(customer), agent)
    return session


# --- the group and the role ---------------------------------------------------------------------


def test_the_migration_created_the_group_with_the_services_rules():
    group = Group.objects.get(name=services.MANAGERS_GROUP)
    held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
    assert held == {f"{p.content_type.app_label}.{p.codename}" for p in services.manager_permissions()}
    assert {"tickets.change_ticket", "accounts.change_user", "accounts.change_customeraccount"} <= held
    assert {"audit.view_auditevent", "consent.view_consentrecord", "cobrowse.view_cobrowsesession"} <= held
    assert not {p for p in held if p.split(".")[1].startswith("delete_")}
    assert not {p for p in held if p.startswith(("audit.", "consent.", "cobrowse.", "recordings."))} - {
        p for p in held if p.split(".")[1].startswith("view_")
    }
    assert not {p for p in held if p.startswith("authtoken.")}


def test_becoming_and_leaving_manager_moves_admin_access_and_is_audited(manager_user):
    group = Group.objects.get(name=services.MANAGERS_GROUP)
    assert manager_user.is_staff and group in manager_user.groups.all()
    assert manager_user.has_perm("tickets.change_ticket")
    event = AuditEvent.objects.filter(action="accounts.role_changed").latest("id")
    assert event.details == {"user": manager_user.pk, "from": "agent", "to": "manager"}

    agent = services.set_role(manager_user, "agent")
    agent = User.objects.get(pk=agent.pk)  # permission caches start empty
    assert not agent.is_staff and group not in agent.groups.all()
    assert not agent.has_perm("tickets.change_ticket")


def test_a_superuser_keeps_is_staff_when_not_a_manager(db):
    root = User.objects.create_superuser("root", "root@example.com", "x" * 12)
    services.set_role(services.set_role(root, "manager"), "agent")
    root.refresh_from_db()
    assert root.is_staff and root.is_superuser


def test_an_unknown_role_is_refused(manager_user):
    with pytest.raises(ValidationError):
        services.set_role(manager_user, "overlord")


def test_the_demo_seed_puts_its_manager_in_the_group():
    call_command("seed_demo", stdout=StringIO())
    members = set(Group.objects.get(name=services.MANAGERS_GROUP).user_set.values_list("username", flat=True))
    assert members == {"manager"}
    assert set(User.objects.filter(is_staff=True).values_list("username", flat=True)) == {"manager"}


# --- what a manager sees and may do -------------------------------------------------------------


def test_a_manager_sees_every_model_page(manager_client, consented):
    assert manager_client.get("/admin/").status_code == 200
    shown = [m for m in admin.site._registry if m._meta.app_label != "authtoken"]
    assert len(shown) >= 15
    for model in shown:
        assert manager_client.get(_admin_url(model)).status_code == 200, model._meta.label
    assert manager_client.get("/admin/accounts/user/add/").status_code == 200
    assert manager_client.get("/admin/accounts/customeraccount/add/").status_code == 200
    # API tokens are credentials: not even listed.
    assert manager_client.get("/admin/authtoken/tokenproxy/").status_code == 403


def test_a_manager_may_correct_a_ticket_but_not_its_workflow(manager_client, customer):
    ticket = make_ticket(customer)
    url = _admin_url(ticket, f"{ticket.pk}/change/")
    assert manager_client.get(url).status_code == 200
    response = manager_client.post(
        url,
        {
            "subject": "Loan form stops at step 3 (corrected)",
            "description": ticket.description,
            "account": ticket.account_id or "",
            "channel": ticket.channel,
            "status": Status.CLOSED,  # read-only here: ignored
            "comments-TOTAL_FORMS": "0",
            "comments-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.subject == "Loan form stops at step 3 (corrected)"
    assert ticket.status == Status.NEW
    # Tickets are opened through the services (numbering), never added here.
    assert manager_client.get(_admin_url(ticket, "add/")).status_code == 403


def test_a_manager_may_not_change_or_delete_an_audit_event(manager_client, consented):
    event = AuditEvent.objects.latest("id")
    change = _admin_url(event, f"{event.pk}/change/")
    assert manager_client.get(change).status_code == 200  # view only
    assert manager_client.post(change, {"action": "rewritten"}).status_code == 403
    assert manager_client.post(_admin_url(event, f"{event.pk}/delete/"), {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.action != "rewritten"
    assert audit.verify_chain() is None


def test_a_manager_may_not_change_or_delete_a_consent_record(manager_client, consented):
    record = ConsentRecord.objects.filter(session=consented).first()
    change = _admin_url(record, f"{record.pk}/change/")
    assert manager_client.get(change).status_code == 200
    assert manager_client.post(change, {"decision": "denied"}).status_code == 403
    assert manager_client.post(_admin_url(record, f"{record.pk}/delete/"), {"post": "yes"}).status_code == 403
    assert ConsentRecord.objects.filter(pk=record.pk, decision=record.decision).exists()


@pytest.mark.parametrize("model", [AuditEvent, ConsentRecord, TicketEvent])
def test_the_trail_is_read_only_even_for_a_superuser(rf, model):
    request = rf.get("/admin/")
    request.user = User(is_superuser=True, is_staff=True, is_active=True)
    model_admin = admin.site._registry[model]
    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


def test_a_manager_promoting_an_agent_in_the_admin_gives_them_the_admin(manager_client, agent):
    response = manager_client.post(
        _admin_url(agent, f"{agent.pk}/change/"),
        {
            "username": agent.username,
            "first_name": agent.first_name,
            "last_name": "",
            "email": agent.email,
            "is_active": "on",
            "role": "manager",
            "agent_level": "",
            "account": "",
            "phone": "",
            "is_superuser": "on",  # read-only for a manager: ignored
        },
    )
    assert response.status_code == 302
    agent = User.objects.get(pk=agent.pk)
    assert agent.role == "manager" and agent.is_staff and not agent.is_superuser
    assert agent.groups.filter(name=services.MANAGERS_GROUP).exists()


def test_a_manager_cannot_grant_themselves_more(manager_client, manager_user):
    html = manager_client.get(_admin_url(manager_user, f"{manager_user.pk}/change/")).content.decode()
    assert 'name="is_superuser"' not in html and 'name="user_permissions"' not in html
    assert 'name="groups"' not in html and 'name="is_staff"' not in html


def test_a_superusers_account_is_not_a_managers_to_change(manager_client):
    root = User.objects.create_superuser("root", "root@example.com", "x" * 12)
    assert (
        manager_client.post(_admin_url(root, f"{root.pk}/change/"), {"username": "owned"}).status_code == 403
    )
    assert manager_client.get(_admin_url(root, f"{root.pk}/password/")).status_code == 403
    root.refresh_from_db()
    assert root.username == "root"


def test_an_agent_still_has_no_admin(client, agent):
    client.force_login(agent)
    for url in ("/admin/", "/admin/tickets/ticket/", "/admin/audit/auditevent/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
