"""The browser action API: who may call it (the session's agent; everyone else 404), validation
(400 naming the field), mode and state refusals, the runner round trip over the channel layer (a
stand-in runner in a thread), redaction of the page outline, rate limit, timeouts, stop, schema."""

from __future__ import annotations

import asyncio
import base64
import threading

import pytest
from channels.layers import get_channel_layer
from django.core.cache import cache
from rest_framework.test import APIClient

from audit.models import AuditEvent
from browser import selectors, services
from cobrowse.groups import browser_control_group
from cobrowse.models import CoBrowseSession, SessionState
from consent import services as consent_services
from tests.factories import make_ticket, make_user
from tickets.models import TicketEvent

PNG = b"\x89PNG\r\n\x1a\n" + b"x" * (700 * 1024)  # over one reply part: arrives in two

pytestmark = pytest.mark.django_db


class FakeRunner:
    """Answers the session's control group like the real runner, from a thread with its own loop."""

    def __init__(self, session_id: int) -> None:
        self.session_id = session_id
        self.received: list[dict] = []
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._thread, daemon=True)

    def __enter__(self) -> FakeRunner:
        self.thread.start()
        assert self.ready.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(10)

    def _thread(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.task = self.loop.create_task(self._main())
        try:
            self.loop.run_until_complete(self.task)
        except asyncio.CancelledError:
            pass
        finally:
            self.loop.close()

    async def _main(self) -> None:
        layer = get_channel_layer()
        channel = await layer.new_channel("fake-runner.")
        await layer.group_add(browser_control_group(self.session_id), channel)
        services.register_runner(self.session_id, {"channel": channel})
        services.save_runtime(
            self.session_id,
            {"browser": "live", "url": "https://example.com/a", "title": "A", "fps": 9.5, "viewers": 2},
        )
        self.ready.set()
        while True:
            message = await layer.receive(channel)
            self.received.append(message)
            if message["type"] != "browser.request":
                continue
            op, blob, result = message["op"], b"", {}
            if op == "action":
                result = {"action": message["payload"]["kind"], "url": "https://example.com/b", "title": "B"}
                blob = PNG if message["payload"].get("screenshot") else b""
            elif op == "screenshot":
                blob = PNG
            elif op == "dom":
                result = {
                    "url": "https://example.com/pay?token=abc123&step=2",
                    "title": "Pay",
                    "text": "Card 4111 1111 1111 1111 on file",
                    "links": [{"index": 0, "text": "Help", "href": "https://example.com/help"}],
                    "inputs": [
                        {"index": 0, "tag": "input", "type": "password", "name": "pw", "value": "hunter2"},
                        {
                            "index": 1,
                            "tag": "input",
                            "type": "text",
                            "name": "card",
                            "value": "4111111111111111",
                        },
                        {"index": 2, "tag": "input", "type": "text", "name": "city", "value": "Pune"},
                        {
                            "index": 3,
                            "tag": "input",
                            "type": "text",
                            "name": "x",
                            "value": "A",
                            "sensitive": True,
                        },
                    ],
                    "buttons": [{"index": 0, "text": "Continue"}],
                }
            await services.send_reply(
                layer, message["reply_to"], message["request_id"], ok=True, result=result, blob=blob
            )


@pytest.fixture
def people(account):
    return {
        "agent": make_user("ba-agent", role="agent", agent_level="L2"),
        "other_agent": make_user("ba-other", role="agent", agent_level="L3"),
        "manager": make_user("ba-manager", role="manager"),
        "customer": make_user("ba-customer", role="customer", account=account),
        "l1": make_user("ba-l1", role="agent", agent_level="L1"),
    }


def _client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _start(people, *, consent_mode: str | None = "controlled"):
    ticket = make_ticket(people["customer"])
    response = _client(people["agent"]).post(
        "/api/browser-sessions/",
        {"ticket": ticket.reference, "start_url": "http://localhost:8001/"},
        format="json",
    )
    assert response.status_code == 201, response.content
    session = CoBrowseSession.objects.get(pk=response.data["id"])
    if consent_mode:
        invite = consent_services.claim_invite(response.data["join_url"].rstrip("/").split("/")[-1])
        consent_services.grant_consent(invite, mode=consent_mode)
        session.refresh_from_db()
    return ticket, session, response


def test_start_invites_then_launches_once_consented(people):
    ticket, session, response = _start(people, consent_mode=None)
    assert response.data["kind"] == "browser" and response.data["state"] == "invited"
    assert response.data["join_url"] and response.data["viewer_url"] == f"/browser/{session.pk}/"
    invite = consent_services.claim_invite(response.data["join_url"].rstrip("/").split("/")[-1])
    consent_services.grant_consent(invite, mode="controlled")
    again = _client(people["agent"]).post(
        "/api/browser-sessions/",
        {"ticket": ticket.reference, "start_url": "http://localhost:8001/"},
        format="json",
    )
    assert again.status_code == 200 and again.data["launched"] is True and again.data["id"] == session.pk
    assert again.data["join_url"] == ""
    assert cache.get(selectors.launching_key(session.pk))  # the runner was queued (once)
    assert services.ensure_runner(session.pk) is False


@pytest.mark.parametrize(
    "body, field",
    [
        ({"start_url": "http://localhost:8001/"}, "ticket"),
        ({"ticket": "T-1"}, "start_url"),
        ({"ticket": "T-1", "start_url": "file:///etc/passwd"}, "start_url"),
        ({"ticket": "T-1", "start_url": "javascript:alert(1)"}, "start_url"),
        ({"ticket": "T-1", "start_url": "http://169.254.169.254/latest/"}, "start_url"),
        ({"ticket": "T-1", "start_url": "http://localhost:8001/", "channel": "pigeon"}, "channel"),
    ],
)
def test_start_validation(people, body, field):
    response = _client(people["agent"]).post("/api/browser-sessions/", body, format="json")
    assert response.status_code == 400 and field in response.data


def test_start_refusals(people):
    ticket = make_ticket(people["customer"])
    body = {"ticket": ticket.reference, "start_url": "http://localhost:8001/"}
    assert (
        _client(people["agent"]).post("/api/browser-sessions/", {**body, "ticket": "T-99999"}).status_code
        == 404
    )
    assert _client(people["l1"]).post("/api/browser-sessions/", body, format="json").status_code == 403
    assert _client().post("/api/browser-sessions/", body, format="json").status_code in (401, 403)
    outside = _client(people["agent"]).post(
        "/api/browser-sessions/", {**body, "start_url": "https://example.com/"}, format="json"
    )
    assert outside.status_code == 400 and "target_url" in outside.data  # not on the account's origins


def test_one_live_browser_per_agent(people):
    _t1, first, _ = _start(people)
    _t2, second, _ = _start(people)
    first.refresh_from_db()
    assert first.state == SessionState.ENDED and first.end_reason == "agent_ended"
    second.refresh_from_db()
    assert second.is_live


ENDPOINTS = [
    ("post", "actions/", {"kind": "reload"}),
    ("get", "screenshot/", None),
    ("get", "dom/", None),
    ("get", "status/", None),
    ("post", "stop/", None),
]


@pytest.mark.parametrize("method, path, body", ENDPOINTS)
@pytest.mark.parametrize("who", ["other_agent", "manager", "customer", None])
def test_only_the_sessions_agent(people, method, path, body, who):
    _ticket, session, _ = _start(people)
    client = _client(people[who] if who else None)
    response = getattr(client, method)(f"/api/browser-sessions/{session.pk}/{path}", body, format="json")
    assert response.status_code == (404 if who else 403) or (who is None and response.status_code == 401)
    session.refresh_from_db()
    assert session.is_live


def test_a_dom_session_is_not_a_browser_session(people):
    from tests.consent.helpers import consent

    session, _grant = consent(make_ticket(people["customer"]), people["agent"], mode="controlled")
    response = _client(people["agent"]).get(f"/api/browser-sessions/{session.pk}/status/")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "kind"),
        ({"kind": "submit"}, "kind"),
        ({"kind": "click"}, "selector"),
        ({"kind": "click", "x": 10}, "selector"),
        ({"kind": "click", "x": -1, "y": 5}, "x"),
        ({"kind": "type", "selector": "#a"}, "text"),
        ({"kind": "type", "text": "hi"}, "selector"),
        ({"kind": "press"}, "key"),
        ({"kind": "press", "key": "Enter; rm -rf"}, "key"),
        ({"kind": "scroll", "direction": "sideways"}, "direction"),
        ({"kind": "scroll", "amount": 0}, "amount"),
        ({"kind": "goto"}, "url"),
        ({"kind": "goto", "url": "file:///etc/passwd"}, "url"),
        ({"kind": "goto", "url": "javascript:alert(1)"}, "url"),
        ({"kind": "goto", "url": "http://10.0.0.5/admin"}, "url"),
        ({"kind": "wait", "selector": "#a", "timeout": 30_001}, "timeout"),
        ({"kind": "wait"}, "selector"),
        ({"kind": "click", "selector": "x" * 501}, "selector"),
        ({"kind": "reload", "screenshot": "maybe"}, "screenshot"),
        ({"action": "submit"}, "action"),
        ({"action": "click"}, "selector"),
        ({"kind": "click", "action": "reload", "selector": "#a"}, "action"),
        ({"selector": "#a"}, "kind"),
    ],
)
def test_action_validation(people, body, field):
    _ticket, session, _ = _start(people)
    response = _client(people["agent"]).post(
        f"/api/browser-sessions/{session.pk}/actions/", body, format="json"
    )
    assert response.status_code == 400, response.content
    assert field in response.data


