"""The rule-based provider, trigger by trigger, from recorded sequences of page contexts."""

from __future__ import annotations

import pytest

from cobrowse.assist import propose
from cobrowse.assist.context import build_context
from cobrowse.assist.providers import RuleBasedProvider, Thresholds
from cobrowse.assist.providers.rules import explain_error
from cobrowse.assist.voice import CallState
from tests.cobrowse.assist.pages import field, heartbeats, loan_page

PIN_ON_FILE = {"known_pin": "560001", "city": "Bengaluru", "phone": "9876543210"}
RULES = RuleBasedProvider(Thresholds())


def _run(pages, crm=None, trigger=None, **kwargs):
    """Proposals for each page of a sequence, as the server would evaluate them one by one."""
    return [RULES.propose(build_context(p, crm_data=crm, trigger=trigger, **kwargs)) for p in pages]


def _triggers(proposals):
    return {p.get("trigger") for p in proposals if p["kind"] == "prompt"}


def _first_firing(sequence, trigger):
    return next((i for i, proposals in enumerate(sequence) if trigger in _triggers(proposals)), None)


def test_stall_fires_at_twenty_seconds_not_before():
    pages = heartbeats(0, 30_000)  # 0, 5, 10, 15, 20, 25, 30 s
    results = _run(pages)
    assert _first_firing(results, "stall") == 4
    assert pages[4]["stalled_ms"] == 20_000
    assert all(not r for r in results[:4])
    fired = results[4]
    assert {"kind": "highlight", "field": "property_pin_code"} in fired
    prompt = next(p for p in fired if p["kind"] == "prompt")
    assert prompt == {
        "kind": "prompt",
        "trigger": "stall",
        "field": "property_pin_code",
        "text": "Need help with this field?",
    }


def test_the_stall_threshold_comes_from_the_settings(settings):
    settings.ASSIST_STALL_THRESHOLD_MS = 10_000
    results = [RuleBasedProvider().propose(build_context(p)) for p in heartbeats(0, 30_000)]
    assert _first_firing(results, "stall") == 2


def test_a_stall_without_a_focused_field_is_no_field_stall():
    results = _run(heartbeats(0, 40_000, focused=None))
    assert _first_firing(results, "stall") is None


def test_the_pin_code_example_through_propose():
    """Stalled on property_pin_code with known_pin on file: fill that value in."""
    context = build_context(loan_page(stalled_ms=20_000), crm_data=PIN_ON_FILE, user_id=1)
    proposals = propose(context)
    assert {
        "kind": "autofill",
        "field": "property_pin_code",
        "value": "560001",
        "source": "crm_data.known_pin",
    } in proposals
    prompt = next(p for p in proposals if p["kind"] == "prompt")
    assert prompt["trigger"] == "stall" and "on file" in prompt["text"]
    assert [p for p in proposals if p["kind"] == "autofill"] == [
        {"kind": "autofill", "field": "property_pin_code", "value": "560001", "source": "crm_data.known_pin"}
    ]


def test_the_pin_code_is_not_proposed_before_the_threshold():
    context = build_context(loan_page(stalled_ms=19_999), crm_data=PIN_ON_FILE)
    assert propose(context) == []


def test_no_data_on_file_gives_a_prompt_never_an_autofill():
    for crm in (None, {}, {"city": "Bengaluru"}):  # nothing, or nothing for a PIN code
        proposals = propose(build_context(loan_page(stalled_ms=25_000), crm_data=crm))
        assert [p["kind"] for p in proposals] == ["highlight", "prompt"]
        assert proposals[1]["text"] == "Need help with this field?"


def test_a_field_that_already_holds_the_value_on_file_is_not_filled_again():
    page = loan_page(stalled_ms=25_000, fields=[field("property_pin_code", value="560001", status="active")])
    assert not [p for p in propose(build_context(page, crm_data=PIN_ON_FILE)) if p["kind"] == "autofill"]


@pytest.mark.parametrize(
    "stalled",
    [
        field("pin", label="PIN", masked=True, type="password"),  # masked
        field("card_pin", label="Card PIN"),  # a secret by its words
        field("otp_code", label="One-time code"),
    ],
)
def test_never_an_autofill_for_a_masked_or_secret_field(stalled):
    page = loan_page(stalled_ms=25_000, fields=[stalled], focused=stalled["id"])
    proposals = propose(build_context(page, crm_data={**PIN_ON_FILE, "pin": "1234", "otp_code": "99"}))
    assert "autofill" not in {p["kind"] for p in proposals}
    assert "stall" in _triggers(proposals)


@pytest.mark.parametrize(
    ("stalled", "crm", "key"),
    [
        (field("zip", label="ZIP"), {"postal_code": "94103"}, "postal_code"),
        (field("postcode", label="Postcode"), {"known_pin": "560001"}, "known_pin"),
        (field("f7", label="Postal code"), {"PIN": "560001"}, "PIN"),
        (field("contact", label="Mobile number", type="tel"), {"phone": "9876543210"}, "phone"),
        (field("f8", label="Contact", type="tel"), {"mobile_no": "9876543210"}, "mobile_no"),
        (field("applicant_dob", label="DOB"), {"date_of_birth": "1990-04-01"}, "date_of_birth"),
        (field("f9", label="Date of birth"), {"birthday": "1990-04-01"}, "birthday"),
        (field("town", label="Town"), {"city": "Bengaluru"}, "city"),
        (field("address-level2", label="Where"), {"city": "Bengaluru"}, "city"),
        (field("street", label="Street"), {"address_line1": "12 MG Road"}, "address_line1"),
        (field("f10", name="knownPin", label="Code"), {"known_pin": "560001"}, "known_pin"),
    ],
)
def test_fields_map_to_data_on_file_through_synonyms(stalled, crm, key):
    page = loan_page(stalled_ms=25_000, fields=[stalled], focused=stalled["id"])
    fills = [p for p in propose(build_context(page, crm_data=crm)) if p["kind"] == "autofill"]
    assert fills == [
        {"kind": "autofill", "field": stalled["id"], "value": crm[key], "source": f"crm_data.{key}"}
    ]


