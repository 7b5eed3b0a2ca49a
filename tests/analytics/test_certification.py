"""Agent certification: a manager records and revokes it on the agent's page, the record and the
permission rule agree, every step is audited, and only managers reach these pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from accounts import permissions, services
from accounts.models import Certification, User
from audit.models import AuditEvent
from tests.factories import make_user


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


@pytest.mark.django_db
def test_certify_then_revoke_moves_the_permission_with_the_record(agent_l1, manager):
    assert not permissions.can_use_cobrowse(agent_l1)
    today = timezone.localdate()
    record = services.certify(agent_l1, actor=manager, on=today, notes="Passed the practical")
    agent = _fresh(agent_l1)
    assert permissions.can_use_cobrowse(agent)
    assert agent.cobrowse_certified_at.date() == today and record.certified_by == manager
    services.revoke_certification(agent, actor=manager, reason="Shared a screen without consent")
    agent = _fresh(agent_l1)
    assert not permissions.can_use_cobrowse(agent) and agent.cobrowse_certified_at is None
    record.refresh_from_db()
    assert record.revoked_by == manager and record.revoke_reason.startswith("Shared")
    actions = list(AuditEvent.objects.filter(object_id=str(agent.pk)).values_list("action", "details"))
    assert [a for a, _ in actions][-2:] == ["accounts.certified", "accounts.certification_revoked"]
    assert all("Passed" not in str(d) and "Shared" not in str(d) for _, d in actions)
    # Certified again later: a second record, the first stays in the history.
    services.certify(agent, actor=manager, on=today)
    assert Certification.objects.filter(agent=agent).count() == 2


@pytest.mark.django_db
def test_refusals(agent_l1, agent, manager, customer):
    today = timezone.localdate()
    with pytest.raises(PermissionDenied):
        services.certify(agent_l1, actor=agent, on=today)
    with pytest.raises(ValidationError):
        services.certify(customer, actor=manager, on=today)
    with pytest.raises(ValidationError):
        services.certify(agent_l1, actor=manager, on=today + timedelta(days=1))
    with pytest.raises(ValidationError):
        services.revoke_certification(agent_l1, actor=manager, reason="none held")
    services.certify(agent_l1, actor=manager, on=today)
    with pytest.raises(ValidationError):
        services.certify(agent_l1, actor=manager, on=today)  # already certified
    with pytest.raises(ValidationError):
        services.revoke_certification(agent_l1, actor=manager, reason="  ")
    with pytest.raises(PermissionDenied):
        services.revoke_certification(agent_l1, actor=agent, reason="not a manager")


@pytest.mark.django_db
def test_the_agents_page_shows_who_is_pending(agent_l1, agent_l1_certified, agent, manager):
    text = _client(manager).get("/manager/agents/").content.decode()
    assert 'data-testid="pending-count">1<' in text and "Pending certification" in text  # agent_l1
    services.certify(agent_l1, actor=manager, on=timezone.localdate())
    text = _client(manager).get("/manager/agents/").content.decode()
    assert 'data-testid="pending-count">0<' in text and "Pending certification" not in text


@pytest.mark.django_db
def test_the_agent_page_certifies_and_revokes(agent_l1, manager):
    client = _client(manager)
    url = f"/manager/agents/{agent_l1.pk}/"
    assert "not certified" in client.get(url).content.decode()
    response = client.post(
        url + "certify/", {"certified_on": timezone.localdate().isoformat(), "notes": "ok"}
    )
    assert response.status_code == 302 and permissions.can_use_cobrowse(_fresh(agent_l1))
    assert "certified for co-browsing since" in client.get(url).content.decode()
    bad = client.post(url + "revoke/", {"reason": ""})
    assert bad.status_code == 400 and permissions.can_use_cobrowse(_fresh(agent_l1))
    assert client.post(url + "revoke/", {"reason": "Retraining"}).status_code == 302
    assert not permissions.can_use_cobrowse(_fresh(agent_l1))
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    refused = client.post(url + "certify/", {"certified_on": future})
    assert refused.status_code == 400 and "future" in refused.content.decode()
    assert client.get(f"/manager/agents/{manager.pk}/").status_code == 404  # not an agent


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["agent", "customer"])
def test_managers_only(role, agent_l1):
    client = _client(make_user(f"u-{role}", role=role))
    assert client.get("/manager/agents/").status_code == 403
    assert (
        client.post(f"/manager/agents/{agent_l1.pk}/certify/", {"certified_on": "2026-12-01"}).status_code
        == 403
    )
    assert not Certification.objects.exists()
