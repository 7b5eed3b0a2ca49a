"""The voice channel: the signed transcript endpoint, the call state it keeps, what ending a call
ends, the assistant's view of it (``cobrowse.assist.voice.call_state``) and transcript retention."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import yaml
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import CustomerProfile
from audit.models import AuditEvent
from cobrowse import voice_signature
from cobrowse.assist.voice import CallState, call_state
from cobrowse.models import CallUtterance, EndReason, SessionState, VoiceCall
from cobrowse.services import voice
from consent import services as consent_services
from tests.consent.helpers import consent, start
from tests.factories import make_ticket, make_user
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db

SECRET = "voice-secret-for-tests-0123456789"


@pytest.fixture(autouse=True)
def _voice_settings(settings):
    settings.VOICE_WEBHOOK_SECRET = SECRET
    settings.VOICE_TRANSCRIPT_RATE = "1000/min"


@pytest.fixture
def dom_session(customer, agent):
    session, _grant = consent(make_ticket(customer), agent)
    return session


@pytest.fixture
def browser_session(customer, agent):
    _session, raw = start(make_ticket(customer), agent, kind="browser")
    invite = consent_services.open_invite(raw)
    return consent_services.grant_consent(invite, mode="guided", recording=False).session


def _url(session_id: int) -> str:
    return f"/api/cobrowse/sessions/{session_id}/transcript/"


def _post(
    session_id,
    payload,
    *,
    user=None,
    secret=SECRET,
    timestamp=None,
    signature=None,
    sign=True,
):
    """POST ``payload`` as JSON with the user's token and, unless told otherwise, a good signature."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    body = json.dumps(payload).encode()
    stamp = int(time.time()) if timestamp is None else timestamp
    headers = {}
    if sign:
        headers["HTTP_X_TANDEM_TIMESTAMP"] = str(stamp)
        headers["HTTP_X_TANDEM_SIGNATURE"] = signature or voice_signature.sign(secret, stamp, body)
    return client.post(_url(session_id), data=body, content_type="application/json", **headers)


def _utterance(text, *, speaker="customer", ago=0):
    return {
        "event": "utterance",
        "speaker": speaker,
        "text": text,
        "at": (timezone.now() - timedelta(seconds=ago)).isoformat(),
    }


# --- the signature -------------------------------------------------------------------------------


def test_a_signed_request_from_the_sessions_agent_is_accepted(dom_session, agent):
    response = _post(dom_session.pk, {"event": "call_started", "call_id": "CA-1"}, user=agent)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "session": dom_session.pk,
        "state": dom_session.state,
        "active_call": True,
        "utterances": 0,
        "session_ended": False,
    }


def test_a_missing_signature_is_401(dom_session, agent):
    response = _post(dom_session.pk, {"event": "call_started", "call_id": "CA-1"}, user=agent, sign=False)
    assert response.status_code == 401
    assert "X-Tandem-Signature" in response.json()["detail"]
    assert not VoiceCall.objects.exists()


def test_a_wrong_signature_is_401(dom_session, agent):
    response = _post(dom_session.pk, {"event": "call_started", "call_id": "CA-1"}, user=agent, secret="other")
    assert response.status_code == 401
    assert "does not match" in response.json()["detail"]
    assert not VoiceCall.objects.exists()


def test_a_signature_of_another_body_is_401(dom_session, agent):
    stamp = int(time.time())
    other = voice_signature.sign(SECRET, stamp, b'{"event": "call_ended", "call_id": "CA-1"}')
    response = _post(
        dom_session.pk,
        {"event": "call_started", "call_id": "CA-1"},
        user=agent,
        timestamp=stamp,
        signature=other,
    )
    assert response.status_code == 401


# Whole seconds: a timestamp 301 s ahead, truncated, is 300.x s ahead and may be read a moment later
# as within the 300 s window; 305 s keeps the test off that edge.
@pytest.mark.parametrize("age", [305, -305, 3600])
def test_an_old_or_future_timestamp_is_401_even_when_signed(dom_session, agent, age):
    response = _post(
        dom_session.pk,
        {"event": "call_started", "call_id": "CA-1"},
        user=agent,
        timestamp=int(time.time()) - age,
    )
    assert response.status_code == 401
    assert "seconds" in response.json()["detail"]


