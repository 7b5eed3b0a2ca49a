"""Recording services: retention policy, tamper reporting, rotation, deletion and erasure."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from django.core.management import call_command
from django.db import connection

from accounts.models import Industry
from audit.models import AuditEvent
from consent import answers
from recordings import crypto, selectors, services
from recordings.blobstore import BlobStore
from recordings.capture import open_recording
from recordings.keys import generate_entry
from recordings.models import DeletionReason, Recording
from tests.factories import make_account
from tests.recordings.rec_helpers import build_recording, recorded_session, recording_env  # noqa: F401

pytestmark = pytest.mark.usefixtures("recording_env")


def _replay(recording: Recording) -> dict:
    return orjson.loads(b"".join(selectors.replay_stream(recording)))


def _chunk_file(recording: Recording, index: int) -> Path:
    store = BlobStore()
    return Path(store.storage.path(store.chunk_path(recording.pk, index)))


# --- retention policy -----------------------------------------------------------------------


def test_retention_days(settings, db):
    settings.RECORDING_RETENTION_DAYS = 90
    assert services.retention_days(None) == 90
    general = make_account("General Co")
    assert services.retention_days(general) == 90
    regulated = make_account("Clinic", industry=Industry.HEALTHCARE)
    assert services.retention_days(regulated) == 30
    regulated.recording_retention_days = 14
    assert services.retention_days(regulated) == 14
    general.recording_retention_days = 365
    assert services.retention_days(general) == 365


def test_new_recording_gets_its_retention_date(agent, customer, settings):
    settings.RECORDING_RETENTION_DAYS = 90
    recording = build_recording(recorded_session(agent, customer))
    days = (recording.retention_until - recording.started_at).days
    assert days == 90


# --- replay status ----------------------------------------------------------------------------


def test_tampered_chunk_reads_as_tampered_not_an_error(agent, customer):
    recording = build_recording(recorded_session(agent, customer))
    path = _chunk_file(recording, 1)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01
    path.write_bytes(bytes(data))
    body = _replay(recording)
    assert body["status"]["state"] == "tampered"
    assert body["status"]["error"].startswith("chunk 1: authentication failed")
    assert len(body["chunks"]) == 1  # what came before the damage still plays


def test_removed_tail_reads_as_incomplete(agent, customer):
    recording = build_recording(recorded_session(agent, customer))
    last = recording.chunk_count - 1
    _chunk_file(recording, last).unlink()
    body = _replay(recording)
    assert body["status"]["state"] in {"tampered", "incomplete"}
    assert "missing" in body["status"]["error"]


# --- rotation ---------------------------------------------------------------------------------


def test_rotation_rewraps_under_the_new_key_and_old_stays_readable(agent, customer, other_customer, settings):
    old_entry = settings.RECORDING_KEYS[0]
    first = build_recording(recorded_session(agent, customer))
    second = build_recording(recorded_session(agent, other_customer))
    before = _replay(first)
    settings.RECORDING_KEYS = [generate_entry("t2"), old_entry]

    # Before rotation: still readable through the old key.
    assert _replay(first)["chunks"] == before["chunks"]
    call_command("rotate_recording_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115
    for recording in (first, second):
        recording.refresh_from_db()
        assert recording.key_id == "t2"
        assert crypto.wrapped_key_info(bytes(recording.wrapped_key)).key_id == "t2"
    assert _replay(first)["chunks"] == before["chunks"]

    # Only the new key is needed now.
    settings.RECORDING_KEYS = [settings.RECORDING_KEYS[0]]
    assert _replay(first)["status"]["state"] == "complete"
    report = services.rotate_keys()
    assert (report.rewrapped, report.current) == (0, 2)
    assert AuditEvent.objects.filter(action="recording.keys_rotated").count() == 2


def test_rotation_command_reports_counts(agent, customer, settings, capsys):
    old_entry = settings.RECORDING_KEYS[0]
    build_recording(recorded_session(agent, customer))
    settings.RECORDING_KEYS = [generate_entry("t2"), old_entry]
    call_command("rotate_recording_keys")
    out = capsys.readouterr().out
    assert "re-wrapped 1" in out and "already current 0" in out and "failed 0" in out


# --- deletion ---------------------------------------------------------------------------------


def test_manager_deletion_shreds_key_then_blobs_and_keeps_the_row(agent, customer, manager):
    recording = build_recording(recorded_session(agent, customer))
    wrapped = bytes(recording.wrapped_key)
    assert services.delete_by_manager(recording, manager=manager) is True
    recording.refresh_from_db()
    assert bytes(recording.wrapped_key) == b""
    assert recording.deleted_at is not None and recording.deletion_reason == DeletionReason.MANAGER
    assert BlobStore().chunk_indices(recording.pk) == []
    with pytest.raises(crypto.RecordingCryptoError):
        open_recording(recording.pk, bytes(recording.wrapped_key))
    assert _replay(recording)["status"]["state"] == "deleted"
    event = AuditEvent.objects.get(action="recording.deleted")
    assert event.details == {"recording": recording.pk, "reason": "manager"}
    assert wrapped  # the old key is gone from the row
    assert services.delete_by_manager(recording, manager=manager) is False  # idempotent
    assert AuditEvent.objects.filter(action="recording.deleted").count() == 1


def test_customer_erasure(agent, customer, other_customer):
    from django.core.exceptions import PermissionDenied

    recording = build_recording(recorded_session(agent, customer))
    with pytest.raises(PermissionDenied):
        services.erase_for_customer(recording, customer=other_customer)
    assert services.erase_for_customer(recording, customer=customer)
    recording.refresh_from_db()
    assert recording.deletion_reason == DeletionReason.ERASURE


def test_agents_cannot_delete(agent, customer):
    from django.core.exceptions import PermissionDenied

    recording = build_recording(recorded_session(agent, customer))
    with pytest.raises(PermissionDenied):
        services.delete_by_manager(recording, manager=agent)


def test_close_abandoned_writes_the_final_chunk(agent, customer):
    from recordings.capture import RecordingWriter

    session = recorded_session(agent, customer)
    target = services.begin_capture(session.pk)
    writer = RecordingWriter(
        target.recording.pk, target.data_key, bytes(target.recording.wrapped_key), background=False
    )
    writer.append({"type": "rrweb", "seq": 1, "ts": 1, "at": 1, "data": {"events": []}})
    writer.flush()  # the process "dies" here: no final chunk
    answers.revoke_session(session.pk)
    assert services.close_abandoned() == 1
    recording = Recording.objects.select_related("session").get(pk=target.recording.pk)
    assert recording.complete and recording.chunk_count == 2
    assert _replay(recording)["status"]["state"] == "complete"
    assert connection.vendor == "postgresql"
