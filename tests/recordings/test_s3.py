"""Recordings on a real S3 API: moto's server on loopback, spoken to over HTTP by django-storages.

Capture through the relay's recorder, replay through the views, the retention purge and
crypto-shredding, each checked by listing the bucket; and the endpoint going down while recording.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import orjson
import pytest
from asgiref.sync import async_to_sync
from django.core.exceptions import ImproperlyConfigured

from recordings import live, selectors, services, tasks
from recordings.blobstore import BlobStore
from recordings.crypto import KeyShreddedError, RecordingCryptoError, open_chunk, unwrap_data_key
from recordings.keys import parse_keyring
from recordings.models import Recording
from recordings.s3 import s3_storage
from tests.recordings.rec_helpers import age, envelopes, recorded_session, recording_env  # noqa: F401

pytestmark = pytest.mark.usefixtures("recording_env", "aws_credentials")

MOTO = Path(sys.executable).with_name("moto_server")
REGION = "us-east-1"
PREFIX = "tandem"
# Fills a chunk on its own (more than 256 KB of event JSON): the relay's recorder cuts one at once.
BIG = {"type": "rrweb", "seq": 9, "ts": 1_700_000_005_000, "data": {"events": [{"text": "row " * 70_000}]}}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_moto(port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [str(MOTO), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("moto_server exited") from None
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("moto_server did not start")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    port = _free_port()
    proc = _start_moto(port)
    yield f"http://127.0.0.1:{port}"
    _stop(proc)


@pytest.fixture
def aws_credentials(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "moto-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "moto-test-secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


def _client(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION)


def _use_bucket(settings, endpoint: str, bucket: str) -> None:
    """Point ``STORAGES["recordings"]`` at ``bucket``, built as config/settings.py builds it."""
    entry = s3_storage(
        bucket=bucket,
        endpoint_url=endpoint,
        region=REGION,
        prefix=PREFIX,
        sse="AES256",
        connect_timeout=1,
        max_attempts=1,
    )
    settings.STORAGES = {**settings.STORAGES, "recordings": entry}


@pytest.fixture
def bucket(settings, moto_endpoint) -> str:
    name = f"rec-{uuid.uuid4().hex[:16]}"
    _client(moto_endpoint).create_bucket(Bucket=name)
    _use_bucket(settings, moto_endpoint, name)
    return name


def _objects(endpoint: str, bucket: str) -> dict[str, bytes]:
    """Every object in the bucket with its bytes, read over the S3 API."""
    client = _client(endpoint)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {key: client.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


def _capture(session_pk: int, items: list[dict]) -> None:
    """Record ``items`` as the relay does: open the session's recorder, append, stop at the end."""

    async def run() -> None:
        recorder = await live.open_recorder(session_pk)
        assert recorder is not None
        for item in items:
            recorder.append(item)
        await recorder.stop("ended")

    async_to_sync(run)()


def _session_items() -> list[dict]:
    items = envelopes()
    return [*items[:2], BIG, *items[2:]]


def _recorded(agent, customer) -> Recording:
    session = recorded_session(agent, customer)
    _capture(session.pk, _session_items())
    return Recording.objects.get(session=session)


