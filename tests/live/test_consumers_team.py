"""The watch socket of a member of the customer's team, on the Redis channel layer: grant in the
first frame, strictly view only (forged guidance, actions, mode requests, hand-overs and notes are
refused, the socket stays open), the same redacted frames as the agents, the viewer cap, and the
socket closing when the session ends, the customer stops sharing, or they are removed."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from cobrowse import services as session_services
from cobrowse.models import ActionRequest, CoBrowseSession, ModeRequest, Participant
from config.asgi import application
from consent import team as consent_team
from live.consumers import base as consumer_base
from tests.consent.helpers import team_grant
from tests.factories import make_user
from tests.live.test_consumers import (
    SECRETS,
    _agent,
    _full_snapshot_with_secrets,
    _msg,
    _pair,
    _receive_type,
    _setup,
)
from tickets.models import TicketComment

pytestmark = pytest.mark.django_db(transaction=True)

SAME_SITE = b"http://127.0.0.1:8000"


async def _open(session_id: int, origin: bytes = SAME_SITE) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(
        application, f"/ws/cobrowse/{session_id}/watch/", headers=[(b"origin", origin)]
    )
    connected, _ = await comm.connect()
    assert connected
    return comm


async def _team(session_id: int, grant: str) -> WebsocketCommunicator:
    comm = await _open(session_id)
    await comm.send_json_to(_msg("hello", {"grant": grant}, 0))
    return comm


async def _closed_with(comm, code: int) -> None:
    while True:
        output = await comm.receive_output(timeout=10)  # generous: the test machine is shared
        if output["type"] == "websocket.close":
            assert output["code"] == code
            return


async def _watching_pair(mode: str = "controlled", **invite):
    session, grant, agent, customer, agent_comm, _ = await _pair("controlled" if mode == "full" else mode)
    if mode == "full":  # as if a manager and the customer had approved it: the most an agent may do
        await database_sync_to_async(CoBrowseSession.objects.filter(pk=session.pk).update)(
            mode="full", granted_mode="full"
        )
    viewer, viewer_grant = await database_sync_to_async(team_grant)(session, **invite)
    team = await _team(session.pk, viewer_grant)
    welcome = await _receive_type(team, "welcome")
    return session, agent, customer, agent_comm, team, viewer, viewer_grant, welcome


async def _close_all(*comms) -> None:
    for comm in comms:
        await comm.disconnect()


async def test_the_grant_admits_them_as_a_view_only_team_member():
    session, agent, customer, agent_comm, team, viewer, _grant, welcome = await _watching_pair()
    data = welcome["data"]
    assert (data["role"], data["name"], data["agent_name"]) == ("team", "Dana Lee", "Priya")
    assert data["customer"] == "connected" and data["controller"] == "Priya"
    assert {"name": "Dana Lee", "role": "team"} in data["watching"]
    # The customer's badge learns their name at once (after the agent's own arrival).
    joined = await _receive_type(customer, "participants")
    assert joined["data"]["watching"] == [{"name": "Priya", "role": "agent"}]
    participants = await _receive_type(customer, "participants")
    assert {"name": "Dana Lee", "role": "team"} in participants["data"]["watching"]
    await _close_all(customer, agent_comm, team)


@pytest.mark.parametrize(("grant", "code"), [("bogus", 4401), ("", None)])
async def test_a_bad_grant_is_refused(grant, code):
    session, _grant, _agent_user, customer, agent_comm, _ = await _pair()
    comm = await _team(session.pk, grant)
    error = await _receive_type(comm, "error")
    if code is None:  # an empty grant is a malformed hello: refused, the socket waits for a good one
        assert error["data"]["code"] == "missing_field"
        await comm.disconnect()
    else:
        assert error["data"]["code"] == "refused"
        await _closed_with(comm, code)
    await _close_all(customer, agent_comm)


async def test_frames_before_hello_are_refused_and_a_grant_of_another_session_is_4403():
    session, _grant, agent, customer, agent_comm, _ = await _pair()
    other, *_ignored = await _pair()
    _viewer, viewer_grant = await database_sync_to_async(team_grant)(other)
    comm = await _open(session.pk)
    await comm.send_json_to(_msg("resync", {"from_seq": 0}, 0))
    assert (await _receive_type(comm, "error"))["data"]["code"] == "not_ready"
    await comm.send_to(text_data="{not json")
    assert (await _receive_type(comm, "error"))["data"]["code"] == "bad_json"
    await comm.send_json_to(_msg("hello", {"grant": viewer_grant}, 1))
    assert (await _receive_type(comm, "error"))["data"]["code"] == "refused"
    await _closed_with(comm, 4403)
    await _close_all(customer, agent_comm)


async def test_a_silent_socket_is_closed(monkeypatch):
    monkeypatch.setattr(consumer_base, "HELLO_TIMEOUT_S", 0.2)
    session, _grant, _agent_user = await _setup()
    comm = await _open(session.pk)
    await _closed_with(comm, 4401)


async def test_a_foreign_origin_is_refused():
    session, _grant, _agent_user, customer, agent_comm, _ = await _pair()
    comm = WebsocketCommunicator(
        application, f"/ws/cobrowse/{session.pk}/watch/", headers=[(b"origin", b"https://evil.example")]
    )
    connected, _ = await comm.connect()
    assert not connected
    await _close_all(customer, agent_comm)


FORGED = [
    ("annotate", {"kind": "highlight", "node_id": 7, "page_id": "p1"}),
    ("action", {"kind": "click", "node_id": 7, "page_id": "p1"}),
    ("action", {"kind": "type", "node_id": 7, "page_id": "p1", "value": "hi"}),
    ("mode_request", {"mode": "view_only"}),
    ("handover", {"to_user_id": 1}),
    ("note", {"text": "from outside"}),
]


async def test_forged_guidance_actions_mode_handover_and_notes_are_refused_and_the_socket_stays_open():
    session, agent, customer, agent_comm, team, viewer, _grant, _welcome = await _watching_pair("full")
    for i, (msg_type, data) in enumerate(FORGED, start=1):
        if msg_type == "handover":
            data = {"to_user_id": agent.pk}
        await team.send_json_to(_msg(msg_type, data, i))
        error = await _receive_type(team, "error")
        assert error["data"]["code"] == "not_allowed", msg_type
        assert "watching only" in error["data"]["message"]
    # Still open and served: a ping is answered.
    await team.send_json_to(_msg("ping", {"nonce": "n1"}, 10))
    assert (await _receive_type(team, "quality"))["data"]["echo"] == "n1"
    # Nothing reached the customer's page, nothing changed.
    reached = []
    while not await customer.receive_nothing(timeout=0.5):
        reached.append((await customer.receive_json_from())["type"])
    assert not {"annotate", "action", "action_request", "mode_request", "control"} & set(reached)
    current = await database_sync_to_async(CoBrowseSession.objects.get)(pk=session.pk)
    assert current.mode == "full"
    assert not await database_sync_to_async(ActionRequest.objects.filter(session=session).exists)()
    assert not await database_sync_to_async(ModeRequest.objects.filter(session=session).exists)()
    assert not await database_sync_to_async(
        TicketComment.objects.filter(body__contains="from outside").exists
    )()
    await _close_all(customer, agent_comm, team)


async def test_they_see_the_same_redacted_frames_as_the_agent():
    session, agent, customer, agent_comm, team, *_ = await _watching_pair("guided")
    await customer.send_json_to(
        _msg("rrweb", {"events": [_full_snapshot_with_secrets()], "page_id": "p1"}, 1)
    )
    to_agent = await _receive_type(agent_comm, "rrweb")
    to_team = await _receive_type(team, "rrweb")
    assert to_team["data"] == to_agent["data"]
    text = str(to_team)
    assert "Asha Rao" in text
    for secret in SECRETS.values():
        assert secret not in text
    await _close_all(customer, agent_comm, team)


async def test_the_socket_closes_when_the_session_ends():
    session, agent, customer, agent_comm, team, *_ = await _watching_pair()
    await database_sync_to_async(session_services.end_session)(session.pk, actor=agent)
    assert (await _receive_type(team, "ended"))["data"]["reason"] == "agent_ended"
    await _closed_with(team, 4000)
    await _close_all(customer, agent_comm)


async def test_the_socket_closes_when_the_customer_stops_sharing():
    session, agent, customer, agent_comm, team, *_ = await _watching_pair()
    await customer.send_json_to(_msg("stop", {"reason": "done"}, 1))
    assert (await _receive_type(team, "ended"))["data"]["reason"] == "customer_revoked"
    await _closed_with(team, 4000)
    await _close_all(customer, agent_comm)


async def test_the_socket_closes_when_the_customer_removes_them_and_the_grant_is_revoked():
    session, agent, customer, agent_comm, team, viewer, viewer_grant, _ = await _watching_pair()
    await _receive_type(customer, "participants")  # the agent arrived
    await _receive_type(customer, "participants")  # the team member arrived
    await database_sync_to_async(consent_team.remove_team_viewer)(session.pk, viewer.pk)
    assert (await _receive_type(team, "ended"))["data"]["reason"] == "removed"
    await _closed_with(team, 4403)
    participants = await _receive_type(customer, "participants")
    assert all(p["role"] != "team" for p in participants["data"]["watching"])
    again = await _team(session.pk, viewer_grant)  # the revoked grant opens nothing any more
    assert (await _receive_type(again, "error"))["data"]["code"] == "refused"
    await _closed_with(again, 4401)
    await _close_all(customer, agent_comm)


async def test_the_socket_closes_when_they_leave():
    session, agent, customer, agent_comm, team, viewer, viewer_grant, _ = await _watching_pair()
    await database_sync_to_async(consent_team.leave_watching)(viewer_grant)
    assert (await _receive_type(team, "ended"))["data"]["reason"] == "left"
    await _closed_with(team, 4403)
    await _close_all(customer, agent_comm)


async def test_a_fourth_viewer_is_refused_whoever_it_is():
    session, agent, customer, agent_comm, team, viewer, _grant, _ = await _watching_pair()
    manager = await database_sync_to_async(make_user)(f"boss{session.pk}", role="manager")
    second = await _agent(session.pk, manager)
    await _receive_type(second, "welcome")
    # Agent, team member, manager: a second team member is the fourth.
    _other, other_grant = await database_sync_to_async(team_grant)(
        session, name="Sam Ortiz", email="sam@acme.example"
    )
    fourth = await _team(session.pk, other_grant)
    error = await _receive_type(fourth, "error")
    assert error["data"]["code"] == "refused" and "maximum number of viewers" in error["data"]["message"]
    await _closed_with(fourth, 4409)
    # The first team member leaves their seat (closes the tab): the other may now take it.
    await team.disconnect()
    await asyncio.sleep(0.3)
    fourth = await _team(session.pk, other_grant)
    assert (await _receive_type(fourth, "welcome"))["data"]["name"] == "Sam Ortiz"
    await _close_all(customer, agent_comm, second, fourth)


async def test_the_same_member_again_takes_the_seat_and_the_older_socket_closes():
    session, agent, customer, agent_comm, team, viewer, viewer_grant, _ = await _watching_pair()
    again = await _team(session.pk, viewer_grant)  # a reconnect before the old socket timed out
    assert (await _receive_type(again, "welcome"))["data"]["name"] == "Dana Lee"
    assert (await _receive_type(team, "ended"))["data"]["reason"] == "superseded"
    await _closed_with(team, 4403)
    # One person, one seat: still listed once, and still counted once against the cap.
    open_seats = await database_sync_to_async(
        lambda: list(
            Participant.objects.filter(session=session, team_viewer=viewer, left_at__isnull=True).values_list(
                "pk", flat=True
            )
        )
    )()
    assert len(open_seats) == 1
    # The old socket's going away does not take the new socket's seat.
    await team.disconnect()
    await asyncio.sleep(0.3)
    assert await database_sync_to_async(
        Participant.objects.filter(pk=open_seats[0], left_at__isnull=True).exists
    )()
    await _close_all(customer, agent_comm, again)
