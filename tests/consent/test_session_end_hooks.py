"""Ending a session in the core voids consent's links and grants in the same transaction (the hooks
consent registers in ``ConsentConfig.ready``)."""

from __future__ import annotations

import pytest
from django.db import transaction

from cobrowse import services as session_services
from cobrowse.models import EndReason, SessionState, TeamViewerState
from cobrowse.services import lifecycle
from consent import grants as consent_grants
from consent import services as consent_services
from consent import team as consent_team
from consent.models import SessionGrant, SessionInvite
from tests.consent.helpers import consent, invite_team, start
from tests.factories import make_ticket

pytestmark = pytest.mark.django_db


def test_consent_registers_its_hooks_once():
    assert consent_services.session_ended in lifecycle._end_hooks
    assert consent_team.close_team_viewers in lifecycle._end_hooks
    before = list(lifecycle._end_hooks)
    session_services.on_session_end(consent_services.session_ended)  # a second ready() adds nothing
    assert lifecycle._end_hooks == before


def test_ending_revokes_grants_and_voids_links_and_team_seats(customer, agent):
    session, grant = consent(make_ticket(customer), agent)
    viewer, _raw = invite_team(session)
    session_services.end_session(session.pk, actor=agent)
    assert not SessionGrant.objects.filter(session=session, revoked_at__isnull=True).exists()
    viewer.refresh_from_db()
    assert viewer.state == TeamViewerState.ENDED
    with pytest.raises(consent_grants.GrantError):
        consent_grants.verify_grant(grant)


def test_an_invitation_withdrawn_voids_its_link(customer, agent):
    session, raw = start(make_ticket(customer), agent)
    session_services.end_session(session.pk, actor=agent)
    assert SessionInvite.objects.get(session=session).invalidated_at is not None
    with pytest.raises(consent_services.InviteGone):
        consent_services.open_invite(raw)


def test_the_hooks_roll_back_with_the_end(customer, agent):
    session, _grant = consent(make_ticket(customer), agent)
    with pytest.raises(RuntimeError), transaction.atomic():
        locked = session_services.lock(session.pk)
        session_services.transition(locked, SessionState.ENDED, reason=EndReason.AGENT_ENDED, actor=agent)
        assert not SessionGrant.objects.filter(session=session, revoked_at__isnull=True).exists()
        raise RuntimeError("the end is rolled back")
    assert SessionGrant.objects.filter(session=session, revoked_at__isnull=True).exists()
    session.refresh_from_db()
    assert session.state in (SessionState.CONSENTED, SessionState.ACTIVE)