def test_settings_entry_is_checked():
    entry = s3_storage(bucket="b", prefix="/p/", sse="aws:kms", kms_key_id="alias/rec")
    assert entry["BACKEND"] == "storages.backends.s3.S3Storage"
    options = entry["OPTIONS"]
    assert options["location"] == "p" and options["file_overwrite"] is False
    assert options["object_parameters"] == {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/rec"}
    for bad in ({"bucket": ""}, {"bucket": "b", "sse": "rot13"}, {"bucket": "b", "kms_key_id": "k"}):
        with pytest.raises(ImproperlyConfigured):
            s3_storage(**bad)


@pytest.mark.django_db(transaction=True)  # the recorder's database calls close the test's connection
def test_a_captured_recording_is_stored_in_the_bucket_and_replays(
    client, bucket, moto_endpoint, agent, customer, manager
):
    recording = _recorded(agent, customer)
    assert recording.complete and recording.chunk_count == 2 and not BlobStore().is_local
    stored = _objects(moto_endpoint, bucket)
    assert sorted(stored) == [
        f"{PREFIX}/recordings/{recording.pk}/0.bin",
        f"{PREFIX}/recordings/{recording.pk}/1.bin",
    ]
    assert recording.bytes_stored == sum(len(blob) for blob in stored.values())
    assert all(b"Loan application" not in blob and b"row row" not in blob for blob in stored.values())
    head = _client(moto_endpoint).head_object(Bucket=bucket, Key=next(iter(stored)))
    assert head["ServerSideEncryption"] == "AES256"

    client.force_login(manager)
    index = client.get(f"/manager/recordings/{recording.pk}/index/").json()
    assert index["status"] == {"state": "complete", "complete": True, "error": None, "chunks": 2}
    assert [c["bytes"] for c in index["chunks"]] == [len(stored[key]) for key in sorted(stored)]
    types = []
    for chunk in index["chunks"]:
        url = f"/manager/recordings/{recording.pk}/chunks/{chunk['index']}/?opening={index['opening']}"
        body = client.get(url).json()
        assert body["status"]["state"] == "ok" and body["final"] is chunk["final"]
        types += [event["type"] for event in body["events"]]
    assert types == ["rrweb", "rrweb", "rrweb", "annotate", "rrweb"]
    events = orjson.loads(
        b"".join(client.get(f"/manager/recordings/{recording.pk}/events/").streaming_content)
    )
    assert events["status"]["state"] == "complete" and len(events["chunks"]) == 2


@pytest.mark.django_db(transaction=True)
def test_retention_purge_removes_the_expired_recordings_objects(
    bucket, moto_endpoint, agent, customer, other_customer
):
    expired = _recorded(agent, customer)
    kept = _recorded(agent, other_customer)
    age(expired, 1)
    assert len(_objects(moto_endpoint, bucket)) == 4

    assert tasks.purge_expired_recordings() == {"ran": True, "deleted": 1, "failed": 0, "closed": 0}
    assert sorted(_objects(moto_endpoint, bucket)) == [
        f"{PREFIX}/recordings/{kept.pk}/0.bin",
        f"{PREFIX}/recordings/{kept.pk}/1.bin",
    ]
    expired.refresh_from_db()
    assert expired.is_deleted and bytes(expired.wrapped_key) == b""


@pytest.mark.django_db(transaction=True)
def test_shredded_while_s3_is_down_the_bytes_stay_unreadable_until_the_next_purge(
    client, settings, bucket, moto_endpoint, agent, customer, manager
):
    recording = _recorded(agent, customer)
    link = services.decide_access_request(
        services.request_access(recording, customer=customer).pk, manager=manager, approve=True
    ).link
    before = _objects(moto_endpoint, bucket)

    # The manager deletes while the bucket's endpoint is unreachable: the key goes, the bytes stay.
    _use_bucket(settings, f"http://127.0.0.1:{_free_port()}", bucket)
    client.force_login(manager)
    response = client.post(f"/manager/recordings/{recording.pk}/delete/")
    assert response.status_code == 302
    _use_bucket(settings, moto_endpoint, bucket)
    assert _objects(moto_endpoint, bucket) == before
    recording.refresh_from_db()
    assert recording.is_deleted and bytes(recording.wrapped_key) == b""

    # Nothing the server holds opens them: no data key is left, and a master key is not one.
    with pytest.raises(KeyShreddedError):
        unwrap_data_key(bytes(recording.wrapped_key), str(recording.pk))
    master = parse_keyring(settings.RECORDING_KEYS)
    for key, blob in before.items():
        index = int(key.rsplit("/", 1)[1].removesuffix(".bin"))
        with pytest.raises(RecordingCryptoError):
            open_chunk(master.active.secret, str(recording.pk), index, blob)

    # Every way in answers cleanly.
    base = f"/manager/recordings/{recording.pk}"
    index = client.get(f"{base}/index/")
    assert index.status_code == 410 and index.json()["status"]["state"] == "deleted"
    assert client.get(f"{base}/chunks/0/").status_code == 404
    assert client.get(f"{base}/events/").status_code == 410
    assert client.get(f"{base}/").status_code == 200
    body = orjson.loads(b"".join(selectors.replay_stream(recording)))
    assert body["status"]["state"] == "deleted" and body["chunks"] == []
    client.force_login(customer)
    token = link.rsplit("/copy/", 1)[1].strip("/")
    assert client.get(f"/portal/recordings/copy/{token}/index/").status_code in (404, 410)
    assert client.get(f"/portal/recordings/copy/{token}/chunks/0/").status_code in (404, 410)

    # The next retention run, with the endpoint back, removes the leftovers.
    assert tasks.purge_expired_recordings()["deleted"] == 0
    assert _objects(moto_endpoint, bucket) == {}


@pytest.mark.django_db(transaction=True)
def test_capture_rides_out_an_endpoint_outage(settings, monkeypatch, caplog, agent, customer):
    """The endpoint is down when the session starts: the relay's appends never fail, the chunk waits
    in memory and is retried, and once the endpoint answers the whole recording is stored."""
    port = _free_port()
    endpoint, name = f"http://127.0.0.1:{port}", f"rec-{uuid.uuid4().hex[:16]}"
    _use_bucket(settings, endpoint, name)
    monkeypatch.setattr(live, "FLUSH_CHECK_SECONDS", 0.05)
    session = recorded_session(agent, customer)
    items = _session_items()
    server: list[subprocess.Popen] = []

    def failures() -> list[logging.LogRecord]:
        return [r for r in caplog.records if "chunk write failed" in r.getMessage()]

    async def run() -> live.SessionRecorder:
        recorder = await live.open_recorder(session.pk)
        assert recorder is not None
        for item in items[:3]:  # the third fills a chunk: the flush loop tries to store it
            recorder.append(item)
        for _ in range(200):
            if failures():
                break
            await asyncio.sleep(0.02)
        for item in items[3:]:
            recorder.append(item)
        server.append(await asyncio.to_thread(_start_moto, port))
        await asyncio.to_thread(_client(endpoint).create_bucket, Bucket=name)
        await recorder.stop("ended")
        return recorder

    caplog.set_level(logging.WARNING, logger="recordings")
    try:
        recorder = async_to_sync(run)()
        assert failures() and recorder.dropped == 0 and recorder.final
        assert all("Loan application" not in r.getMessage() for r in caplog.records)
        recording = Recording.objects.get(session=session)
        stored = _objects(endpoint, name)  # the tail may have been cut in two while the server started
        assert recording.complete and recording.chunk_count == len(stored) >= 2
        body = orjson.loads(b"".join(selectors.replay_stream(recording)))
        assert body["status"]["state"] == "complete"
        assert [e["type"] for chunk in body["chunks"] for e in chunk] == [i["type"] for i in items]
    finally:
        for proc in server:
            _stop(proc)


@pytest.mark.django_db(transaction=True)
def test_a_reconnect_while_s3_is_down_is_not_recorded_and_a_later_one_resumes(
    settings, bucket, moto_endpoint, agent, customer
):
    session = recorded_session(agent, customer)
    items = envelopes()

    async def segment(first: list[dict], reason: str) -> live.SessionRecorder | None:
        recorder = await live.open_recorder(session.pk)
        if recorder is not None:
            for item in first:
                recorder.append(item)
            await recorder.stop(reason)
        return recorder

    assert async_to_sync(segment)(items[:2], "disconnect") is not None  # suspended: chunk 0 stored
    _use_bucket(settings, f"http://127.0.0.1:{_free_port()}", bucket)
    assert async_to_sync(segment)(items[2:3], "disconnect") is None  # cannot list its chunks: skipped
    _use_bucket(settings, moto_endpoint, bucket)
    assert async_to_sync(segment)(items[3:], "ended") is not None  # the writer lock was released
    recording = Recording.objects.get(session=session)
    assert recording.complete and recording.chunk_count == 2
    body = orjson.loads(b"".join(selectors.replay_stream(recording)))
    assert body["status"]["state"] == "complete"
    events = [e for chunk in body["chunks"] for e in chunk]
    # A resumed segment marks what was not recorded when it resumes more than GAP_MARK_SECONDS later.
    assert [e["seq"] for e in events if e["type"] != "gap"] == [1, 2, 3]
    assert [e["type"] for e in events].count("gap") <= 1


@pytest.mark.django_db(transaction=True)
def test_ending_while_s3_is_down_keeps_the_relay_going(settings, caplog, agent, customer):
    _use_bucket(settings, f"http://127.0.0.1:{_free_port()}", f"rec-{uuid.uuid4().hex[:16]}")
    session = recorded_session(agent, customer)

    async def run() -> live.SessionRecorder:
        recorder = await live.open_recorder(session.pk)
        assert recorder is not None
        for item in envelopes():
            recorder.append(item)
        await recorder.stop("ended")  # three tries to store the tail, then gives up without raising
        return recorder

    recorder = async_to_sync(run)()
    assert not recorder.final and recorder.stopped
    recording = Recording.objects.get(session=session)
    assert not recording.complete and recording.chunk_count == 0 and recording.ended_at is None
    assert any("storing the tail failed" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db(transaction=True)
def test_the_replay_answers_cleanly_while_s3_is_down(settings, client, bucket, agent, customer, manager):
    """The object store's client raises its own errors, not OSError: the replay still says the
    recording cannot be read now, and never answers with a server error."""
    recording = _recorded(agent, customer)
    client.force_login(manager)
    opening = client.get(f"/manager/recordings/{recording.pk}/index/").json()["opening"]
    _use_bucket(settings, f"http://127.0.0.1:{_free_port()}", bucket)  # the endpoint goes away
    from django.core.cache import cache

    cache.clear()  # the index is cached; ask the store again
    index = client.get(f"/manager/recordings/{recording.pk}/index/")
    assert index.status_code == 200 and index.json()["status"]["state"] == "unreadable"
    chunk = client.get(f"/manager/recordings/{recording.pk}/chunks/0/?opening={opening}")
    assert chunk.status_code == 200 and chunk.json()["status"]["state"] == "unreadable"
    events = client.get(f"/manager/recordings/{recording.pk}/events/")
    assert events.status_code == 200
    assert orjson.loads(b"".join(events.streaming_content))["status"]["state"] == "unreadable"
