"""Who may reach each recording URL: the session's agent, managers, a customer with an approved link."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from django.core import mail
from django.utils import timezone

from accounts import permissions
from audit.models import AuditEvent
from recordings import services
from recordings.models import AccessRequestState, RecordingAccessRequest
from tests.factories import make_user
from tests.recordings.rec_helpers import build_recording, recorded_session, recording_env  # noqa: F401

pytestmark = pytest.mark.usefixtures("recording_env")


@pytest.fixture
def recording(agent, customer):
    return build_recording(recorded_session(agent, customer))


@pytest.fixture
def other_agent(db):
    return make_user("agent-other", role="agent", agent_level="L2")


def _urls(pk: int) -> list[tuple[str, str]]:
    return [
        ("get", f"/manager/recordings/{pk}/"),
        ("get", f"/manager/recordings/{pk}/events/"),
        ("get", f"/manager/recordings/{pk}/events/?download=1"),
        ("post", f"/manager/recordings/{pk}/highlights/"),
    ]


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize("who", ["agent", "manager"])
def test_session_agent_and_managers_reach_every_recording_url(client, recording, who, request):
    client.force_login(request.getfixturevalue(who))
    for method, url in _urls(recording.pk):
        if url.endswith("?download=1") and who == "agent":
            continue  # a manager's action (below)
        data = {"title": "Good save", "start": "0:01", "end": "0:05"} if method == "post" else None
        response = getattr(client, method)(url, data)
        assert response.status_code in (200, 302), (url, response.status_code)
        _body(response)


def test_downloading_the_decrypted_events_is_a_managers_action(client, recording, agent, manager):
    """The session's agent replays the recording, but cannot save its decrypted events as a file."""
    url = f"/manager/recordings/{recording.pk}/events/?download=1"
    client.force_login(agent)
    assert b"replay-download" not in client.get(f"/manager/recordings/{recording.pk}/").content
    refused = client.get(url)
    assert refused.status_code == 403 and not refused.has_header("Content-Disposition")
    assert not AuditEvent.objects.filter(action="recording.downloaded").exists()
    client.force_login(manager)
    assert b"replay-download" in client.get(f"/manager/recordings/{recording.pk}/").content
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="recording-{recording.pk}.json"'
    assert orjson.loads(_body(response))["status"]["state"] == "complete"
    event = AuditEvent.objects.get(action="recording.downloaded")
    assert event.actor == manager and event.details == {"recording": recording.pk, "via": "staff"}


def test_request_copy_never_redirects_off_site(client, recording, customer):
    client.force_login(customer)
    for target in ("https://evil.example/", "//evil.example/x", "http://testserver/portal/"):
        response = client.post(f"/portal/recordings/{recording.pk}/request/", {"next": target}, secure=True)
        assert response.status_code == 302 and response["Location"] == "/portal/recordings/", target
        RecordingAccessRequest.objects.all().delete()
    response = client.post(f"/portal/recordings/{recording.pk}/request/", {"next": "/portal/"}, secure=True)
    assert response["Location"] == "/portal/"


def test_other_agent_gets_404_everywhere(client, recording, other_agent):
    client.force_login(other_agent)
    for method, url in [*_urls(recording.pk), ("post", f"/manager/recordings/{recording.pk}/delete/")]:
        assert getattr(client, method)(url).status_code == 404, url
    assert client.get("/manager/recordings/").status_code == 200
    assert f'data-recording="{recording.pk}"' not in client.get("/manager/recordings/").content.decode()


def test_unknown_id_is_404_like_a_forbidden_one(client, manager):
    client.force_login(manager)
    assert client.get("/manager/recordings/999999/").status_code == 404
    assert client.get("/manager/recordings/999999/events/").status_code == 404


def test_customer_cannot_reach_staff_urls(client, recording, customer):
    client.force_login(customer)
    for method, url in [*_urls(recording.pk), ("post", f"/manager/recordings/{recording.pk}/delete/")]:
        assert getattr(client, method)(url).status_code == 404, url
    assert client.get("/manager/recordings/").status_code == 403
    assert client.get("/manager/recordings/requests/").status_code == 403