def test_action_refused_by_state_and_mode(people):
    _t, invited, _ = _start(people, consent_mode=None)
    response = _client(people["agent"]).post(
        f"/api/browser-sessions/{invited.pk}/actions/", {"kind": "reload"}
    )
    assert response.status_code == 409 and response.data["code"] == "not_live"
    _t, watching, _ = _start(people, consent_mode="view_only")
    response = _client(people["agent"]).post(
        f"/api/browser-sessions/{watching.pk}/actions/", {"kind": "reload"}
    )
    assert response.status_code == 409 and response.data["code"] == "not_allowed"


def test_action_without_a_runner_is_503(people):
    _t, session, _ = _start(people)
    response = _client(people["agent"]).post(
        f"/api/browser-sessions/{session.pk}/actions/", {"kind": "reload"}
    )
    assert response.status_code == 503 and response.data["code"] == "browser_unavailable"
    services.save_runtime(session.pk, {"browser": "no_capacity"})
    response = _client(people["agent"]).post(
        f"/api/browser-sessions/{session.pk}/actions/", {"kind": "reload"}
    )
    assert response.status_code == 503 and response.data["code"] == "no_capacity"


def test_a_silent_runner_gives_504(people, settings):
    settings.BROWSER_REQUEST_TIMEOUT_SECONDS = 0.5
    _t, session, _ = _start(people)
    services.register_runner(session.pk, {"channel": "nobody"})
    response = _client(people["agent"]).post(
        f"/api/browser-sessions/{session.pk}/actions/", {"kind": "reload"}
    )
    assert response.status_code == 504 and response.data["code"] == "browser_timeout"


