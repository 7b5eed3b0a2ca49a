"""Recording models: constraints and the row that outlives its content."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from recordings.models import Highlight, RecordingAccessRequest
from tests.recordings.rec_helpers import build_recording, recorded_session, recording_env  # noqa: F401

pytestmark = pytest.mark.usefixtures("recording_env")


def test_highlight_range_is_enforced(agent, customer):
    recording = build_recording(recorded_session(agent, customer))
    with pytest.raises(IntegrityError), transaction.atomic():
        Highlight.objects.create(recording=recording, start_ms=5000, end_ms=5000, title="x", created_by=agent)


def test_one_open_access_request_per_customer(agent, customer):
    recording = build_recording(recorded_session(agent, customer))
    RecordingAccessRequest.objects.create(recording=recording, customer=customer)
    with pytest.raises(IntegrityError), transaction.atomic():
        RecordingAccessRequest.objects.create(recording=recording, customer=customer)


def test_session_cannot_be_deleted_under_its_recording(agent, customer):
    session = recorded_session(agent, customer)
    build_recording(session)
    with pytest.raises(ProtectedError), transaction.atomic():
        session.delete()


def test_recording_states(agent, customer):
    recording = build_recording(recorded_session(agent, customer))
    assert recording.complete and not recording.is_open and not recording.is_deleted
    assert recording.key_id == "t1" and bytes(recording.wrapped_key)[:4] == b"TRK1"
    assert str(recording) == f"recording #{recording.pk} of session #{recording.session_id}"