def test_a_timestamp_that_is_not_a_number_is_401(dom_session, agent):
    body = b"{}"
    response = APIClient()
    response.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=agent).key}")
    answer = response.post(
        _url(dom_session.pk),
        data=body,
        content_type="application/json",
        HTTP_X_TANDEM_TIMESTAMP="yesterday",
        HTTP_X_TANDEM_SIGNATURE=voice_signature.sign(SECRET, 0, body),
    )
    assert answer.status_code == 401


def test_rotation_accepts_the_old_and_the_new_secret_then_only_the_new(settings, dom_session, agent):
    settings.VOICE_WEBHOOK_SECRET = f"new-secret-abc, {SECRET}"
    assert _post(dom_session.pk, {"event": "call_started", "call_id": "A"}, user=agent).status_code == 200
    assert (
        _post(
            dom_session.pk, {"event": "call_started", "call_id": "B"}, user=agent, secret="new-secret-abc"
        ).status_code
        == 200
    )
    settings.VOICE_WEBHOOK_SECRET = "new-secret-abc"
    assert _post(dom_session.pk, {"event": "call_started", "call_id": "C"}, user=agent).status_code == 401
    assert set(VoiceCall.objects.values_list("call_id", flat=True)) == {"A", "B"}


def test_without_a_configured_secret_every_request_is_403(settings, dom_session, agent):
    settings.VOICE_WEBHOOK_SECRET = ""
    response = _post(dom_session.pk, {"event": "call_started", "call_id": "A"}, user=agent, secret="")
    assert response.status_code == 403 and response.json()["code"] == "voice_disabled"


def test_verify_compares_every_secret():
    body, stamp = b"{}", 1_800_000_000
    good = voice_signature.sign("b", stamp, body)
    voice_signature.verify(["a", "b", "c"], body, str(stamp), good, now=stamp)
    with pytest.raises(voice_signature.SignatureRefused):
        voice_signature.verify(["a", "c"], body, str(stamp), good, now=stamp)
    assert voice_signature.secrets_from_setting(" a, ,b ") == ["a", "b"]


# --- who may send ---------------------------------------------------------------------------------


def test_no_token_is_401(dom_session):
    response = _post(dom_session.pk, {"event": "call_started", "call_id": "A"})
    assert response.status_code == 401
    assert not VoiceCall.objects.exists()


def test_a_customer_is_403_even_with_a_good_signature(dom_session, customer):
    response = _post(dom_session.pk, {"event": "call_started", "call_id": "A"}, user=customer)
    assert response.status_code == 403
    assert not VoiceCall.objects.exists()


def test_an_unknown_session_or_another_agents_is_404(dom_session, agent_l3):
    assert _post(999_999, {"event": "call_started", "call_id": "A"}, user=agent_l3).status_code == 404
    assert _post(dom_session.pk, {"event": "call_started", "call_id": "A"}, user=agent_l3).status_code == 404


def test_a_manager_integration_user_may_send_for_any_session(dom_session, manager):
    assert _post(dom_session.pk, {"event": "call_started", "call_id": "A"}, user=manager).status_code == 200


def test_the_rate_limit_answers_429(settings, dom_session, agent):
    settings.VOICE_TRANSCRIPT_RATE = "2/min"
    for _ in range(2):
        assert _post(dom_session.pk, _utterance("hello"), user=agent).status_code == 200
    assert _post(dom_session.pk, _utterance("hello"), user=agent).status_code == 429


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"event": "dance"}, "event"),
        ({"event": "call_started"}, "call_id"),
        ({"event": "utterance", "speaker": "customer", "at": "2026-01-01T00:00:00Z"}, "text"),
        ({"event": "utterance", "speaker": "robot", "text": "hi", "at": "2026-01-01T00:00:00Z"}, "speaker"),
        ({"event": "utterance", "speaker": "agent", "text": "hi"}, "at"),
        ({"event": "utterance", "speaker": "agent", "text": "hi", "at": "soon"}, "at"),
        (
            {"event": "utterance", "speaker": "agent", "text": "x" * 2001, "at": "2026-01-01T00:00:00Z"},
            "text",
        ),
    ],
)
def test_a_malformed_event_is_a_400_naming_the_field(dom_session, agent, payload, field):
    response = _post(dom_session.pk, payload, user=agent)
    assert response.status_code == 400
    assert field in response.json()