def test_actions_round_trip_through_the_runner(people):
    ticket, session, _ = _start(people)
    agent = _client(people["agent"])
    base = f"/api/browser-sessions/{session.pk}"
    with FakeRunner(session.pk) as runner:
        response = agent.post(
            f"{base}/actions/",
            {"kind": "type", "selector": "#q", "text": "secret words", "x": 3},
            format="json",
        )
        assert response.status_code == 200, response.content
        assert response.data == {"ok": True, "action": "type", "url": "https://example.com/b", "title": "B"}
        sent = runner.received[-1]["payload"]
        assert sent == {
            "kind": "type",
            "selector": "#q",
            "text": "secret words",
            "clear": False,
            "screenshot": False,
        }

        # Tool integrations name it "action": the same action reaches the runner.
        response = agent.post(f"{base}/actions/", {"action": "click", "selector": "#go"}, format="json")
        assert response.status_code == 200, response.content
        assert response.data["action"] == "click"
        assert runner.received[-1]["payload"] == {"kind": "click", "selector": "#go", "screenshot": False}
        response = agent.post(
            f"{base}/actions/", {"action": "press", "kind": "press", "key": "Enter"}, format="json"
        )
        assert response.status_code == 200, response.content
        assert runner.received[-1]["payload"] == {"kind": "press", "key": "Enter", "screenshot": False}

        response = agent.post(f"{base}/actions/", {"kind": "reload", "screenshot": True}, format="json")
        assert base64.b64decode(response.data["screenshot"]) == PNG

        shot = agent.get(f"{base}/screenshot/")
        assert shot.status_code == 200 and shot["Content-Type"] == "image/png" and shot.content == PNG

        dom = agent.get(f"{base}/dom/").data
        assert "4111" not in dom["text"] and "token=abc123" not in dom["url"]
        values = {i["name"]: (i["value"], i["masked"]) for i in dom["inputs"]}
        assert values["pw"] == ("", True) and values["x"] == ("", True)
        assert "4111111111111111" not in values["card"][0]
        assert values["city"] == ("Pune", False)
        assert dom["links"][0]["index"] == 0 and dom["buttons"][0]["text"] == "Continue"

        status = agent.get(f"{base}/status/").data
        assert status["url"] == "https://example.com/a" and status["fps"] == 9.5 and status["viewers"] == 2
        assert status["browser"] == "live" and status["state"] == session.state

    events = TicketEvent.objects.filter(ticket=ticket, data__step="browser_action")
    assert [e.data["action"] for e in events] == ["type", "click", "press", "reload"]
    assert all("secret" not in str(e.data) for e in events)
    assert AuditEvent.objects.filter(action="cobrowse.browser_action").count() == 4