def test_anonymous_is_sent_to_login(client, recording):
    response = client.get(f"/manager/recordings/{recording.pk}/events/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_only_managers_delete_and_decide(client, recording, agent):
    client.force_login(agent)
    assert client.post(f"/manager/recordings/{recording.pk}/delete/").status_code == 403
    assert client.get("/manager/recordings/requests/").status_code == 403
    recording.refresh_from_db()
    assert not recording.is_deleted


def test_permissions_helpers(recording, agent, other_agent, manager, customer, other_customer):
    assert permissions.can_view_recording(agent, recording)
    assert permissions.can_view_recording(manager, recording)
    assert not permissions.can_view_recording(other_agent, recording)
    assert not permissions.can_view_recording(customer, recording)
    assert permissions.is_recording_subject(customer, recording)
    assert not permissions.is_recording_subject(other_customer, recording)
    assert not permissions.is_recording_subject(agent, recording)


# --- the customer's copy ----------------------------------------------------------------------


def _approve(recording, customer, manager) -> str:
    req = services.request_access(recording, customer=customer)
    decision = services.decide_access_request(req.pk, manager=manager, approve=True)
    return decision.link.rsplit("/copy/", 1)[1].strip("/")


def test_customer_without_an_approved_link_sees_nothing(client, recording, customer):
    client.force_login(customer)
    assert client.get("/portal/recordings/copy/not-a-token/").status_code == 404
    assert client.get("/portal/recordings/copy/not-a-token/events/").status_code == 404
    services.request_access(recording, customer=customer)  # requested, not approved: still nothing
    assert client.get("/portal/recordings/copy/x/").status_code == 404


def test_customer_with_an_approved_link(
    client, recording, customer, manager, django_capture_on_commit_callbacks
):
    client.force_login(customer)
    response = client.post(f"/portal/recordings/{recording.pk}/request/")
    assert response.status_code == 302
    req = RecordingAccessRequest.objects.get()
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/manager/recordings/requests/{req.pk}/decide/", {"decision": "approve"})
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.state == AccessRequestState.APPROVED
    assert (req.expires_at - timezone.now()).days == 6  # 7 days, minus the seconds just passed
    (message,) = mail.outbox
    link = message.body.split("\n\n")[1].strip()
    token = link.rsplit("/copy/", 1)[1].strip("/")
    assert req.token_hash and token not in req.token_hash  # stored hashed

    client.force_login(customer)
    page = client.get(f"/portal/recordings/copy/{token}/")
    assert page.status_code == 200 and b"tandem-replay.js" in page.content
    assert b"Access history" not in page.content  # staff-only panels are not on the customer's copy
    events = client.get(f"/portal/recordings/copy/{token}/events/")
    assert events.status_code == 200
    assert orjson.loads(_body(events))["status"]["state"] == "complete"
    viewed = AuditEvent.objects.filter(action="recording.viewed").get()
    assert viewed.actor == customer and viewed.details["via"] == "customer_link"


def test_link_is_personal(client, recording, customer, other_customer, manager):
    token = _approve(recording, customer, manager)
    client.force_login(other_customer)
    assert client.get(f"/portal/recordings/copy/{token}/").status_code == 404
    client.force_login(manager)
    assert client.get(f"/portal/recordings/copy/{token}/").status_code == 404


def test_expired_link_is_410(client, recording, customer, manager):
    token = _approve(recording, customer, manager)
    RecordingAccessRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    client.force_login(customer)
    assert client.get(f"/portal/recordings/copy/{token}/").status_code == 410
    assert client.get(f"/portal/recordings/copy/{token}/events/").status_code == 410


def test_link_of_a_deleted_recording_is_410(client, recording, customer, manager):
    token = _approve(recording, customer, manager)
    services.delete_by_manager(recording, manager=manager)
    client.force_login(customer)
    # Deletion also withdraws the link.
    assert client.get(f"/portal/recordings/copy/{token}/").status_code in (404, 410)


def test_denied_request_gives_no_link(client, recording, customer, manager):
    req = services.request_access(recording, customer=customer)
    decision = services.decide_access_request(req.pk, manager=manager, approve=False)
    assert decision.link is None and decision.request.state == AccessRequestState.DENIED
    assert decision.request.token_hash == ""


def test_customer_portal_lists_and_deletes_own_recordings(client, recording, customer, other_customer):
    client.force_login(other_customer)
    assert f'data-recording="{recording.pk}"' not in client.get("/portal/recordings/").content.decode()
    assert client.post(f"/portal/recordings/{recording.pk}/delete/").status_code == 404
    assert client.post(f"/portal/recordings/{recording.pk}/request/").status_code == 404
    client.force_login(customer)
    page = client.get("/portal/recordings/").content.decode()
    assert (
        f'data-recording="{recording.pk}"' in page
        and "Request a copy" in page
        and "Delete my recording" in page
    )
    assert client.post(f"/portal/recordings/{recording.pk}/delete/").status_code == 302
    recording.refresh_from_db()
    assert recording.deletion_reason == "erasure"
    event = AuditEvent.objects.get(action="recording.deleted")
    assert event.actor == customer and event.details == {"recording": recording.pk, "reason": "erasure"}


def test_staff_are_not_customers_on_the_portal(client, agent):
    client.force_login(agent)
    assert client.get("/portal/recordings/").status_code == 404


# --- REST API -----------------------------------------------------------------------------------


def _api_urls(pk: int) -> list[str]:
    return [f"/api/recordings/{pk}/", f"/api/recordings/{pk}/highlights/", f"/api/recordings/{pk}/accesses/"]


def test_api_matrix(client, recording, agent, other_agent, manager, customer):
    for who, expected in ((agent, 200), (manager, 200), (other_agent, 404), (customer, 403)):
        client.force_login(who)
        for url in _api_urls(recording.pk):
            assert client.get(url).status_code == expected, (who.username, url)
    client.force_login(other_agent)
    assert client.get("/api/recordings/").json()["results"] == []
    client.force_login(agent)
    listed = client.get("/api/recordings/").json()["results"]
    assert [row["id"] for row in listed] == [recording.pk]
    assert "wrapped_key" not in listed[0]
    assert client.get("/api/recordings/999999/").status_code == 404
    client.logout()
    assert client.get(f"/api/recordings/{recording.pk}/").status_code in (401, 403)


def test_api_highlight_and_delete(client, recording, agent, manager):
    client.force_login(agent)
    created = client.post(
        f"/api/recordings/{recording.pk}/highlights/",
        {"start_ms": 1000, "end_ms": 4000, "title": "Pointer", "tags": ["Forms"]},
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["tags"] == ["forms"]
    bad = client.post(
        f"/api/recordings/{recording.pk}/highlights/",
        {"start_ms": 4000, "end_ms": 1000, "title": "Backwards"},
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert client.delete(f"/api/recordings/{recording.pk}/").status_code == 403
    client.force_login(manager)
    assert client.delete(f"/api/recordings/{recording.pk}/").status_code == 204
    assert client.get(f"/api/recordings/{recording.pk}/").json()["deleted"] is True
