"""The beat stopped: every touch of a session applies its timers itself.

No sweep runs in these tests. A session whose maximum (or inactivity limit, or invitation) ran
out ends on the next touch of any kind — a frame on the customer's or the agent's socket, the
widget's grant refresh and session API, the console page, the agent's API — and nothing is
relayed or allowed after it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone
from rest_framework.test import APIClient

from cobrowse.models import CoBrowseSession, SessionState
from tests.consent.helpers import consent, start
from tests.factories import PASSWORD, make_ticket
from tests.live.test_consumers import _agent, _customer, _msg, _receive_type, _setup

ASYNC_DB = pytest.mark.django_db(transaction=True)
SYNC_DB = pytest.mark.django_db


#: The maximum runs out this long after both sockets connected (they read it when they join).
SOON_S = 2.5
ENDED_REASONS = (SessionState.TIMED_OUT, "max_duration")  # the socket's own word, or the broadcast's


async def _pair_ending_soon():
    """A customer and an agent socket on a session whose maximum ends SOON_S from now."""
    session, grant, agent = await _setup()
    await database_sync_to_async(CoBrowseSession.objects.filter(pk=session.pk).update)(
        deadline_at=timezone.now() + timedelta(seconds=SOON_S)
    )
    customer = await _customer(session.pk, grant)
    await _receive_type(customer, "welcome")
    agent_comm = await _agent(session.pk, agent)
    await _receive_type(agent_comm, "welcome")
    return session, customer, agent_comm


async def _overdue(session_id: int) -> None:
    """Wait until the maximum has passed (no sweep runs)."""
    await asyncio.sleep(SOON_S + 0.2)


@database_sync_to_async
def _ended(session_id: int) -> tuple[str, str]:
    session = CoBrowseSession.objects.get(pk=session_id)
    return session.state, session.end_reason


async def _closed_with(comm, code: int) -> None:
    out = await comm.receive_output(timeout=5)
    while out["type"] != "websocket.close":
        out = await comm.receive_output(timeout=5)
    assert out["code"] == code


@ASYNC_DB
async def test_a_customer_frame_after_the_maximum_ends_the_session_at_once():
    # The relay writes activity only every ~30 s (not patched here): the maximum is checked on
    # every frame anyway, and the late frame never reaches the agent.
    session, customer, agent_comm = await _pair_ending_soon()
    await customer.send_json_to(_msg("rrweb", {"events": [], "page_id": "p1"}, 1))
    await _receive_type(agent_comm, "rrweb")
    await _overdue(session.pk)
    await customer.send_json_to(_msg("rrweb", {"events": [], "page_id": "p1"}, 2))
    assert (await _receive_type(customer, "ended"))["data"]["reason"] == SessionState.TIMED_OUT
    await _closed_with(customer, 4000)
    ended = await _receive_type(agent_comm, "ended")  # the agent hears it from the broadcast
    assert ended["data"]["reason"] == "max_duration"
    assert await _ended(session.pk) == (SessionState.TIMED_OUT, "max_duration")
    await agent_comm.disconnect()


@ASYNC_DB
async def test_a_customer_frame_after_an_extension_is_relayed():
    # The socket's deadline is stale after an extension (moved in the database only): it re-reads
    # it and carries on.
    session, customer, agent_comm = await _pair_ending_soon()
    await _overdue(session.pk)
    await database_sync_to_async(CoBrowseSession.objects.filter(pk=session.pk).update)(
        deadline_at=timezone.now() + timedelta(minutes=15)
    )
    await customer.send_json_to(_msg("rrweb", {"events": [], "page_id": "p1"}, 1))
    await _receive_type(agent_comm, "rrweb")
    assert (await _ended(session.pk))[0] == SessionState.ACTIVE
    await customer.disconnect()
    await agent_comm.disconnect()


@ASYNC_DB
@pytest.mark.parametrize("frame", ["ping", "annotate"])
async def test_an_agent_frame_after_the_maximum_ends_the_session(frame):
    session, customer, agent_comm = await _pair_ending_soon()
    await _overdue(session.pk)
    data = (
        {"nonce": "n1"}
        if frame == "ping"
        else {"kind": "text", "page_id": "p1", "x": 5, "y": 5, "text": "hi"}
    )
    await agent_comm.send_json_to(_msg(frame, data, 1))
    assert (await _receive_type(agent_comm, "ended"))["data"]["reason"] in ENDED_REASONS
    await _closed_with(agent_comm, 4000)
    assert (await _receive_type(customer, "ended"))["data"]["reason"] in ENDED_REASONS
    assert await _ended(session.pk) == (SessionState.TIMED_OUT, "max_duration")


@ASYNC_DB
async def test_an_agent_action_after_the_inactivity_limit_ends_the_session(settings):
    session, customer, agent_comm = await _pair_ending_soon()
    await database_sync_to_async(CoBrowseSession.objects.filter(pk=session.pk).update)(
        deadline_at=timezone.now() + timedelta(minutes=30)
    )
    idle = timedelta(seconds=settings.COBROWSE_INACTIVITY_TIMEOUT_SECONDS + 1)
    await database_sync_to_async(CoBrowseSession.objects.filter(pk=session.pk).update)(
        last_activity_at=timezone.now() - idle
    )
    data = {"kind": "text", "page_id": "p1", "x": 5, "y": 5, "text": "hi"}
    await agent_comm.send_json_to(_msg("annotate", data, 1))
    assert (await _receive_type(customer, "ended"))["data"]["reason"] == "inactivity"
    assert await _ended(session.pk) == (SessionState.TIMED_OUT, "inactivity")
    await agent_comm.disconnect()


# --- HTTP touches: each of the three timers, on each path -----------------------------------------


def _run_out(session, timer: str, settings) -> None:
    past = timezone.now() - timedelta(seconds=1)
    if timer == "maximum":
        CoBrowseSession.objects.filter(pk=session.pk).update(deadline_at=past)
    elif timer == "inactivity":
        idle = timedelta(seconds=settings.COBROWSE_INACTIVITY_TIMEOUT_SECONDS + 1)
        CoBrowseSession.objects.filter(pk=session.pk).update(last_activity_at=timezone.now() - idle)
    else:
        CoBrowseSession.objects.filter(pk=session.pk).update(invite_expires_at=past)


EXPECTED = {
    "maximum": (SessionState.TIMED_OUT, "max_duration"),
    "inactivity": (SessionState.TIMED_OUT, "inactivity"),
    "invite": (SessionState.EXPIRED, "invite_expired"),
}


@pytest.fixture
def session_for(customer, agent):
    def make(timer: str):
        ticket = make_ticket(customer)
        if timer == "invite":
            return start(ticket, agent)  # (session, the link's token)
        return consent(ticket, agent)

    return make


def _agent_client(agent) -> APIClient:
    client = APIClient()
    client.login(username=agent.username, password=PASSWORD)
    return client


@SYNC_DB
@pytest.mark.parametrize("timer", ["maximum", "inactivity", "invite"])
def test_the_console_page_applies_the_timers(client, agent, session_for, settings, timer):
    session, _ = session_for(timer)
    _run_out(session, timer, settings)
    client.login(username=agent.username, password=PASSWORD)
    response = client.get(f"/agent/sessions/{session.pk}/")
    assert response.status_code == 200
    assert f'"state": "{EXPECTED[timer][0]}"' in response.content.decode()
    session.refresh_from_db()
    assert (session.state, session.end_reason) == EXPECTED[timer]


@SYNC_DB
@pytest.mark.parametrize("timer", ["maximum", "inactivity", "invite"])
def test_the_agents_api_applies_the_timers(agent, session_for, settings, timer):
    session, _ = session_for(timer)
    _run_out(session, timer, settings)
    response = _agent_client(agent).get(f"/api/cobrowse/sessions/{session.pk}/")
    assert response.status_code == 200 and response.json()["state"] == EXPECTED[timer][0]
    session.refresh_from_db()
    assert (session.state, session.end_reason) == EXPECTED[timer]


@SYNC_DB
@pytest.mark.parametrize("timer", ["maximum", "inactivity"])
def test_the_agents_mode_request_applies_the_timers_and_is_refused(agent, session_for, settings, timer):
    session, _ = session_for(timer)
    _run_out(session, timer, settings)
    response = _agent_client(agent).post(
        f"/api/cobrowse/sessions/{session.pk}/mode/", {"mode": "controlled"}, format="json"
    )
    assert response.status_code == 409
    session.refresh_from_db()
    assert (session.state, session.end_reason) == EXPECTED[timer]


@SYNC_DB
@pytest.mark.parametrize("timer", ["maximum", "inactivity"])
@pytest.mark.parametrize("path", ["grants/refresh/", "sessions/{pk}/"])
def test_the_widgets_api_applies_the_timers(session_for, settings, timer, path):
    session, grant = session_for(timer)
    _run_out(session, timer, settings)
    url = "/api/cobrowse/" + path.format(pk=session.pk)
    call = APIClient().post if path.startswith("grants") else APIClient().get
    response = call(url, HTTP_X_TANDEM_GRANT=grant)
    assert response.status_code == 401  # the end revoked the grant on the way
    session.refresh_from_db()
    assert (session.state, session.end_reason) == EXPECTED[timer]


@SYNC_DB
def test_the_consent_link_applies_the_invite_timer(client, session_for, settings):
    session, raw = session_for("invite")
    _run_out(session, "invite", settings)
    assert client.get(f"/j/{raw}/").status_code == 410
    session.refresh_from_db()
    assert (session.state, session.end_reason) == EXPECTED["invite"]
