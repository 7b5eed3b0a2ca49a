"""The shared session context: its shape, masked values kept out, and the page kept per session."""

from __future__ import annotations

import json

import pytest
import redis
from django.conf import settings

from cobrowse.assist import context, store
from cobrowse.assist.voice import CallState
from cobrowse.models import CoBrowseSession
from tests.cobrowse.assist.pages import SECRETS, field, loan_page
from tests.consent.helpers import consent
from tests.factories import make_account, make_ticket, make_user


def test_the_context_has_the_shared_shape():
    call = CallState(
        active=True, transcript_last_30s=[{"speaker": "customer", "text": "hi", "at": "2026-12-04T10:00:00Z"}]
    )
    built = context.build_context(
        loan_page(stalled_ms=21_000), user_id=7, crm_data={"known_pin": "560001"}, call=call
    )
    assert set(built) == {"page", "user"}
    page = built["page"]
    assert set(page) == {"url", "title", "form_state", "stall_duration_ms", "rage_clicks", "scroll_depth_pct"}
    assert set(page["form_state"]) == {"completion_pct", "current_field_focus", "fields"}
    assert page["form_state"]["current_field_focus"] == "property_pin_code"
    assert page["form_state"]["completion_pct"] == 50
    assert (page["stall_duration_ms"], page["rage_clicks"], page["scroll_depth_pct"]) == (21_000, 0, 40)
    for item in page["form_state"]["fields"]:
        assert {"id", "label", "value", "status", "error"} <= set(item)
    assert built["user"] == {
        "id": 7,
        "crm_data": {"known_pin": "560001"},
        "active_call": True,
        "call_transcript_last_30s": call.transcript_last_30s,
    }


def test_no_page_seen_gives_an_empty_page_of_the_same_shape():
    built = context.build_context(None)
    assert built["page"]["form_state"] == {"completion_pct": 0, "current_field_focus": None, "fields": []}
    assert built["user"] == {"id": None, "crm_data": {}, "active_call": False, "call_transcript_last_30s": []}


def test_a_trigger_is_kept_only_when_it_is_a_known_signal():
    assert context.build_context(loan_page(), trigger="exit_intent")["page"]["trigger"] == "exit_intent"
    assert "trigger" not in context.build_context(loan_page(), trigger="made_up")["page"]


def _values(built: dict) -> dict:
    return {f["id"]: f["value"] for f in built["page"]["form_state"]["fields"]}


def test_masked_fields_never_carry_a_value_even_when_the_page_sent_one():
    page = loan_page(
        fields=[
            # A page that says "masked" and still sends the value (an old or broken widget).
            {**field("card", label="Card"), "masked": True, "value": SECRETS["card"]},
            # Masked by the account's selector, though the page said it was not.
            field("mother", name="mothers_name", label="Mother's name", value=SECRETS["mother"]),
            # Masked by the identifier patterns: the value is a PAN and an Aadhaar number.
            field("pan", label="Tax id", value=SECRETS["pan"]),
            field("notes", label="Notes", value=f"my aadhaar is {SECRETS['aadhaar']}"),
            field("city", label="City", value="Bengaluru"),
        ]
    )
    built = context.build_context(page, selectors=["[name=mothers_name]", "this is ( not a selector"])
    values = _values(built)
    assert values["card"] is None and values["mother"] is None and values["pan"] is None
    masked = {f["id"]: f["masked"] for f in built["page"]["form_state"]["fields"]}
    assert masked == {"card": True, "mother": True, "pan": True, "notes": True, "city": False}
    assert values["city"] == "Bengaluru"  # ordinary values stay
    blob = json.dumps(built)
    compact = blob.replace(" ", "")
    for name, secret in SECRETS.items():
        assert secret not in blob, name
        assert secret.replace(" ", "") not in compact, name


def test_the_same_page_id_in_another_session_is_not_masked_by_the_first_one():
    """The re-check shares compiled rules, not page state: one page's pattern hit stays its own."""
    first = loan_page(fields=[field("ref", value=SECRETS["pan"])])
    second = loan_page(fields=[field("ref", value="REF-42")])
    assert _values(context.build_context(first))["ref"] is None
    assert _values(context.build_context(second))["ref"] == "REF-42"


def test_the_url_and_error_texts_are_redacted_too():
    page = loan_page(
        url=f"http://localhost:8001/apply?pan={SECRETS['pan']}",
        fields=[field("pan", status="error", error=f"{SECRETS['pan']} is not valid", masked=True)],
    )
    blob = json.dumps(context.build_context(page))
    assert SECRETS["pan"] not in blob


# -- the page kept per session ----------------------------------------------------------------------


def test_the_latest_page_is_kept_per_session_with_a_time_to_live(settings):
    settings.ASSIST_CONTEXT_TTL_SECONDS = 120
    store.save_page_sync(1, loan_page(title="first"))
    store.save_page_sync(1, loan_page(title="second"))
    store.save_page_sync(2, loan_page(title="other"))
    assert store.load_page(1)["title"] == "second"
    assert store.load_page(2)["title"] == "other"
    assert store.load_page(3) is None
    client = redis.Redis.from_url(settings.REDIS_URL)
    ttl = client.ttl(store.page_key(1))
    assert 0 < ttl <= 120
    assert store.page_key(1).startswith(f"{settings.CACHES['default']['KEY_PREFIX']}:assist:1:")
    store.forget_page(1)
    assert store.load_page(1) is None and store.load_page(2) is not None


def test_something_else_under_the_key_reads_as_no_page():
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.set(store.page_key(5), b"not json")
    assert store.load_page(5) is None
    client.set(store.page_key(5), b'["a list"]')
    assert store.load_page(5) is None


async def test_page_seen_keeps_the_page_from_the_event_loop():
    await context.page_seen(11, loan_page(title="async"))
    assert store.load_page(11)["title"] == "async"


async def test_page_seen_never_raises_into_the_relay(monkeypatch, caplog):
    async def broken(session_id, page):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(store, "save_page", broken)
    await context.page_seen(12, loan_page())  # logged, not raised
    assert "could not keep the page context" in caplog.text


# -- one session's context ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_session_context_reads_its_page_customer_data_on_file_and_call(monkeypatch):
    account = make_account("Selectors Ltd", redaction_selectors=["[name=mothers_name]"])
    customer = make_user("meera", role="customer", account=account)
    agent = make_user("priya", role="agent", agent_level="L2")
    session, _grant = consent(make_ticket(customer), agent)
    seen = []

    def on_file(user):
        seen.append(user.pk)
        return {"known_pin": "560001"}

    monkeypatch.setattr("accounts.profile.crm_data", on_file)
    page = loan_page(fields=[field("mother", name="mothers_name", value=SECRETS["mother"])])
    store.save_page_sync(session.pk, page)
    built = context.session_context(session.pk)
    assert built["user"]["id"] == customer.pk and seen == [customer.pk]
    assert built["user"]["crm_data"] == {"known_pin": "560001"}
    assert built["user"]["active_call"] is False
    assert _values(built) == {"mother": None}  # the account's selector, applied on reading
    with pytest.raises(CoBrowseSession.DoesNotExist):
        context.session_context(session.pk + 1000)
