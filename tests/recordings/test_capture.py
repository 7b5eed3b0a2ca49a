"""Buffered capture writer and verifying reader, end to end through the blob store."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import orjson
import pytest

from recordings.blobstore import BlobStore
from recordings.capture import (
    CaptureClosedError,
    CaptureOverflowError,
    RecordingWriter,
    ResumeError,
    open_recording,
)
from recordings.crypto import (
    ChunkAuthenticationError,
    ChunkMissingError,
    ChunkOrderError,
    TruncatedRecordingError,
    UnknownKeyError,
    rewrap,
    wrapped_key_info,
)
from recordings.keys import generate_entry, parse_keyring
from tests.recordings.conftest import blob_path
from tests.recordings.events import CANARY, rrweb_session

ROOT = Path(__file__).resolve().parents[2]


def _record(store, keyring, rid, events, **options):
    options.setdefault("chunk_bytes", 16 * 1024)
    with RecordingWriter.start(rid, keyring=keyring, store=store, **options) as writer:
        for event in events:
            writer.append(event)
    return writer


def _wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError("condition not reached in time")


@pytest.fixture
def session():
    return rrweb_session(3000, canary_every=97)


@pytest.fixture
def recorded(store, keyring, session):
    writer = _record(store, keyring, "rec-1", session)
    return writer.wrapped_key


def test_realistic_session_round_trips_in_order(store, keyring, session):
    writer = _record(store, keyring, "rec-1", session)
    summary = writer.summary()
    assert summary.events == 3000
    assert summary.chunks == len(store.chunk_indices("rec-1")) > 5
    assert summary.stored_bytes == store.stored_bytes("rec-1")
    assert summary.stored_bytes < summary.json_bytes / 3
    reader = open_recording("rec-1", writer.wrapped_key, keyring=keyring, store=store)
    playback = reader.read(require_complete=True)
    assert playback.complete and reader.complete
    assert playback.chunks == summary.chunks
    assert playback.events == session
    assert list(reader.events()) == session


def test_payloads_stream_verified_json_without_parsing(store, keyring, recorded, session):
    reader = open_recording("rec-1", recorded, keyring=keyring, store=store)
    parts = [opened.payload for opened in reader.payloads()]
    assert reader.complete is True
    assert [event for part in parts for event in orjson.loads(part)] == session
    path = blob_path(store, "rec-1", 1)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x80  # the GCM tag
    path.write_bytes(bytes(data))
    payloads = open_recording("rec-1", recorded, keyring=keyring, store=store).payloads()
    assert next(payloads).index == 0
    with pytest.raises(ChunkAuthenticationError, match="chunk 1"):
        next(payloads)


def test_remote_storage_is_read_with_ordered_parallel_prefetch(tmp_path, keyring, session):
    from django.core.files.storage import FileSystemStorage

    state = {"now": 0, "max": 0}
    guard = threading.Lock()

    class SlowRemoteStore(BlobStore):
        is_local = False  # behave like S3: every chunk is a slow request

        def get_chunk(self, recording_id, index):
            with guard:
                state["now"] += 1
                state["max"] = max(state["max"], state["now"])
            time.sleep(0.02)
            with guard:
                state["now"] -= 1
            return super().get_chunk(recording_id, index)

    store = SlowRemoteStore(FileSystemStorage(location=tmp_path))
    writer = _record(store, keyring, "remote", session, chunk_bytes=8 * 1024)
    chunks = writer.summary().chunks
    assert chunks > 20
    playback = open_recording("remote", writer.wrapped_key, keyring=keyring, store=store).read()
    assert playback.complete and playback.events == session
    assert state["max"] > 1  # fetched in parallel, yet yielded in order
    path = blob_path(store, "remote", chunks // 2)
    tampered = bytearray(path.read_bytes())
    tampered[-1] ^= 0x01
    path.write_bytes(bytes(tampered))
    with pytest.raises(ChunkAuthenticationError) as info:
        open_recording("remote", writer.wrapped_key, keyring=keyring, store=store).read()
    assert info.value.index == chunks // 2
    sequential = open_recording("remote", writer.wrapped_key, keyring=keyring, store=store, prefetch=0)
    state["max"] = 0
    assert next(sequential.events()) == session[0]
    assert state["max"] == 1


def test_stored_bytes_hold_no_plaintext_even_after_gunzip(store, keyring, recorded, session):
    raw = b"".join(store.get_chunk("rec-1", i) for i in store.chunk_indices("rec-1"))
    known = [CANARY.encode(), orjson.dumps(session[0]), b'"source":5', b"Label ", b"timestamp"]
    known.append(base64.b64encode(CANARY.encode())[:16])
    for needle in known:
        assert needle not in raw
    # No gzip stream hides in the blobs either: every gzip-looking offset fails to inflate to the events.
    for match in re.finditer(rb"\x1f\x8b\x08", raw):
        try:
            inflated = zlib.decompressobj(31).decompress(raw[match.start() :], 1 << 20)
        except zlib.error:
            continue
        assert CANARY.encode() not in inflated and b"timestamp" not in inflated
    assert keyring.active.secret not in raw


def test_chunk_swap_is_detected_and_named(store, keyring, recorded):
    one, two = blob_path(store, "rec-1", 1), blob_path(store, "rec-1", 2)
    a, b = one.read_bytes(), two.read_bytes()
    one.write_bytes(b)
    two.write_bytes(a)
    reader = open_recording("rec-1", recorded, keyring=keyring, store=store)
    with pytest.raises(ChunkOrderError, match="chunk 1: stored at position 1 but written as chunk 2"):
        reader.read()


def test_reordering_with_a_rewritten_header_index_is_detected(store, keyring, recorded):
    blob = store.get_chunk("rec-1", 3)
    forged = blob[:5] + (2).to_bytes(4, "big") + blob[9:]
    blob_path(store, "rec-1", 2).write_bytes(forged)
    with pytest.raises(ChunkAuthenticationError, match="chunk 2: authentication failed"):
        open_recording("rec-1", recorded, keyring=keyring, store=store).read()


def test_bit_flip_in_a_stored_chunk_is_detected(store, keyring, recorded):
    path = blob_path(store, "rec-1", 4)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    reader = open_recording("rec-1", recorded, keyring=keyring, store=store)
    events = reader.events()
    with pytest.raises(ChunkAuthenticationError) as info:
        list(events)
    assert info.value.index == 4


def test_missing_final_chunk_reads_as_incomplete_or_fails_when_required(store, keyring, recorded, session):
    indices = store.chunk_indices("rec-1")
    last = indices[-1]
    full = open_recording("rec-1", recorded, keyring=keyring, store=store).read()
    tail = len(list(open_recording("rec-1", recorded, keyring=keyring, store=store).chunks()))
    assert tail == len(indices)
    blob_path(store, "rec-1", last).unlink()
    reader = open_recording("rec-1", recorded, keyring=keyring, store=store)
    playback = reader.read()
    assert playback.complete is False and playback.chunks == last
    assert playback.events == session[: len(playback.events)] and len(playback.events) < len(full.events)
    with pytest.raises(TruncatedRecordingError, match=f"chunk {last}: missing: the recording has no final"):
        reader.read(require_complete=True)
    with pytest.raises(ChunkMissingError, match=f"{len(indices)} chunks were written, {last} are stored"):
        open_recording("rec-1", recorded, keyring=keyring, store=store, expected_chunks=len(indices)).read()


def test_missing_middle_chunk_is_named_before_any_event(store, keyring, recorded):
    blob_path(store, "rec-1", 2).unlink()
    with pytest.raises(ChunkMissingError, match="chunk 2: missing from storage"):
        next(open_recording("rec-1", recorded, keyring=keyring, store=store).events())


def test_chunks_appended_after_the_final_one_are_refused(store, keyring, recorded):
    last = store.chunk_indices("rec-1")[-1]
    store.put_chunk("rec-1", last + 1, store.get_chunk("rec-1", 0))
    with pytest.raises(ChunkOrderError, match=f"chunk {last + 1}: stored after the final chunk"):
        open_recording("rec-1", recorded, keyring=keyring, store=store).read()


def test_chunk_from_another_recording_is_refused(store, keyring, recorded, session):
    _record(store, keyring, "rec-2", session)
    blob_path(store, "rec-1", 1).write_bytes(store.get_chunk("rec-2", 1))
    with pytest.raises(ChunkOrderError, match="rec-1 chunk 1: the chunk belongs to another recording"):
        open_recording("rec-1", recorded, keyring=keyring, store=store).read()


def test_key_rotation_keeps_old_recordings_readable_and_new_ones_use_the_new_key(store, keyring, session):
    old_entry = f"k1:{base64.urlsafe_b64encode(keyring.active.secret).decode()}"
    old_wrapped = _record(store, keyring, "old", session[:500]).wrapped_key
    rotated = parse_keyring([generate_entry("k2"), old_entry])
    # Before re-wrapping, the old recording still opens with the rotated ring (k1 still listed).
    assert open_recording("old", old_wrapped, keyring=rotated, store=store).read().events == session[:500]
    new_wrapped = _record(store, rotated, "new", session[500:900]).wrapped_key
    assert wrapped_key_info(new_wrapped).key_id == "k2"
    chunks_before = {i: store.get_chunk("old", i) for i in store.chunk_indices("old")}
    old_rewrapped = rewrap(old_wrapped, rotated)
    assert wrapped_key_info(old_rewrapped).key_id == "k2"
    assert {i: store.get_chunk("old", i) for i in store.chunk_indices("old")} == chunks_before
    only_k2 = parse_keyring(
        [rotated.keys[0].key_id + ":" + base64.urlsafe_b64encode(rotated.active.secret).decode()]
    )
    assert open_recording("old", old_rewrapped, keyring=only_k2, store=store).read().events == session[:500]
    assert open_recording("new", new_wrapped, keyring=only_k2, store=store).read().events == session[500:900]
    with pytest.raises(UnknownKeyError, match="'k1'"):
        open_recording("old", old_wrapped, keyring=only_k2, store=store)


def test_size_triggered_chunks(store, keyring):
    writer = RecordingWriter.start("sized", keyring=keyring, store=store, chunk_bytes=1000, background=False)
    for i in range(20):
        writer.append({"pad": "x" * 90, "i": i})  # ~105 B each: a chunk is cut every 10 events
    assert store.chunk_indices("sized") == []  # cutting is not writing: append never touches storage
    assert writer.flush() == 2
    writer.append({"i": 20})
    assert writer.flush() == 1
    writer.close()
    chunks = list(open_recording("sized", writer.wrapped_key, keyring=keyring, store=store).chunks())
    assert [len(chunk.events) for chunk in chunks] == [10, 10, 1, 0]
    assert [chunk.final for chunk in chunks] == [False, False, False, True]


def test_background_thread_flushes_by_time_without_close(store, keyring):
    writer = RecordingWriter.start("timed", keyring=keyring, store=store, flush_interval=0.2)

    def stored_events():
        reader = open_recording("timed", writer.wrapped_key, keyring=keyring, store=store)
        return [event["i"] for event in reader.events()]

    try:
        writer.append({"i": 0})
        writer.append({"i": 1})
        _wait_for(lambda: stored_events() == [0, 1])
        writer.append({"i": 2})
        _wait_for(lambda: stored_events() == [0, 1, 2])
    finally:
        writer.close()
    playback = open_recording("timed", writer.wrapped_key, keyring=keyring, store=store).read()
    assert playback.complete and [e["i"] for e in playback.events] == [0, 1, 2]


def test_append_never_waits_on_storage(tmp_path, keyring):
    release = threading.Event()
    appending_thread = threading.current_thread()

    class StalledStore(BlobStore):
        def put_chunk(self, recording_id, index, blob):
            if threading.current_thread() is appending_thread and not release.is_set():
                raise AssertionError("storage called from the appending thread")
            release.wait(30)
            return super().put_chunk(recording_id, index, blob)

    from django.core.files.storage import FileSystemStorage

    store = StalledStore(FileSystemStorage(location=tmp_path))
    writer = RecordingWriter.start(
        "stall", keyring=keyring, store=store, chunk_bytes=2000, flush_interval=0.05
    )
    started = time.monotonic()
    for i in range(5000):
        writer.append({"type": 3, "data": {"source": 1, "x": i}})
    elapsed = time.monotonic() - started
    assert store.chunk_indices("stall") == []  # storage has not accepted anything yet
    assert elapsed < 2.0, f"append blocked: {elapsed:.2f}s for 5000 events"
    release.set()
    writer.close()
    events = open_recording("stall", writer.wrapped_key, keyring=keyring, store=store).read().events
    assert [e["data"]["x"] for e in events] == list(range(5000))


def test_storage_errors_are_retried_in_order(tmp_path, keyring):
    failures = {"left": 3}

    class FlakyStore(BlobStore):
        def put_chunk(self, recording_id, index, blob):
            if failures["left"]:
                failures["left"] -= 1
                raise OSError("storage unavailable")
            return super().put_chunk(recording_id, index, blob)

    from django.core.files.storage import FileSystemStorage

    store = FlakyStore(FileSystemStorage(location=tmp_path))
    writer = RecordingWriter.start(
        "flaky", keyring=keyring, store=store, chunk_bytes=500, flush_interval=0.02
    )
    for i in range(200):
        writer.append({"i": i})
    _wait_for(lambda: failures["left"] == 0)
    writer.close()
    playback = open_recording("flaky", writer.wrapped_key, keyring=keyring, store=store).read()
    assert playback.complete and [e["i"] for e in playback.events] == list(range(200))


def test_overflow_when_storage_is_down_raises_instead_of_growing(tmp_path, keyring):
    class DownStore(BlobStore):
        def put_chunk(self, recording_id, index, blob):
            raise OSError("down")

    from django.core.files.storage import FileSystemStorage

    store = DownStore(FileSystemStorage(location=tmp_path))
    writer = RecordingWriter.start(
        "down", keyring=keyring, store=store, chunk_bytes=100, max_pending_bytes=5000, background=False
    )
    with pytest.raises(CaptureOverflowError):
        for i in range(1000):
            writer.append({"i": i, "pad": "y" * 40})
    with pytest.raises(OSError, match="down"):
        writer.close()


async def test_async_flush_and_close(store, keyring):
    writer = RecordingWriter.start("async", keyring=keyring, store=store, background=False)
    writer.append({"i": 0})
    assert writer.flush_due() is False
    assert await writer.aflush() == 1
    assert store.chunk_indices("async") == [0]
    writer.append({"i": 1})
    summary = await writer.aclose()
    assert summary.chunks == 2 and summary.events == 2
    with pytest.raises(CaptureClosedError):
        writer.append({"i": 2})
    assert writer.close() == summary  # closing twice is harmless
    playback = open_recording("async", writer.wrapped_key, keyring=keyring, store=store).read()
    assert playback.complete and playback.events == [{"i": 0}, {"i": 1}]


def test_flush_due_follows_the_interval(store, keyring):
    now = [100.0]
    writer = RecordingWriter.start(
        "clock", keyring=keyring, store=store, background=False, flush_interval=5, clock=lambda: now[0]
    )
    writer.append({"i": 0})
    now[0] += 4.9
    assert not writer.flush_due()
    now[0] += 0.2
    assert writer.flush_due()
    writer.flush()
    assert not writer.flush_due()
    writer.close()


def test_empty_recording_has_a_final_chunk(store, keyring):
    writer = RecordingWriter.start("empty", keyring=keyring, store=store, background=False)
    assert writer.close().chunks == 1
    playback = open_recording("empty", writer.wrapped_key, keyring=keyring, store=store).read(
        require_complete=True
    )
    assert playback.events == [] and playback.complete


def test_resume_continues_an_unfinished_recording(store, keyring):
    first = RecordingWriter.start("resume", keyring=keyring, store=store, background=False)
    first.append({"i": 0})
    first.flush()  # then the process dies without close()
    second = RecordingWriter.resume(
        "resume", first.wrapped_key, keyring=keyring, store=store, background=False
    )
    second.append({"i": 1})
    second.close()
    playback = open_recording("resume", first.wrapped_key, keyring=keyring, store=store).read()
    assert playback.complete and playback.events == [{"i": 0}, {"i": 1}]
    with pytest.raises(ResumeError, match="already closed"):
        RecordingWriter.resume("resume", first.wrapped_key, keyring=keyring, store=store, background=False)


_CRASHING_WRITER = """
import os, signal, sys, time
import django
django.setup()
from django.core.files.storage import FileSystemStorage
from recordings.blobstore import BlobStore
from recordings.capture import RecordingWriter
from recordings.keys import parse_keyring

