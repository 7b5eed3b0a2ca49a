"""Stop sharing is idempotent: the socket's ``stop`` ends the session and revokes its grants, and
the page's revoke call that follows confirms the end (200, ``already ended``) instead of a 401.
Only the session's own tab grant, current when the session ended, may do that."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from cobrowse import services
from cobrowse.models import EndReason, SessionState
from consent import answers
from consent import tokens as consent_tokens
from consent.models import ConsentKind, ConsentRecord, SessionGrant
from tests.consent.helpers import consent
from tests.factories import make_ticket

pytestmark = pytest.mark.django_db


def _revoke(session_id: int, grant: str):
    return APIClient(enforce_csrf_checks=True).post(
        f"/api/cobrowse/sessions/{session_id}/revoke/", HTTP_X_TANDEM_GRANT=grant
    )


def _row(grant: str) -> SessionGrant:
    return SessionGrant.objects.get(token_hash=consent_tokens.hash_token(grant))


def test_revoke_after_the_sockets_stop_confirms_the_end(customer, agent):
    session, grant = consent(make_ticket(customer), agent)
    answers.revoke_session(session.pk)  # what the socket's ``stop`` does
    assert _row(grant).revoked_at is not None
    records = ConsentRecord.objects.filter(session=session, kind=ConsentKind.REVOCATION).count()

    response = _revoke(session.pk, grant)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["already_ended"] is True and "already ended" in body["detail"]
    assert (body["state"], body["end_reason"]) == (SessionState.REVOKED, EndReason.CUSTOMER_REVOKED)
    # Nothing new was recorded: the end stands as it was.
    assert ConsentRecord.objects.filter(session=session, kind=ConsentKind.REVOCATION).count() == records


def test_the_first_revoke_is_not_called_already_ended(customer, agent):
    session, grant = consent(make_ticket(customer), agent)
    response = _revoke(session.pk, grant)
    assert response.status_code == 200
    assert "already_ended" not in response.json()


def test_an_ended_sessions_grant_opens_nothing_else(customer, agent):
    session, grant = consent(make_ticket(customer), agent)
    services.end_session(session, actor=agent)
    assert _revoke(session.pk, grant).status_code == 200
    client = APIClient()
    assert client.post("/api/cobrowse/grants/refresh/", HTTP_X_TANDEM_GRANT=grant).status_code == 401
    lower = client.post(
        f"/api/cobrowse/sessions/{session.pk}/lower/", {"mode": "view_only"}, HTTP_X_TANDEM_GRANT=grant
    )
    assert lower.status_code == 401
    assert client.get(f"/api/cobrowse/sessions/{session.pk}/", HTTP_X_TANDEM_GRANT=grant).status_code == 401


def test_another_sessions_ended_grant_is_404(customer, agent):
    session, _ = consent(make_ticket(customer), agent)
    other, other_grant = consent(make_ticket(customer), agent)
    answers.revoke_session(other.pk)
    assert _revoke(session.pk, other_grant).status_code == 404
    session.refresh_from_db()
    assert session.state == SessionState.CONSENTED


def test_a_link_grant_of_an_ended_session_is_refused(customer, agent):
    session, link = consent(make_ticket(customer), agent, device=False)
    answers.revoke_session(session.pk)
    assert _revoke(session.pk, link).status_code == 401


@pytest.mark.parametrize("lapsed", ["revoked_at", "expires_at"])
def test_a_grant_that_lapsed_before_the_end_is_refused(customer, agent, lapsed):
    session, grant = consent(make_ticket(customer), agent)
    before = timezone.now() - timedelta(minutes=5)
    SessionGrant.objects.filter(pk=_row(grant).pk).update(**{lapsed: before})
    answers.revoke_session(session.pk)
    response = _revoke(session.pk, grant)
    assert response.status_code == 401


def test_an_unknown_grant_stays_refused(customer, agent):
    session, _ = consent(make_ticket(customer), agent)
    answers.revoke_session(session.pk)
    assert _revoke(session.pk, "bogus").status_code == 401