def test_an_utterance_in_the_future_is_refused(dom_session, agent):
    response = _post(dom_session.pk, _utterance("hi", ago=-3600), user=agent)
    assert response.status_code == 400 and "at" in response.json()


@pytest.mark.parametrize("payload", [[], "hello", 42, [{"event": "call_started", "call_id": "A"}] * 101])
def test_a_body_that_is_no_event_list_is_a_400(dom_session, agent, payload):
    assert _post(dom_session.pk, payload, user=agent).status_code == 400
    assert not VoiceCall.objects.exists()


def test_broken_json_is_a_400(dom_session, agent):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=agent).key}")
    stamp, body = int(time.time()), b'{"event": '
    response = client.post(
        _url(dom_session.pk),
        data=body,
        content_type="application/json",
        HTTP_X_TANDEM_TIMESTAMP=str(stamp),
        HTTP_X_TANDEM_SIGNATURE=voice_signature.sign(SECRET, stamp, body),
    )
    assert response.status_code == 400


def test_a_refused_event_in_a_list_stores_nothing_of_the_list(dom_session, agent):
    response = _post(
        dom_session.pk,
        [
            {"event": "call_started", "call_id": "A"},
            _utterance("my PIN is 560001"),
            {"event": "call_ended", "call_id": "never-started"},
        ],
        user=agent,
    )
    assert response.status_code == 400
    assert "events[2]" in response.json()
    assert not VoiceCall.objects.exists() and not CallUtterance.objects.exists()


# --- events and state -----------------------------------------------------------------------------


def test_events_move_the_call_state(dom_session, agent):
    assert call_state(dom_session.pk) == CallState(active=False, transcript_last_30s=[])
    _post(dom_session.pk, {"event": "call_started", "call_id": "CA-1"}, user=agent)
    assert call_state(dom_session.pk).active is True
    # The same start again changes nothing.
    assert _post(dom_session.pk, {"event": "call_started", "call_id": "CA-1"}, user=agent).status_code == 200
    assert VoiceCall.objects.count() == 1
    response = _post(
        dom_session.pk,
        [_utterance("I am stuck on the PIN code", ago=2), _utterance("Let me help", speaker="agent", ago=1)],
        user=agent,
    )
    assert response.json()["utterances"] == 2
    state = call_state(dom_session.pk)
    assert [(u["speaker"], u["text"]) for u in state.transcript_last_30s] == [
        ("customer", "I am stuck on the PIN code"),
        ("agent", "Let me help"),
    ]
    response = _post(dom_session.pk, {"event": "call_ended", "call_id": "CA-1"}, user=agent)
    assert response.json()["active_call"] is False
    assert call_state(dom_session.pk).active is False
    # A call that ended cannot start again under its id; ending it again is harmless.
    assert _post(dom_session.pk, {"event": "call_started", "call_id": "CA-1"}, user=agent).status_code == 400
    assert _post(dom_session.pk, {"event": "call_ended", "call_id": "CA-1"}, user=agent).status_code == 200


def test_start_and_end_are_audited_and_on_the_activity_without_personal_data(dom_session, agent):
    _post(
        dom_session.pk,
        [
            {"event": "call_started", "call_id": "+14155550123"},
            _utterance("my number is 4111 1111 1111 1111"),
            {"event": "call_ended", "call_id": "+14155550123"},
        ],
        user=agent,
    )
    call = VoiceCall.objects.get()
    events = AuditEvent.objects.filter(action__in=["cobrowse.call_started", "cobrowse.call_ended"]).order_by(
        "id"
    )
    assert [(e.action, e.details) for e in events] == [
        ("cobrowse.call_started", {"session": dom_session.pk, "call": call.pk}),
        ("cobrowse.call_ended", {"session": dom_session.pk, "call": call.pk}),
    ]
    activity = TicketEvent.objects.filter(
        ticket=dom_session.ticket, data__step__in=["call_started", "call_ended"]
    )
    assert activity.count() == 2 and all(e.internal for e in activity)
    everything = json.dumps([e.details for e in AuditEvent.objects.all()] + [e.data for e in activity])
    assert "4111" not in everything and "4155550123" not in everything


