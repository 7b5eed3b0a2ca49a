"""Sockets that re-check their admission: a staff viewer or team member whose admission is
withdrawn (invitation gone, removed, grant expired, session ended) loses the socket on the next
check even when no broadcast said so."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from cobrowse import services as session_services
from cobrowse.models import (
    CoBrowseSession,
    Participant,
    SessionState,
    TeamViewer,
    TeamViewerState,
    ViewerInvitation,
)
from consent.models import ViewerGrant
from tests.factories import make_user
from tests.live.test_consumers import _agent, _msg, _pair, _receive_type
from tests.live.test_consumers_team import _close_all, _closed_with, _watching_pair

pytestmark = pytest.mark.django_db(transaction=True)

RECHECK_S = 0.2


@pytest.fixture
def quick_recheck(settings):
    settings.COBROWSE_ADMISSION_RECHECK_SECONDS = RECHECK_S


async def _ended(comm, reason: str, code: int) -> None:
    """The socket says why, then closes with ``code``, within a few re-check intervals."""
    assert (await _receive_type(comm, "ended", timeout=10))["data"]["reason"] == reason
    await _closed_with(comm, code)


async def _colleague_watching(session, agent, level="L2", **fields):
    n = await database_sync_to_async(Participant.objects.count)()
    colleague = await database_sync_to_async(make_user)(
        f"colleague{session.pk}-{n}", role="agent", agent_level=level, **fields
    )
    await database_sync_to_async(session_services.invite_viewer)(session.pk, actor=agent, user=colleague)
    comm = await _agent(session.pk, colleague)
    await _receive_type(comm, "welcome")
    return colleague, comm


# --- staff sockets -------------------------------------------------------------------------------


async def test_a_viewer_whose_invitation_is_withdrawn_loses_the_socket_without_a_broadcast(quick_recheck):
    session, _grant, agent, customer, agent_comm, _ = await _pair()
    colleague, watching = await _colleague_watching(session, agent)
    # Withdrawn straight in the database: nothing is broadcast.
    await database_sync_to_async(ViewerInvitation.objects.filter(session=session, user=colleague).delete)()
    await _ended(watching, "removed", 4403)
    await _close_all(customer, agent_comm)


async def test_staff_sockets_close_when_the_session_ended_and_the_broadcast_was_lost(quick_recheck):
    session, _grant, agent, customer, agent_comm, _ = await _pair()
    _colleague, watching = await _colleague_watching(session, agent)
    await database_sync_to_async(CoBrowseSession.objects.filter(pk=session.pk).update)(
        state=SessionState.ENDED
    )
    await _ended(agent_comm, "ended", 4000)
    await _ended(watching, "ended", 4000)
    await customer.disconnect()


async def test_an_admitted_viewer_keeps_the_socket_and_another_tabs_close_does_not_unseat_it(quick_recheck):
    session, _grant, agent, customer, agent_comm, _ = await _pair()
    colleague, watching = await _colleague_watching(session, agent)
    second_tab = await _agent(session.pk, colleague)  # the same person, the same seat
    await _receive_type(second_tab, "welcome")
    await second_tab.disconnect()  # its close marks the shared seat left
    await asyncio.sleep(RECHECK_S * 6)
    # Still admitted: the socket stays and takes its seat again.
    await watching.send_json_to(_msg("ping", {"nonce": "n1"}, 1))
    assert (await _receive_type(watching, "quality"))["data"]["echo"] == "n1"
    present = await database_sync_to_async(
        Participant.objects.filter(session=session, user=colleague, left_at__isnull=True).count
    )()
    assert present == 1
    await _close_all(customer, agent_comm, watching)


# --- team members --------------------------------------------------------------------------------


async def test_a_removed_team_member_loses_the_socket_without_a_broadcast(quick_recheck):
    session, agent, customer, agent_comm, team, viewer, _grant, _ = await _watching_pair()
    await database_sync_to_async(TeamViewer.objects.filter(pk=viewer.pk).update)(
        state=TeamViewerState.REMOVED
    )
    await _ended(team, "removed", 4403)
    await _close_all(customer, agent_comm)


async def test_a_team_member_whose_grant_expired_loses_the_socket(quick_recheck):
    session, agent, customer, agent_comm, team, viewer, _grant, _ = await _watching_pair()
    await database_sync_to_async(ViewerGrant.objects.filter(team_viewer=viewer).update)(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    await _ended(team, "grant_expired", 4403)
    await _close_all(customer, agent_comm)


async def test_a_team_member_loses_the_socket_when_the_session_ended_silently(quick_recheck):
    session, agent, customer, agent_comm, team, viewer, _grant, _ = await _watching_pair()
    await database_sync_to_async(CoBrowseSession.objects.filter(pk=session.pk).update)(
        state=SessionState.ENDED
    )
    await _ended(team, "ended", 4000)
    await _close_all(customer, agent_comm)


async def test_the_re_check_is_not_per_frame(settings, monkeypatch):
    """The relay's hot path never waits for it: many frames, no admission query in between."""
    from live import services as live

    settings.COBROWSE_ADMISSION_RECHECK_SECONDS = 3600
    calls = []
    monkeypatch.setattr(live, "admissions", lambda *a: calls.append(a) or ([], []))
    session, _grant, agent, customer, agent_comm, _ = await _pair()
    for i in range(20):
        await agent_comm.send_json_to(_msg("ping", {"nonce": f"n{i}"}, i))
        await _receive_type(agent_comm, "quality")
    assert calls == []
    await _close_all(customer, agent_comm)


# --- one batch per process -----------------------------------------------------------------------


async def test_every_socket_of_a_process_is_re_checked_in_one_batch(quick_recheck, monkeypatch):
    """Staff and team sockets together: one call (a few queries) per interval, not one per socket."""
    from live import services as live

    batches: list[tuple[list, list]] = []
    real = live.admissions

    def counting(staff, team):
        batches.append((list(staff), list(team)))
        return real(staff, team)

    monkeypatch.setattr(live, "admissions", counting)
    session, agent, customer, agent_comm, team, _viewer, _grant, _ = await _watching_pair()
    _colleague, watching = await _colleague_watching(session, agent)
    await asyncio.sleep(RECHECK_S * 4)
    full = [(staff, team_ids) for staff, team_ids in batches if len(staff) == 2 and len(team_ids) == 1]
    assert full, batches
    assert {seat[0] for seat in full[-1][0]} == {session.pk}
    await _close_all(customer, agent_comm, team, watching)


async def test_a_database_hiccup_keeps_the_sockets_until_the_next_check(quick_recheck, monkeypatch):
    from live import services as live

    real, failures = live.admissions, []

    def flaky(staff, team):
        if len(failures) < 2:
            failures.append(1)
            raise RuntimeError("database restarting")
        return real(staff, team)

    monkeypatch.setattr(live, "admissions", flaky)
    session, _grant, agent, customer, agent_comm, _ = await _pair()
    await asyncio.sleep(RECHECK_S * 4)
    assert len(failures) == 2
    await agent_comm.send_json_to(_msg("ping", {"nonce": "n1"}, 1))
    assert (await _receive_type(agent_comm, "quality"))["data"]["echo"] == "n1"
    # Once the database answers again, a withdrawn admission still closes the socket.
    await database_sync_to_async(CoBrowseSession.objects.filter(pk=session.pk).update)(
        state=SessionState.ENDED
    )
    await _ended(agent_comm, "ended", 4000)
    await customer.disconnect()
