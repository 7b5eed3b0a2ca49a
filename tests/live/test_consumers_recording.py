"""The relay records what it relays — only with the customer's recording consent, already redacted,
and stops within the same second when the session ends."""

from __future__ import annotations

import asyncio
import json

import pytest
from channels.db import database_sync_to_async

from cobrowse import services as session_services
from recordings.capture import open_recording
from recordings.models import Recording
from tests.consent.helpers import consent
from tests.factories import make_account, make_ticket, make_user
from tests.live.test_consumers import SECRETS, _agent, _customer, _msg, _receive_type, _serial
from tests.recordings.rec_helpers import recording_env  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def _setup(recording: bool):
    n = next(_serial)
    account = make_account("Acme Home Loans")
    customer = make_user(f"rcust{n}", role="customer", account=account)
    agent = make_user(f"ragent{n}", role="agent", agent_level="L2", first_name="Priya")
    session, grant = consent(make_ticket(customer), agent, mode="guided", recording=recording)
    return session, grant, agent


def _events_with_a_card() -> list[dict]:
    snapshot = {
        "type": 2,
        "timestamp": 1,
        "data": {
            "node": {
                "type": 0,
                "id": 1,
                "childNodes": [
                    {
                        "type": 2,
                        "id": 2,
                        "tagName": "p",
                        "attributes": {},
                        "childNodes": [{"type": 3, "id": 3, "textContent": "Card " + SECRETS["card"]}],
                    }
                ],
            },
            "initialOffset": {"top": 0, "left": 0},
        },
    }
    return [
        {"type": 4, "timestamp": 0, "data": {"href": "http://localhost:8001/", "width": 1, "height": 1}},
        snapshot,
    ]


@database_sync_to_async
def _read(session_id: int) -> tuple[Recording, list[dict]]:
    recording = Recording.objects.get(session_id=session_id)
    reader = open_recording(recording.pk, bytes(recording.wrapped_key))
    return recording, list(reader.events())


async def test_relayed_frames_and_annotations_are_recorded_redacted(recording_env):  # noqa: F811
    session, grant, agent = await _setup(recording=True)
    customer = await _customer(session.pk, grant)
    await _receive_type(customer, "welcome")
    agent_comm = await _agent(session.pk, agent)
    await _receive_type(agent_comm, "welcome")
    await customer.send_json_to(_msg("rrweb", {"events": _events_with_a_card(), "page_id": "p1"}, 1))
    await _receive_type(agent_comm, "rrweb")
    await agent_comm.send_json_to(_msg("annotate", {"kind": "highlight", "node_id": 2, "page_id": "p1"}, 0))
    await _receive_type(customer, "annotate")
    await database_sync_to_async(session_services.end_session)(session.pk, actor=agent)
    await _receive_type(customer, "ended")
    await asyncio.sleep(0.2)
    recording, events = await _read(session.pk)
    assert recording.complete
    kinds = [e["type"] for e in events]
    assert "rrweb" in kinds and "annotate" in kinds
    blob = json.dumps(events)
    assert SECRETS["card"] not in blob and SECRETS["card"].replace(" ", "") not in blob
    await agent_comm.disconnect()


async def test_nothing_is_recorded_without_recording_consent(recording_env):  # noqa: F811
    session, grant, agent = await _setup(recording=False)
    customer = await _customer(session.pk, grant)
    await _receive_type(customer, "welcome")
    await customer.send_json_to(_msg("rrweb", {"events": _events_with_a_card(), "page_id": "p1"}, 1))
    await _receive_type(customer, "ack")
    await customer.disconnect()
    exists = await database_sync_to_async(Recording.objects.filter(session_id=session.pk).exists)()
    assert not exists


async def test_a_recording_that_cannot_be_opened_yet_is_tried_again(recording_env, monkeypatch):  # noqa: F811
    """A web node killed outright leaves the recording's writer lock behind until it lapses: the
    page's new socket on another node keeps trying and records once it can."""
    from live.consumers import customer as customer_consumer
    from recordings import live as recordings_live

    monkeypatch.setattr(customer_consumer, "RECORDING_RETRY_S", 0.2)
    real = recordings_live.open_recorder
    refusals = [None, None]  # the lock is still held twice, then it lapses

    async def held_for_a_while(session_id):
        if refusals:
            return refusals.pop()
        return await real(session_id)

    monkeypatch.setattr(recordings_live, "open_recorder", held_for_a_while)
    session, grant, agent = await _setup(recording=True)
    customer = await _customer(session.pk, grant)
    await _receive_type(customer, "welcome")
    for _ in range(50):
        if not refusals:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # the third try opens it
    await customer.send_json_to(_msg("rrweb", {"events": _events_with_a_card(), "page_id": "p1"}, 1))
    await _receive_type(customer, "ack")
    await database_sync_to_async(session_services.end_session)(session.pk, actor=agent)
    await _receive_type(customer, "ended")
    await asyncio.sleep(0.2)
    _recording, events = await _read(session.pk)
    assert "rrweb" in [e["type"] for e in events]