def test_identifiers_are_masked_before_the_transcript_is_stored(dom_session, agent):
    _post(dom_session.pk, _utterance("card 4111 1111 1111 1111 please"), user=agent)
    stored = CallUtterance.objects.get().text
    assert "4111" not in stored and stored.startswith("card ") and stored.endswith(" please")


def test_utterances_after_the_session_ended_are_refused_but_a_call_end_is_not(dom_session, agent):
    _post(dom_session.pk, {"event": "call_started", "call_id": "A"}, user=agent)
    from cobrowse import services

    services.end_session(dom_session, actor=agent)
    response = _post(dom_session.pk, _utterance("still there?"), user=agent)
    assert response.status_code == 400 and "events[0]" in response.json()
    assert _post(dom_session.pk, {"event": "call_started", "call_id": "B"}, user=agent).status_code == 400
    assert _post(dom_session.pk, {"event": "call_ended", "call_id": "A"}, user=agent).status_code == 200
    assert not CallUtterance.objects.exists()


# --- what ending the call ends --------------------------------------------------------------------


def test_ending_the_call_ends_a_server_side_browser_session(browser_session, agent, broadcasts):
    _post(browser_session.pk, {"event": "call_started", "call_id": "A"}, user=agent)
    with broadcasts() as sent:
        response = _post(browser_session.pk, {"event": "call_ended", "call_id": "A"}, user=agent)
    assert response.status_code == 200
    assert response.json()["session_ended"] is True and response.json()["state"] == SessionState.ENDED
    browser_session.refresh_from_db()
    assert browser_session.state == SessionState.ENDED
    assert browser_session.end_reason == EndReason.CALL_ENDED and browser_session.ended_by == agent
    # The runner hears the session's change and closes the browser.
    assert any(m.get("state") == SessionState.ENDED for _group, m in sent)


def test_ending_the_call_leaves_a_customers_own_page_shared(dom_session, agent):
    _post(dom_session.pk, {"event": "call_started", "call_id": "A"}, user=agent)
    response = _post(dom_session.pk, {"event": "call_ended", "call_id": "A"}, user=agent)
    assert response.json()["session_ended"] is False
    dom_session.refresh_from_db()
    assert dom_session.is_live


def test_the_browser_session_stays_while_another_call_is_on_or_when_asked(browser_session, agent):
    _post(browser_session.pk, [{"event": "call_started", "call_id": c} for c in ("A", "B")], user=agent)
    _post(browser_session.pk, {"event": "call_ended", "call_id": "A"}, user=agent)
    _post(browser_session.pk, {"event": "call_ended", "call_id": "B", "end_session": False}, user=agent)
    browser_session.refresh_from_db()
    assert browser_session.is_live


def test_a_colleague_watching_cannot_end_the_browser_session_by_ending_the_call(
    browser_session, agent, agent_l3
):
    from cobrowse import services

    services.invite_viewer(browser_session, actor=agent, user=agent_l3)
    _post(browser_session.pk, {"event": "call_started", "call_id": "A"}, user=agent_l3)
    response = _post(browser_session.pk, {"event": "call_ended", "call_id": "A"}, user=agent_l3)
    assert response.status_code == 200 and response.json()["session_ended"] is False
    browser_session.refresh_from_db()
    assert browser_session.is_live


# --- the assistant's window -----------------------------------------------------------------------


def test_the_window_is_the_30_seconds_up_to_the_latest_utterance(dom_session, agent):
    base = timezone.now() - timedelta(minutes=10)

    def said(text, seconds):
        return {
            "event": "utterance",
            "speaker": "customer",
            "text": text,
            "at": (base + timedelta(seconds=seconds)).isoformat(),
        }

    _post(
        dom_session.pk,
        [said("too old", 0), said("edge", 15), said("middle", 30), said("latest", 45)],
        user=agent,
    )
    state = call_state(dom_session.pk)
    assert [u["text"] for u in state.transcript_last_30s] == ["edge", "middle", "latest"]
    assert state.transcript_last_30s[-1]["at"] == (base + timedelta(seconds=45)).isoformat()
    assert set(state.transcript_last_30s[0]) == {"speaker", "text", "at"}