store = BlobStore(FileSystemStorage(location=sys.argv[1]))
writer = RecordingWriter.start("crash", keyring=parse_keyring([sys.argv[2]]), store=store, flush_interval=0.2)
print(writer.wrapped_key.hex(), flush=True)
for batch in range(2):
    for i in range(batch * 50, batch * 50 + 50):
        writer.append({"i": i})
    deadline = time.monotonic() + 10
    while len(store.chunk_indices("crash")) <= batch and time.monotonic() < deadline:
        time.sleep(0.01)
for i in range(100, 120):
    writer.append({"i": i})
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_crash_without_close_loses_only_the_last_interval(tmp_path, keyring):
    entry = f"k1:{base64.urlsafe_b64encode(keyring.active.secret).decode()}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run(
        [sys.executable, "-c", _CRASHING_WRITER, str(tmp_path), entry],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == -9, result.stderr
    wrapped = bytes.fromhex(result.stdout.strip())
    from django.core.files.storage import FileSystemStorage

    store = BlobStore(FileSystemStorage(location=tmp_path))
    playback = open_recording("crash", wrapped, keyring=keyring, store=store).read()
    assert playback.complete is False
    numbers = [e["i"] for e in playback.events]
    assert numbers == list(range(len(numbers)))  # the complete chunks, in order
    assert 100 <= len(numbers) < 120  # only the unflushed tail is lost
