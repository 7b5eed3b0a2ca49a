"""One tab shares at a time: the session's seat. Two sockets with the same grant (a duplicated tab)
get one seat between them; the other is dormant until the customer moves sharing to it, and only
the seat holder's close marks the session reconnecting."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from cobrowse.groups import session_group
from cobrowse.models import CoBrowseSession, SessionState
from config.asgi import application
from live import relay_state
from live.consumers.customer import MOVED
from tests.live.test_consumers import ORIGIN, _agent, _msg, _receive_type, _setup
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db(transaction=True)

TAB_A = "tab-aaaaaaaa"
TAB_B = "tab-bbbbbbbb"


async def _open(session_id: int, grant: str, tab_id: str | None, page_id: str):
    comm = WebsocketCommunicator(
        application, f"/ws/cobrowse/{session_id}/customer/", headers=[(b"origin", ORIGIN)]
    )
    connected, _ = await comm.connect()
    assert connected
    hello = {
        "grant": grant,
        "page_id": page_id,
        "last_acked_seq": -1,
        "url": f"http://localhost:8001/{page_id}",
        "title": "Apply",
    }
    if tab_id is not None:
        hello["tab_id"] = tab_id
    await comm.send_json_to(_msg("hello", hello, 0))
    return comm


async def _tab(session_id: int, grant: str, tab_id: str | None, page_id: str):
    comm = await _open(session_id, grant, tab_id, page_id)
    return comm, (await _receive_type(comm, "welcome"))["data"]


async def _state(session_id: int) -> str:
    return await database_sync_to_async(lambda: CoBrowseSession.objects.get(pk=session_id).state)()


async def _steps(session_id: int) -> list[str]:
    return await database_sync_to_async(
        lambda: [e.data.get("step") for e in TicketEvent.objects.filter(data__session=session_id)]
    )()


async def _two_tabs():
    session, grant, agent = await _setup()
    first, welcome = await _tab(session.pk, grant, TAB_A, "page-a")
    assert welcome["dormant"] is False
    console = await _agent(session.pk, agent)
    await _receive_type(console, "welcome")
    second, dormant = await _tab(session.pk, grant, TAB_B, "page-b")
    return session, grant, first, second, dormant, console


async def test_a_second_tab_with_the_same_grant_is_dormant_and_relays_nothing():
    session, grant, first, second, dormant, console = await _two_tabs()
    assert dormant == {"session_id": session.pk, "agent_name": "Priya", "mode": "guided", "dormant": True}
    await second.send_json_to(_msg("signal", {"kind": "idle"}, 1))
    assert (await _receive_type(second, "error"))["data"]["code"] == "dormant"
    await first.send_json_to(_msg("signal", {"kind": "stall"}, 1))
    assert (await _receive_type(console, "signal"))["data"]["kind"] == "stall"
    assert await relay_state.seat_holder(session.pk) is not None
    for comm in (first, second, console):
        await comm.disconnect()


async def test_a_dormant_tab_hears_the_end_but_no_mode_change():
    session, grant, first, second, _, console = await _two_tabs()
    changed = {"type": "session.changed", "session_id": session.pk, "state": "active", "mode": "controlled"}
    await get_channel_layer().group_send(session_group(session.pk), changed)
    assert (await _receive_type(first, "mode"))["data"]["mode"] == "controlled"
    await get_channel_layer().group_send(session_group(session.pk), {**changed, "state": "ended"})
    ended = await second.receive_json_from(timeout=5)  # the next frame: no mode change before it
    assert (ended["type"], ended["data"]) == ("ended", {"reason": "ended"})
    for comm in (first, second, console):
        await comm.disconnect()


async def test_a_dormant_tab_answers_pings_without_being_the_customers_connection(monkeypatch):
    from live.consumers import customer

    monkeypatch.setattr(customer, "PING_INTERVAL_S", 0.2)
    session, grant, first, second, _, console = await _two_tabs()
    ping = await _receive_type(second, "ping")
    await second.send_json_to(_msg("pong", {"nonce": ping["data"]["nonce"]}, 1))
    await console.receive_nothing(timeout=0.5)  # no quality from a tab that does not share
    assert await relay_state.quality(session.pk) is None
    for comm in (first, second, console):
        await comm.disconnect()


async def test_take_seat_moves_sharing_and_the_old_tab_hears_seat_moved():
    session, grant, first, second, _, console = await _two_tabs()
    await second.send_json_to(_msg("take_seat", {}, 1))
    await _receive_type(first, "seat_moved")
    welcome = await _receive_type(second, "welcome")
    assert welcome["data"]["dormant"] is False
    assert (await _receive_type(second, "snapshot_request"))["data"]["reason"] == "connected"
    assert (await _receive_type(console, "presence"))["data"]["customer"] == MOVED
    assert (await _receive_type(console, "presence"))["data"]["customer"] == "connected"
    # The agents now see the new tab, and the old tab's frames go nowhere.
    await first.send_json_to(_msg("signal", {"kind": "idle"}, 1))
    assert (await _receive_type(first, "error"))["data"]["code"] == "dormant"
    await second.send_json_to(_msg("signal", {"kind": "stall"}, 1))
    assert (await _receive_type(console, "signal"))["data"]["kind"] == "stall"
    assert "seat_moved" in await _steps(session.pk)
    # The tab whose seat was taken closes: the session stays active and the agents hear nothing.
    await first.disconnect()
    await console.receive_nothing(timeout=0.5)
    assert await _state(session.pk) == SessionState.ACTIVE
    for comm in (second, console):
        await comm.disconnect()


async def test_closing_the_dormant_tab_leaves_the_session_alone():
    session, grant, first, second, _, console = await _two_tabs()
    await second.disconnect()
    await console.receive_nothing(timeout=0.5)
    assert await _state(session.pk) == SessionState.ACTIVE
    assert await relay_state.presence(session.pk) == "connected"
    # The holder still shares.
    await first.send_json_to(_msg("signal", {"kind": "stall"}, 1))
    assert (await _receive_type(console, "signal"))["data"]["kind"] == "stall"
    for comm in (first, console):
        await comm.disconnect()


async def test_closing_the_holder_marks_reconnecting_and_frees_the_seat():
    session, grant, first, second, _, console = await _two_tabs()
    await first.disconnect()
    assert (await _receive_type(console, "presence"))["data"]["customer"] == "reconnecting"
    assert await _state(session.pk) == SessionState.RECONNECTING
    assert await relay_state.seat_holder(session.pk) is None
    # The dormant tab may take the free seat: the session is active again, nobody's seat "moved".
    await second.send_json_to(_msg("take_seat", {}, 1))
    assert (await _receive_type(second, "welcome"))["data"]["dormant"] is False
    assert (await _receive_type(console, "presence"))["data"]["customer"] == "connected"
    assert await _state(session.pk) == SessionState.ACTIVE
    assert "seat_moved" not in await _steps(session.pk)
    for comm in (second, console):
        await comm.disconnect()


async def test_the_same_tab_takes_the_seat_and_its_old_page_closing_changes_nothing():
    """The next page of a tab says hello before the old page's close is handled."""
    session, grant, agent = await _setup()
    old_page, _ = await _tab(session.pk, grant, TAB_A, "page-1")
    console = await _agent(session.pk, agent)
    await _receive_type(console, "welcome")
    next_page, welcome = await _tab(session.pk, grant, TAB_A, "page-2")
    assert welcome["dormant"] is False
    await _receive_type(old_page, "seat_moved")
    await old_page.disconnect()
    assert (await _receive_type(console, "presence"))["data"]["customer"] == "connected"
    await console.receive_nothing(timeout=0.5)
    assert await _state(session.pk) == SessionState.ACTIVE
    for comm in (next_page, console):
        await comm.disconnect()