def test_call_state_of_an_unknown_session_is_inactive_and_empty():
    assert call_state(123_456) == CallState(active=False, transcript_last_30s=[])


# --- retention ------------------------------------------------------------------------------------


def test_transcripts_are_purged_a_retention_period_after_the_session_ended(
    settings, dom_session, agent, customer
):
    from cobrowse import services

    settings.VOICE_TRANSCRIPT_RETENTION_DAYS = 30
    _post(dom_session.pk, _utterance("hello"), user=agent)
    other, _grant = consent(
        make_ticket(customer, subject="Another"), make_user("agent9", role="agent", agent_level="L2")
    )
    CallUtterance.objects.create(session=other, speaker="customer", text="live one", spoken_at=timezone.now())
    services.end_session(dom_session, actor=agent)
    ended = dom_session.__class__.objects.get(pk=dom_session.pk).ended_at
    assert voice.purge_transcripts(now=ended + timedelta(days=29)) == 0
    assert voice.purge_transcripts(now=ended + timedelta(days=30, seconds=1)) == 1
    assert list(CallUtterance.objects.values_list("text", flat=True)) == ["live one"]


def test_the_daily_retention_task_purges_transcripts(settings, dom_session, agent):
    from cobrowse import services
    from recordings import tasks

    _post(dom_session.pk, _utterance("hello"), user=agent)
    services.end_session(dom_session, actor=agent)
    dom_session.__class__.objects.filter(pk=dom_session.pk).update(
        ended_at=timezone.now() - timedelta(days=31)
    )
    tasks.purge_expired_recordings()
    assert not CallUtterance.objects.exists()


# --- the schema -----------------------------------------------------------------------------------


def test_the_public_schema_lists_the_endpoint(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = (
        response.json() if response["Content-Type"].endswith("json") else yaml.safe_load(response.content)
    )
    operation = schema["paths"]["/api/cobrowse/sessions/{id}/transcript/"]["post"]
    headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    assert headers == {"X-Tandem-Signature", "X-Tandem-Timestamp"}
    assert {"200", "400", "401", "403", "404"} <= set(operation["responses"])


# --- the voice channel reads the assistant's proposals -------------------------------------------


def _get_assist(session_id, *, user=None, sign=True):
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    stamp = int(time.time())
    headers = {}
    if sign:
        headers["HTTP_X_TANDEM_TIMESTAMP"] = str(stamp)
        headers["HTTP_X_TANDEM_SIGNATURE"] = voice_signature.sign(SECRET, stamp, b"")
    return client.get(f"/api/cobrowse/sessions/{session_id}/assist/", **headers)


def test_during_a_call_the_voice_channel_gets_the_assistants_words(dom_session, agent, customer):
    from cobrowse.assist import store
    from tests.cobrowse.assist.pages import loan_page

    CustomerProfile.objects.create(user=customer, postal_code="560001")
    store.save_page_sync(dom_session.pk, loan_page(stalled_ms=25_000))
    quiet = _get_assist(dom_session.pk, user=agent)
    assert quiet.status_code == 200, quiet.content
    assert quiet.json()["active_call"] is False and quiet.json()["speech"] == []
    autofill = next(p for p in quiet.json()["proposals"] if p["kind"] == "autofill")
    assert (autofill["field"], autofill["value"]) == ("property_pin_code", "560001")
    _post(dom_session.pk, {"event": "call_started", "call_id": "CA-9"}, user=agent)
    on_call = _get_assist(dom_session.pk, user=agent).json()
    assert on_call["active_call"] is True
    assert on_call["speech"] == ["We have your Property PIN code on file. Fill it in for you?"]
    assert "password" not in str(on_call)  # the masked field: never a value, never proposed


def test_the_assist_read_is_signed_staff_only_and_scoped(dom_session, agent, customer, agent_l3):
    assert _get_assist(dom_session.pk, user=agent, sign=False).status_code == 401
    assert _get_assist(dom_session.pk).status_code == 401
    assert _get_assist(dom_session.pk, user=customer).status_code == 403
    assert _get_assist(dom_session.pk, user=agent_l3).status_code == 404
    assert _get_assist(999_999, user=agent).status_code == 404