def test_rate_limit(people, settings):
    settings.BROWSER_ACTIONS_PER_SECOND = 3
    _t, session, _ = _start(people)
    agent = _client(people["agent"])
    with FakeRunner(session.pk):
        codes = [
            agent.post(f"/api/browser-sessions/{session.pk}/actions/", {"kind": "reload"}).status_code
            for _ in range(10)
        ]
    assert 429 in codes and codes.count(200) >= 3


def test_stop_ends_the_session_and_tells_the_runner(people, django_capture_on_commit_callbacks):
    _t, session, _ = _start(people)
    with FakeRunner(session.pk) as runner:
        with django_capture_on_commit_callbacks(execute=True):
            response = _client(people["agent"]).post(f"/api/browser-sessions/{session.pk}/stop/")
        assert response.status_code == 200 and response.data["state"] == "ended"
        for _ in range(50):
            if any(m["type"] == "browser.stop" for m in runner.received):
                break
            threading.Event().wait(0.05)
        assert any(m["type"] == "browser.stop" for m in runner.received)


def test_schema_documents_the_api(people):
    schema = _client(people["agent"]).get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"] if schema["Content-Type"].startswith("application/json") else None
    text = schema.content.decode()
    for path in (
        "/api/browser-sessions/",
        "/api/browser-sessions/{id}/actions/",
        "/api/browser-sessions/{id}/dom/",
    ):
        assert path in (paths or text)


def test_goto_another_origin_is_on_the_never_list(people, settings):
    settings.BROWSER_EGRESS_ALLOW_HOSTS = ["localhost:8001", "localhost:8002"]
    ticket, session, _ = _start(people)
    with FakeRunner(session.pk) as runner:
        response = _client(people["agent"]).post(
            f"/api/browser-sessions/{session.pk}/actions/",
            {"kind": "goto", "url": "http://localhost:8002/"},
            format="json",
        )
        assert response.status_code == 409 and response.data["code"] == "never_allowed"
        assert "another origin" in response.data["detail"]
        assert not any(m["type"] == "browser.request" for m in runner.received)
    refused = TicketEvent.objects.get(ticket=ticket, data__step="browser_refused")
    assert refused.data["action"] == "goto" and refused.internal