async def test_a_page_without_a_tab_id_takes_the_seat_as_before():
    session, grant, agent = await _setup()
    first, _ = await _tab(session.pk, grant, TAB_A, "page-a")
    legacy, welcome = await _tab(session.pk, grant, None, "page-b")
    assert welcome["dormant"] is False
    await _receive_type(first, "seat_moved")
    for comm in (first, legacy):
        await comm.disconnect()


async def test_a_seat_whose_holder_vanished_without_a_close_expires(monkeypatch):
    session, grant, agent = await _setup()
    monkeypatch.setattr(relay_state, "SEAT_TTL_MS", 200)
    # A holder on a server that was killed: its seat is never released, only not renewed.
    claim = await relay_state.claim_seat(session.pk, TAB_A, "specific.gone!abc")
    assert claim == {"won": True, "previous": ""}
    assert (await relay_state.claim_seat(session.pk, TAB_B, "specific.other!def"))["won"] is False
    await asyncio.sleep(0.3)
    comm, welcome = await _tab(session.pk, grant, TAB_B, "page-b")
    assert welcome["dormant"] is False
    await comm.disconnect()


async def test_racing_hellos_from_two_tabs_give_exactly_one_holder():
    session, grant, agent = await _setup()
    tabs = await asyncio.gather(*(_tab(session.pk, grant, f"tab-racer-{n}", f"page-{n}") for n in range(4)))
    assert sorted(welcome["dormant"] for _, welcome in tabs) == [False, True, True, True]
    claims = await asyncio.gather(
        *(relay_state.claim_seat(9999, f"tab-x-{n:04}", f"c{n}") for n in range(20))
    )
    assert sum(claim["won"] for claim in claims) == 1
    for comm, _ in tabs:
        await comm.disconnect()


async def test_take_seat_from_the_holder_or_before_hello_is_an_error():
    session, grant, agent = await _setup()
    holder, _ = await _tab(session.pk, grant, TAB_A, "page-a")
    await holder.send_json_to(_msg("take_seat", {}, 1))
    assert (await _receive_type(holder, "error"))["data"]["code"] == "already_sharing"
    early = WebsocketCommunicator(
        application, f"/ws/cobrowse/{session.pk}/customer/", headers=[(b"origin", ORIGIN)]
    )
    assert (await early.connect())[0]
    await early.send_json_to(_msg("take_seat", {}, 0))
    assert (await _receive_type(early, "error"))["data"]["code"] == "not_ready"
    for comm in (holder, early):
        await comm.disconnect()


async def test_a_bad_tab_id_is_an_error_and_the_socket_stays_unadmitted():
    session, grant, agent = await _setup()
    for tab_id in ("short", "has space in it", "x" * 65, 12345678, "tab;drop-table"):
        comm = await _open(session.pk, grant, tab_id, "page-a")
        error = (await _receive_type(comm, "error"))["data"]
        assert error["field"] == "data.tab_id", tab_id
        assert error["code"] in ("bad_value", "too_long", "wrong_type")
        await comm.send_json_to(_msg("take_seat", {}, 1))
        assert (await _receive_type(comm, "error"))["data"]["code"] == "not_ready"
        await comm.disconnect()
    assert await relay_state.seat_holder(session.pk) is None
