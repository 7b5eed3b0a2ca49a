"""Builders for recording feature tests: keys and blob storage in a temp dir, recorded sessions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from recordings import services
from recordings.capture import RecordingWriter
from recordings.keys import generate_entry
from recordings.models import Recording
from tests.consent.helpers import consent
from tests.factories import make_ticket

BASE_TS = 1_700_000_000_000


@pytest.fixture
def recording_env(settings, tmp_path):
    """A throwaway master key and a media root in a temp dir (the dev key is refused with DEBUG off)."""
    settings.RECORDING_KEYS = [generate_entry("t1")]
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return settings


def recorded_session(agent: Any, customer: Any, *, recording: bool = True, mode: str = "guided") -> Any:
    ticket = make_ticket(customer)
    session, _grant = consent(ticket, agent, mode=mode, recording=recording)
    return session


def rrweb_stream(ts: int = BASE_TS) -> list[dict]:
    """A small valid rrweb stream: Meta, FullSnapshot of a page with a button, a few incrementals."""
    html = {
        "type": 2,
        "tagName": "html",
        "attributes": {},
        "id": 2,
        "childNodes": [
            {"type": 2, "tagName": "head", "attributes": {}, "id": 3, "childNodes": []},
            {
                "type": 2,
                "tagName": "body",
                "attributes": {"style": "font-family: sans-serif"},
                "id": 4,
                "childNodes": [
                    {
                        "type": 2,
                        "tagName": "h1",
                        "attributes": {"id": "title"},
                        "id": 5,
                        "childNodes": [{"type": 3, "textContent": "Loan application", "id": 6}],
                    },
                    {
                        "type": 2,
                        "tagName": "button",
                        "attributes": {"id": "next"},
                        "id": 7,
                        "childNodes": [{"type": 3, "textContent": "Next step", "id": 8}],
                    },
                ],
            },
        ],
    }
    snapshot = {"node": {"type": 0, "childNodes": [{"type": 1, "name": "html", "id": 1}, html], "id": 0}}
    snapshot["initialOffset"] = {"left": 0, "top": 0}
    return [
        {
            "type": 4,
            "data": {"href": "https://loans.example/apply", "width": 1024, "height": 640},
            "timestamp": ts,
        },
        {"type": 2, "data": snapshot, "timestamp": ts + 10},
        {
            "type": 3,
            "data": {"source": 1, "positions": [{"x": 40, "y": 60, "id": 7, "timeOffset": 0}]},
            "timestamp": ts + 1000,
        },
        {"type": 3, "data": {"source": 3, "id": 1, "x": 0, "y": 20}, "timestamp": ts + 6000},
        {
            "type": 3,
            "data": {"source": 1, "positions": [{"x": 80, "y": 90, "id": 7, "timeOffset": 0}]},
            "timestamp": ts + 9000,
        },
    ]


def envelopes(ts: int = BASE_TS) -> list[dict]:
    """Relay envelopes of a short session: rrweb batches, then an agent annotation, then more rrweb."""
    events = rrweb_stream(ts)
    return [
        {"type": "rrweb", "seq": 1, "ts": ts + 10, "data": {"events": events[:2], "page_id": "p1"}},
        {"type": "rrweb", "seq": 2, "ts": ts + 1000, "data": {"events": events[2:3], "page_id": "p1"}},
        {"type": "annotate", "ts": ts + 3000, "data": {"kind": "highlight", "node_id": 7, "page_id": "p1"}},
        {"type": "rrweb", "seq": 3, "ts": ts + 9000, "data": {"events": events[3:], "page_id": "p1"}},
    ]


def build_recording(session: Any, items: list[dict] | None = None, *, at_offsets: bool = True) -> Recording:
    """Write a finished recording for ``session`` directly (no relay): stored envelopes with ``at``."""
    target = services.begin_capture(session.pk)
    assert target is not None and target.data_key is not None
    recording = target.recording
    items = envelopes() if items is None else items
    writer = RecordingWriter(recording.pk, target.data_key, bytes(recording.wrapped_key), background=False)
    base = items[0]["ts"] if items else BASE_TS
    start_ms = int(recording.started_at.timestamp() * 1000)
    for item in items:
        at = start_ms + (item["ts"] - base) if at_offsets else item["ts"]
        writer.append({**item, "at": at})
        writer.flush()
    summary = writer.close()
    last = recording.started_at + timedelta(milliseconds=(items[-1]["ts"] - base) if items else 0)
    return services.record_progress(
        recording.pk,
        chunks=summary.chunks,
        stored_bytes=summary.stored_bytes,
        events=summary.events,
        last_event_at=last,
        final=True,
    )


def age(recording: Recording, days: int) -> Recording:
    """Move a recording's retention date ``days`` into the past (negative: into the future)."""
    Recording.objects.filter(pk=recording.pk).update(retention_until=timezone.now() - timedelta(days=days))
    recording.refresh_from_db()
    return recording