def test_a_validation_error_is_explained_after_ten_seconds_not_before():
    error_page = {
        "fields": [
            field(
                "property_pin_code",
                label="PIN code",
                value="5600",
                status="error",
                error="Enter a valid 6-digit PIN code.",
            )
        ],
        "focused": "property_pin_code",
    }
    results = _run(heartbeats(0, 15_000, **error_page))
    assert _first_firing(results, "validation_error") == 2  # 10 s
    assert not results[0] and not results[1]
    prompt = next(p for p in results[2] if p["kind"] == "prompt")
    assert prompt["field"] == "property_pin_code"
    assert prompt["text"] == "PIN code: Enter a valid 6-digit PIN code. It needs 6 digits; 4 are entered."
    # Not the field in focus: the page is scrolled to it as well.
    other = {**error_page, "focused": None}
    assert {"kind": "scroll", "field": "property_pin_code"} in _run([loan_page(stalled_ms=10_000, **other)])[
        0
    ]


def test_an_erroring_field_with_data_on_file_is_offered_the_value():
    page = loan_page(
        stalled_ms=10_000,
        fields=[field("property_pin_code", label="PIN code", value="5600", status="error", error="Invalid")],
        focused="property_pin_code",
    )
    proposals = propose(build_context(page, crm_data=PIN_ON_FILE))
    assert {
        "kind": "autofill",
        "field": "property_pin_code",
        "value": "560001",
        "source": "crm_data.known_pin",
    } in proposals
    assert _triggers(proposals) == {"validation_error"}  # one prompt for the field, not two


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (field("email", label="E-mail", type="email", error="Invalid"), "An e-mail address looks like"),
        (field("name", label="Full name", error="This field is required"), "must be filled in"),
        (field("mob", label="Mobile", error="Enter a valid number"), "digits only"),
        (field("x", label="Masked", masked=True, error="6 digits please"), "Masked: 6 digits please."),
    ],
)
def test_errors_are_explained_from_their_text_and_the_fields_kind(item, expected):
    assert expected in explain_error({**item, "value": item.get("value"), "masked": item["masked"]})


def test_rage_clicks_fire_at_the_first_burst():
    """The page counts bursts of 3+ clicks on one spot: one burst is a rage click."""
    results = _run([loan_page(focused=None, rage_clicks=n) for n in (0, 1, 2)])
    assert [("rage_click" in _triggers(r)) for r in results] == [False, True, True]


def test_idle_fires_at_forty_five_seconds_without_a_focused_field():
    results = _run(heartbeats(30_000, 50_000, focused=None))  # 30, 35, 40, 45, 50 s
    assert _first_firing(results, "idle") == 3
    # With a field in focus the stall help speaks instead.
    assert _first_firing(_run(heartbeats(30_000, 50_000)), "idle") is None


@pytest.mark.parametrize(
    ("completion", "fires"), [(0, False), (29, False), (30, True), (60, True), (90, True), (91, False)]
)
def test_exit_intent_only_between_thirty_and_ninety_percent(completion, fires):
    page = loan_page(completion=completion, focused=None)
    proposals = RULES.propose(build_context(page, trigger="exit_intent"))
    assert ("exit_intent" in _triggers(proposals)) is fires
    if fires:
        assert f"{completion} % through" in proposals[0]["text"]
    # The same page without the exit signal proposes nothing.
    assert RULES.propose(build_context(page)) == []


def test_scroll_thrash_points_at_the_next_field_to_fill():
    page = loan_page(focused=None)
    proposals = RULES.propose(build_context(page, trigger="scroll_thrash"))
    assert proposals[0]["trigger"] == "scroll_thrash" and proposals[0]["field"] == "city"  # the first pending
    assert proposals[0]["text"] == "Looking for something? The next field to fill in is City."
    assert {"kind": "scroll", "field": "city"} in proposals
    assert RULES.propose(build_context(page)) == []
    done = loan_page(focused=None, fields=[field("a", status="complete", value="x")])
    assert (
        RULES.propose(build_context(done, trigger="scroll_thrash"))[0]["text"]
        == "Looking for something? We can guide you."
    )


def test_with_a_call_on_the_first_prompt_is_also_speech():
    page = loan_page(stalled_ms=20_000)
    proposals = RULES.propose(build_context(page, crm_data=PIN_ON_FILE, call=CallState(active=True)))
    prompt = next(p for p in proposals if p["kind"] == "prompt")
    assert {"kind": "speech", "text": prompt["text"]} in proposals
    assert "speech" not in {p["kind"] for p in RULES.propose(build_context(page, crm_data=PIN_ON_FILE))}


def test_an_unloadable_provider_setting_falls_back_to_the_rules(settings, caplog):
    settings.ASSIST_PROVIDER = "no.such.Provider"
    proposals = propose(build_context(loan_page(stalled_ms=20_000), crm_data=PIN_ON_FILE))
    assert "autofill" in {p["kind"] for p in proposals}
    assert "cannot be loaded" in caplog.text
