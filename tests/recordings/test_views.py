"""Recording pages: list filters, the replay page, the events endpoint, highlights, requests page."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from audit.models import AuditEvent
from recordings.blobstore import BlobStore
from recordings.models import Highlight, Recording
from tests.factories import make_user
from tests.recordings.rec_helpers import build_recording, recorded_session, recording_env  # noqa: F401

pytestmark = pytest.mark.usefixtures("recording_env")


@pytest.fixture
def recording(agent, customer):
    return build_recording(recorded_session(agent, customer))


def _json(response) -> dict:
    return orjson.loads(b"".join(response.streaming_content))


def test_events_endpoint_streams_and_audits(client, recording, manager):
    client.force_login(manager)
    response = client.get(f"/manager/recordings/{recording.pk}/events/")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    body = _json(response)
    assert body["status"] == {
        "state": "complete",
        "complete": True,
        "error": None,
        "chunks": recording.chunk_count,
    }
    assert [e["type"] for chunk in body["chunks"] for e in chunk] == ["rrweb", "rrweb", "annotate", "rrweb"]
    download = client.get(f"/manager/recordings/{recording.pk}/events/?download=1")
    assert "attachment" in download["Content-Disposition"]
    _json(download)
    actions = list(AuditEvent.objects.filter(object_id=str(recording.pk)).values_list("action", flat=True))
    assert "recording.viewed" in actions and "recording.downloaded" in actions
    viewed = AuditEvent.objects.get(action="recording.viewed")
    assert viewed.details == {"recording": recording.pk, "via": "staff"}


def test_tampered_recording_is_reported_not_a_500(client, recording, manager):
    store = BlobStore()
    path = Path(store.storage.path(store.chunk_path(recording.pk, 0)))
    data = bytearray(path.read_bytes())
    data[40] ^= 0xFF
    path.write_bytes(bytes(data))
    client.force_login(manager)
    response = client.get(f"/manager/recordings/{recording.pk}/events/")
    assert response.status_code == 200
    status = _json(response)["status"]
    assert status["state"] == "tampered" and status["error"].startswith("chunk 0")
    page = client.get(f"/manager/recordings/{recording.pk}/")
    assert page.status_code == 200


def test_replay_page_shows_timeline_highlights_and_access_history(client, recording, agent, manager):
    client.force_login(agent)
    client.get(f"/manager/recordings/{recording.pk}/events/")
    client.force_login(manager)
    page = client.get(f"/manager/recordings/{recording.pk}/").content.decode()
    assert 'id="replay-config"' in page and "dist/tandem-replay.js" in page
    assert 'data-testid="replay-timeline"' in page
    assert 'data-testid="access-history"' in page and "Watched · agent2" in page
    assert "Delete recording" in page  # managers only
    client.force_login(agent)
    assert "Delete recording" not in client.get(f"/manager/recordings/{recording.pk}/").content.decode()


def test_deleted_recording_page_and_events(client, recording, manager):
    client.force_login(manager)
    assert client.post(f"/manager/recordings/{recording.pk}/delete/", {"erasure": "1"}).status_code == 302
    recording.refresh_from_db()
    assert recording.deletion_reason == "erasure"
    page = client.get(f"/manager/recordings/{recording.pk}/")
    assert page.status_code == 200 and b"This recording was deleted" in page.content
    assert b"tandem-replay.js" not in page.content
    assert client.get(f"/manager/recordings/{recording.pk}/events/").status_code == 410


def test_highlights_and_library(client, recording, agent, manager):
    client.force_login(agent)
    response = client.post(
        f"/manager/recordings/{recording.pk}/highlights/",
        {
            "title": "Explains the income step",
            "start": "0:02",
            "end": "0:08",
            "tags": "Forms, onboarding, forms",
        },
    )
    assert response.status_code == 302
    highlight = Highlight.objects.get()
    assert (highlight.start_ms, highlight.end_ms) == (2000, 8000)
    assert highlight.tags == ["forms", "onboarding"] and highlight.created_by == agent
    # Invalid range: a message, no row.
    client.post(
        f"/manager/recordings/{recording.pk}/highlights/", {"title": "x", "start": "0:09", "end": "0:01"}
    )
    assert Highlight.objects.count() == 1

    library = client.get("/manager/recordings/highlights/").content.decode()
    assert "Explains the income step" in library and f"?highlight={highlight.pk}" in library
    assert "Explains" in client.get("/manager/recordings/highlights/?tag=forms").content.decode()
    assert "Explains" not in client.get("/manager/recordings/highlights/?tag=billing").content.decode()
    page = client.get(f"/manager/recordings/{recording.pk}/?highlight={highlight.pk}").content.decode()
    assert '"focus": {"start": 2000, "end": 8000' in page

    other = make_user("agent-x", role="agent", agent_level="L2")
    client.force_login(other)
    assert "Explains" not in client.get("/manager/recordings/highlights/").content.decode()
    assert client.post(f"/manager/recordings/highlights/{highlight.pk}/delete/").status_code == 404
    client.force_login(manager)
    assert client.post(f"/manager/recordings/highlights/{highlight.pk}/delete/").status_code == 302
    assert not Highlight.objects.exists()


def test_list_filters(client, agent, customer, other_customer, manager):
    first = build_recording(recorded_session(agent, customer))
    other_agent = make_user("agent-y", role="agent", agent_level="L3")
    second = build_recording(recorded_session(other_agent, other_customer))
    Recording.objects.filter(pk=second.pk).update(
        duration_ms=20 * 60_000, started_at=first.started_at - timedelta(days=3)
    )
    client.force_login(manager)

    def listed(query: str) -> set[int]:
        page = client.get(f"/manager/recordings/?{query}").content.decode()
        return {r.pk for r in (first, second) if f'data-recording="{r.pk}"' in page}

    assert listed("") == {first.pk, second.pk}
    assert listed(f"agent={other_agent.pk}") == {second.pk}
    assert listed(f"ticket={first.session.ticket.reference}") == {first.pk}
    assert listed("min_minutes=10") == {second.pk}
    assert listed("max_minutes=10") == {first.pk}
    day = first.started_at.date().isoformat()
    assert listed(f"date_from={day}") == {first.pk}
    assert listed("mode=guided") == {first.pk, second.pk}
    assert listed("mode=full") == set()
    assert listed("outcome=incomplete") == set()
    assert listed("ticket=abc") == set()
    page = client.get("/manager/recordings/").content.decode()
    assert "Kept until" in page and first.retention_until.strftime("%d %b %Y") in page

    client.force_login(agent)
    assert listed("") == {first.pk}


def test_requests_page_for_managers(client, recording, customer, manager):
    from recordings import services

    services.request_access(recording, customer=customer)
    client.force_login(manager)
    page = client.get("/manager/recordings/requests/").content.decode()
    assert f"#{recording.pk}" in page and "Approve" in page
