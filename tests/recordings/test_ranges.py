"""The ranged replay: a small index first (chunk time ranges and sizes), then one chunk at a time,
each access-checked, with one audit entry per replay opening rather than per chunk."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from audit.models import AuditEvent
from recordings import services
from recordings.blobstore import BlobStore
from tests.factories import make_user
from tests.recordings.rec_helpers import build_recording, recorded_session, recording_env  # noqa: F401

pytestmark = pytest.mark.usefixtures("recording_env")


@pytest.fixture
def recording(agent, customer):
    # build_recording flushes after every envelope: chunks 0-3 hold one each, chunk 4 is the final one.
    return build_recording(recorded_session(agent, customer))


def _views() -> int:
    return AuditEvent.objects.filter(action="recording.viewed").count()


def test_index_lists_chunks_with_time_ranges_and_sizes(client, recording, manager):
    client.force_login(manager)
    response = client.get(f"/manager/recordings/{recording.pk}/index/")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    index = response.json()
    assert index["status"] == {"state": "complete", "complete": True, "error": None, "chunks": 5}
    assert [(c["index"], c["from"], c["to"]) for c in index["chunks"]] == [
        (0, 0, 990),
        (1, 990, 2990),
        (2, 2990, 8990),
        (3, 8990, 8990),
        (4, 8990, 8990),
    ]
    assert index["total"] == 8990
    assert [c["final"] for c in index["chunks"]] == [False, False, False, False, True]
    store = BlobStore()
    assert [c["bytes"] for c in index["chunks"]] == [len(store.get_chunk(recording.pk, i)) for i in range(5)]
    assert isinstance(index["opening"], str) and len(index["opening"]) >= 20


def test_chunks_of_an_opening_are_audited_once(client, recording, manager):
    client.force_login(manager)
    opening = client.get(f"/manager/recordings/{recording.pk}/index/").json()["opening"]
    assert _views() == 1
    types = []
    for i in range(5):
        response = client.get(f"/manager/recordings/{recording.pk}/chunks/{i}/?opening={opening}")
        assert response.status_code == 200 and response["Cache-Control"] == "no-store"
        body = orjson.loads(response.content)
        assert body["index"] == i and body["status"]["state"] == "ok"
        assert body["final"] is (i == 4)
        types += [e["type"] for e in body["events"]]
    assert types == ["rrweb", "rrweb", "annotate", "rrweb"]
    assert _views() == 1
    viewed = AuditEvent.objects.get(action="recording.viewed")
    assert viewed.details == {"recording": recording.pk, "via": "staff"}
    # A second opening is a second view.
    client.get(f"/manager/recordings/{recording.pk}/index/")
    assert _views() == 2


def test_a_chunk_outside_an_opening_is_audited_on_its_own(client, recording, manager, agent):
    client.force_login(agent)
    agents_opening = client.get(f"/manager/recordings/{recording.pk}/index/").json()["opening"]
    client.force_login(manager)
    assert client.get(f"/manager/recordings/{recording.pk}/chunks/0/").status_code == 200
    assert client.get(f"/manager/recordings/{recording.pk}/chunks/0/?opening=forged").status_code == 200
    # Another user's opening does not cover this user's requests.
    url = f"/manager/recordings/{recording.pk}/chunks/1/?opening={agents_opening}"
    assert client.get(url).status_code == 200
    views = AuditEvent.objects.filter(action="recording.viewed").order_by("id")
    assert [(v.actor, v.details.get("chunk")) for v in views] == [
        (agent, None),
        (manager, True),
        (manager, True),
        (manager, True),
    ]


@pytest.mark.parametrize(
    "index", ["5", "99", "4294967295", "4294967296", "99999999999999999999999", "-1", "x"]
)
def test_bad_chunk_numbers_are_404(client, recording, manager, index):
    client.force_login(manager)
    assert client.get(f"/manager/recordings/{recording.pk}/chunks/{index}/").status_code == 404


def test_who_may_load_the_index_and_chunks(client, recording, agent, customer, manager):
    urls = [f"/manager/recordings/{recording.pk}/index/", f"/manager/recordings/{recording.pk}/chunks/0/"]
    for url in urls:
        assert client.get(url).status_code == 302  # anonymous: to the login page
    other_agent = make_user("agent-other", role="agent", agent_level="L2")
    for user, expected in ((agent, 200), (manager, 200), (other_agent, 404), (customer, 404)):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == expected, (user.username, url)
    assert client.get("/manager/recordings/999999/index/").status_code == 404


def test_deleted_recording_has_no_chunks(client, recording, manager):
    services.delete_by_manager(recording, manager=manager)
    client.force_login(manager)
    index = client.get(f"/manager/recordings/{recording.pk}/index/")
    assert index.status_code == 410 and index.json()["status"]["state"] == "deleted"
    assert client.get(f"/manager/recordings/{recording.pk}/chunks/0/").status_code == 404
    assert _views() == 0


def test_tampered_chunk_ends_the_index_and_says_so(client, recording, manager):
    store = BlobStore()
    path = Path(store.storage.path(store.chunk_path(recording.pk, 2)))
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x10
    path.write_bytes(bytes(data))
    client.force_login(manager)
    index = client.get(f"/manager/recordings/{recording.pk}/index/").json()
    assert index["status"]["state"] == "tampered" and index["status"]["error"].startswith("chunk 2")
    assert [c["index"] for c in index["chunks"]] == [0, 1]
    chunk = client.get(f"/manager/recordings/{recording.pk}/chunks/2/?opening={index['opening']}")
    assert chunk.status_code == 200
    body = chunk.json()
    assert body["events"] is None and body["status"]["state"] == "tampered"
    assert body["status"]["error"].startswith("chunk 2")


def test_cached_index_still_reads_new_chunks_of_an_open_recording(agent, customer, manager, client):
    from recordings.capture import RecordingWriter

    session = recorded_session(agent, customer)
    target = services.begin_capture(session.pk)
    rec = target.recording
    writer = RecordingWriter(rec.pk, target.data_key, bytes(rec.wrapped_key), background=False)
    start = int(rec.started_at.timestamp() * 1000)
    writer.append({"type": "page", "seq": 1, "ts": 1, "at": start, "data": {}})
    writer.flush()
    client.force_login(manager)
    first = client.get(f"/manager/recordings/{rec.pk}/index/").json()
    assert first["status"]["state"] == "in_progress" and len(first["chunks"]) == 1
    writer.append({"type": "page", "seq": 2, "ts": 2, "at": start + 4000, "data": {}})
    writer.close()
    second = client.get(f"/manager/recordings/{rec.pk}/index/").json()
    assert [(c["from"], c["to"], c["final"]) for c in second["chunks"]] == [
        (0, 4000, False),
        (4000, 4000, True),
    ]
    assert second["status"]["complete"] is True


def test_customer_copy_index_and_chunks(client, recording, customer, other_customer, manager):
    req = services.request_access(recording, customer=customer)
    link = services.decide_access_request(req.pk, manager=manager, approve=True).link
    token = link.rsplit("/copy/", 1)[1].strip("/")
    client.force_login(customer)
    index = client.get(f"/portal/recordings/copy/{token}/index/")
    assert index.status_code == 200 and len(index.json()["chunks"]) == 5
    opening = index.json()["opening"]
    chunk = client.get(f"/portal/recordings/copy/{token}/chunks/1/?opening={opening}")
    assert chunk.status_code == 200 and chunk.json()["events"][0]["type"] == "rrweb"
    assert client.get(f"/portal/recordings/copy/{token}/chunks/7/").status_code == 404
    viewed = AuditEvent.objects.filter(action="recording.viewed").get()
    assert viewed.actor == customer and viewed.details == {
        "recording": recording.pk,
        "via": "customer_link",
        "request": req.pk,
    }
    client.force_login(other_customer)
    assert client.get(f"/portal/recordings/copy/{token}/index/").status_code == 404
    assert client.get(f"/portal/recordings/copy/{token}/chunks/0/").status_code == 404


def test_replay_page_config_names_the_index_and_chunk_urls(client, recording, manager):
    client.force_login(manager)
    config = client.get(f"/manager/recordings/{recording.pk}/").context["config"]
    assert config["indexUrl"] == f"/manager/recordings/{recording.pk}/index/"
    assert config["chunkUrl"] == f"/manager/recordings/{recording.pk}/chunks/0/"
    assert _views() == 0  # the page alone shows no content: the index opening is the view
