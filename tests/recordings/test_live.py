"""The relay's capture API: open_recorder / append / stop, consent, suspend and resume."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from channels.db import database_sync_to_async

from recordings import live, selectors
from recordings.models import Recording
from tests.recordings.rec_helpers import envelopes, recorded_session, recording_env  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("recording_env")]


def _replay(recording: Recording) -> dict:
    return orjson.loads(b"".join(selectors.replay_stream(recording)))


async def test_round_trip_through_the_relay_api(agent, customer):
    session = await database_sync_to_async(recorded_session)(agent, customer)
    recorder = await live.open_recorder(session.pk)
    assert recorder is not None
    for envelope in envelopes():
        recorder.append(envelope)
    recorder.append({"type": "ping", "data": {}})  # not part of a recording
    await recorder.stop("ended")
    await recorder.stop("ended")  # idempotent

    recording = await database_sync_to_async(Recording.objects.select_related("session").get)(session=session)
    assert recording.complete and recording.ended_at is not None
    assert recording.event_count == 4
    assert recording.chunk_count >= 1 and recording.bytes_stored > 0
    assert recording.key_id == "t1"
    body = await database_sync_to_async(_replay)(recording)
    assert body["status"]["state"] == "complete"
    stored = [event for chunk in body["chunks"] for event in chunk]
    assert [event["type"] for event in stored] == ["rrweb", "rrweb", "annotate", "rrweb"]
    assert stored[2]["data"] == {"kind": "highlight", "node_id": 7, "page_id": "p1"}
    assert all(isinstance(event["at"], int) for event in stored)


async def test_no_capture_without_recording_consent(agent, customer):
    session = await database_sync_to_async(recorded_session)(agent, customer, recording=False)
    assert await live.open_recorder(session.pk) is None
    assert not await database_sync_to_async(Recording.objects.filter(session=session).exists)()


async def test_no_capture_when_the_account_forbids_recording(agent, customer):
    session = await database_sync_to_async(recorded_session)(agent, customer)
    customer.account.recording_allowed = False
    await database_sync_to_async(customer.account.save)()
    assert await live.open_recorder(session.pk) is None


async def test_unknown_session_is_not_recorded(db):
    assert await live.open_recorder(987654321) is None


async def test_stop_ignores_later_frames_at_once(agent, customer):
    session = await database_sync_to_async(recorded_session)(agent, customer)
    recorder = await live.open_recorder(session.pk)
    recorder.append(envelopes()[0])
    stopping = asyncio.ensure_future(recorder.stop("recording_withdrawn"))
    await asyncio.sleep(0)
    recorder.append(envelopes()[1])  # arrives after the withdrawal: dropped
    await stopping
    recording = await database_sync_to_async(Recording.objects.get)(session=session)
    assert recording.event_count == 1 and recording.complete


async def test_disconnect_suspends_and_reconnect_resumes(agent, customer):
    session = await database_sync_to_async(recorded_session)(agent, customer)
    first = await live.open_recorder(session.pk)
    first.append(envelopes()[0])
    await first.stop("disconnect")
    recording = await database_sync_to_async(Recording.objects.get)(session=session)
    assert not recording.complete and recording.ended_at is None and recording.chunk_count == 1

    second = await live.open_recorder(session.pk)
    assert second is not None and second is not first
    second.append(envelopes()[1])
    await second.stop("ended")
    recording = await database_sync_to_async(Recording.objects.select_related("session").get)(session=session)
    assert recording.complete and recording.event_count == 2
    body = await database_sync_to_async(_replay)(recording)
    assert body["status"]["state"] == "complete"
    assert [e["seq"] for chunk in body["chunks"] for e in chunk] == [1, 2]
    # A finished recording is not reopened.
    assert await live.open_recorder(session.pk) is None


async def test_two_sockets_share_one_recorder(agent, customer):
    session = await database_sync_to_async(recorded_session)(agent, customer)
    one = await live.open_recorder(session.pk)
    two = await live.open_recorder(session.pk)
    assert one is two
    await two.stop("disconnect")
    assert not one.stopped
    one.append(envelopes()[0])
    await one.stop("ended")
    recording = await database_sync_to_async(Recording.objects.get)(session=session)
    assert recording.complete and recording.event_count == 1


async def test_chunks_are_written_in_the_background_during_capture(agent, customer, monkeypatch):
    monkeypatch.setattr(live, "FLUSH_CHECK_SECONDS", 0.05)
    session = await database_sync_to_async(recorded_session)(agent, customer)
    recorder = await live.open_recorder(session.pk)
    recorder._writer._flush_interval = 0.05
    recorder.append(envelopes()[0])
    for _ in range(40):
        await asyncio.sleep(0.05)
        if recorder._writer.summary().chunks:
            break
    assert recorder._writer.summary().chunks == 1
    await recorder.stop("ended")


async def test_browser_frames_are_throttled(agent, customer):
    session = await database_sync_to_async(recorded_session)(agent, customer)
    recorder = await live.open_recorder(session.pk)
    for i in range(5):
        recorder.append_frame(b"\xff\xd8jpeg", 1000 + i)
    await recorder.stop("ended")
    recording = await database_sync_to_async(Recording.objects.get)(session=session)
    assert recording.event_count == 1
