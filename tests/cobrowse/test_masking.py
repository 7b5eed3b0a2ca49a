"""Server-side redaction: raw, unmasked rrweb events and page context in; nothing sensitive out.

The fixtures are written by hand in the rrweb 2.x format (EventType 2 FullSnapshot with a serialized
node tree, 3 IncrementalSnapshot with source 0 Mutation / 5 Input, 4 Meta) as a recorder with its
masking switched off would send them.
"""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cobrowse.masking.redactor import Redactor
from cobrowse.masking.url import redact_url
from cobrowse.protocol import Message
from masking.patterns import MASK, iban_valid, luhn_valid, redact_text, redact_typed_value
from masking.selector import parse_selectors

CARD = "4111 1111 1111 1111"
CARD_2 = "5500-0000-0000-0004"
CARD_3 = "378282246310005"  # Amex, 15 digits
SSN = "123-45-6789"
AADHAAR = "2345 6789 0123"
AADHAAR_2 = "9876-5432-1098"
PAN = "ABCDE1234F"
IBAN = "GB82 WEST 1234 5698 7654 32"
IBAN_2 = "DE89370400440532013000"
# Values that only markup can reveal as secret (no pattern would catch them).
PASSWORD = "hunter2-correct-horse"
ACCOUNT = "50100012345678"
HIDDEN = "kyc-token-8f1e2d"
MAIDEN = "Maiden name Fernandes"
LOCKER = "locker combination seven-seven-eight"
OTP = "482913"
NICKNAME = "blue whale"

PATTERN_SECRETS = [CARD, CARD_2, CARD_3, SSN, AADHAAR, AADHAAR_2, PAN, IBAN, IBAN_2]
MARKUP_SECRETS = [PASSWORD, ACCOUNT, HIDDEN, "Fernandes", "seven-seven-eight", OTP, NICKNAME]


def forms(secret: str) -> set[str]:
    """A secret as it may appear: as written, without separators, in lower case."""
    compact = secret.replace(" ", "").replace("-", "")
    return {secret, compact, secret.lower(), compact.lower()}


def assert_nothing_leaks(output) -> str:
    text = json.dumps(output, ensure_ascii=False)
    for secret in PATTERN_SECRETS + MARKUP_SECRETS:
        for form in forms(secret):
            assert form not in text, f"{form!r} survived redaction"
    return text


# --- rrweb fixtures --------------------------------------------------------------------------


def el(node_id: int, tag: str, attrs: dict | None = None, children: list | None = None) -> dict:
    return {"type": 2, "tagName": tag, "attributes": attrs or {}, "childNodes": children or [], "id": node_id}


def tx(node_id: int, text: str) -> dict:
    return {"type": 3, "textContent": text, "id": node_id}


def full_snapshot() -> dict:
    body = el(
        10,
        "body",
        {},
        [
            el(11, "p", {"class": "notice"}, [tx(12, f"Card on file: {CARD}")]),
            el(
                13,
                "span",
                {"title": f"SSN {SSN}", "aria-label": f"Aadhaar {AADHAAR}"},
                [tx(14, f"ssn: {SSN}")],
            ),
            el(15, "label", {"for": "pan"}, [tx(16, "PAN")]),
            el(17, "input", {"id": "pan", "name": "pan", "type": "text", "value": PAN.lower()}),
            el(
                18,
                "input",
                {"id": "aadhaar", "name": "aadhaar", "type": "text", "data-pii": "", "value": AADHAAR},
            ),
            el(
                19,
                "input",
                {"id": "bank-account", "name": "bank_account", "data-sensitive": "", "value": ACCOUNT},
            ),
            el(20, "input", {"id": "password", "name": "password", "type": "password", "value": PASSWORD}),
            el(21, "input", {"id": "kyc-ref", "name": "kyc_ref", "type": "hidden", "value": HIDDEN}),
            el(22, "input", {"id": "cc-number", "autocomplete": "cc-number", "value": CARD}),
            el(23, "input", {"id": "cc-exp", "autocomplete": "billing cc-exp", "value": "12/29"}),
            el(24, "input", {"id": "cc-csc", "type": "password", "autocomplete": "cc-csc", "value": "9174"}),
            el(25, "input", {"id": "otp", "class": "otp-box", "autocomplete": "one-time-code", "value": OTP}),
            el(26, "textarea", {"id": "notes", "value": f"My IBAN is {IBAN}"}),
            el(27, "input", {"id": "overseas-iban", "placeholder": f"e.g. {IBAN_2}"}),
            el(28, "button", {"type": "submit", "value": f"Pay with {CARD_2}"}, [tx(29, "Pay")]),
            el(30, "img", {"src": "/card.png", "alt": f"Card {CARD_3}", "data-owner-pan": PAN}),
            el(31, "div", {"class": "secret-note card"}, [tx(32, MAIDEN)]),
            el(33, "div", {"data-sensitive": ""}, [el(34, "p", {}, [tx(35, LOCKER)])]),
            el(
                36,
                "select",
                {"id": "employer-state", "data-sensitive": "", "value": "Kerala"},
                [el(37, "option", {"value": "Kerala", "selected": True}, [tx(38, "Kerala")])],
            ),
            el(
                39,
                "a",
                {"href": f"https://acme.test/verify?card={CARD.replace(' ', '')}&otp={OTP}&step=2"},
                [tx(40, "Verify")],
            ),
            el(41, "input", {"id": "nickname", "name": "nickname", "type": "text", "value": ""}),
            el(42, "input", {"id": "city", "name": "city", "type": "text", "value": "Bengaluru"}),
            el(43, "p", {"id": "address"}, [tx(44, "Flat 12B, Lakeview Residency")]),
            el(45, "div", {"id": "mount"}),
            {"type": 5, "textContent": f" debug pan={PAN} ", "id": 46},
        ],
    )
    html = el(
        3, "html", {"lang": "en"}, [el(4, "head", {}, [el(5, "title", {}, [tx(6, f"Review {PAN}")])]), body]
    )
    return {
        "type": 2,
        "timestamp": 1_732_000_000_100,
        "data": {
            "node": {
                "type": 0,
                "childNodes": [{"type": 1, "name": "html", "publicId": "", "systemId": "", "id": 2}, html],
                "id": 1,
            },
            "initialOffset": {"top": 0, "left": 0},
        },
    }


def meta() -> dict:
    return {
        "type": 4,
        "timestamp": 1_732_000_000_000,
        "data": {
            "href": f"https://acme.test/apply?pan={PAN}&aadhaar={AADHAAR.replace(' ', '')}",
            "width": 1280,
            "height": 720,
        },
    }


def incremental(data: dict, ts: int = 1_732_000_000_200) -> dict:
    return {"type": 3, "timestamp": ts, "data": data}


def inp(node_id: int, text: str) -> dict:
    return incremental({"source": 5, "text": text, "isChecked": False, "id": node_id, "userTriggered": True})


def mutations() -> list[dict]:
    return [
        incremental(
            {
                "source": 0,
                "adds": [
                    # A child arrives before its parent in the same batch.
                    {"parentId": 50, "nextId": None, "node": tx(51, "Security answer Fernandes")},
                    {"parentId": 45, "nextId": None, "node": el(50, "div", {"class": "secret-note"})},
                    {"parentId": 33, "nextId": None, "node": tx(52, "seven-seven-eight again")},
                    {
                        "parentId": 45,
                        "nextId": 50,
                        "node": el(53, "input", {"type": "password", "value": PASSWORD}),
                    },
                    {
                        "parentId": 45,
                        "nextId": None,
                        "node": el(54, "span", {}, [tx(55, f"SSN {SSN} on file")]),
                    },
                    {"parentId": 25, "nextId": None, "node": tx(56, OTP)},
                    {"parentId": 45, "nextId": None, "node": tx(57, f"IBAN {IBAN_2.lower()}")},
                ],
                "removes": [{"parentId": 43, "id": 44}],
                "texts": [
                    {"id": 35, "value": "locker seven-seven-eight"},
                    {"id": 12, "value": f"Aadhaar {AADHAAR_2}"},
                    {"id": 32, "value": "Fernandes"},
                ],
                "attributes": [
                    {"id": 17, "attributes": {"value": PAN}},
                    {"id": 20, "attributes": {"type": "text"}},  # a "show password" toggle
                    {"id": 41, "attributes": {"data-sensitive": ""}},
                    {"id": 25, "attributes": {"value": OTP}},
                    {"id": 13, "attributes": {"title": f"Card {CARD_3}", "style": {"color": "red"}}},
                ],
            }
        ),
        inp(19, ACCOUNT),
        inp(22, CARD),
        inp(24, "9174"),
        inp(25, OTP),
        inp(17, PAN.lower()),
        inp(26, "my card is 4111 1111 1111"),  # typed prefix of a card number
        inp(20, PASSWORD),  # type is now text, still masked
        inp(41, NICKNAME),  # marked sensitive by a mutation
        inp(21, HIDDEN),
        inp(42, "Bengaluru"),
        inp(53, PASSWORD),
        {
            "type": 5,
            "timestamp": 1,
            "data": {"tag": "note", "payload": {"text": f"customer said {SSN}", "n": [CARD]}},
        },
        {
            "type": 6,
            "timestamp": 2,
            "data": {"plugin": "rrweb/console@1", "payload": {"level": "log", "payload": [f'"{IBAN}"']}},
        },
        incremental({"source": 2, "type": 1, "id": 22, "x": 10, "y": 20}),
    ]


@pytest.fixture
def redactor() -> Redactor:
    return Redactor([".secret-note"], strict=True)


def by_id(node: dict, node_id: int) -> dict | None:
    if node.get("id") == node_id:
        return node
    for child in node.get("childNodes", []):
        found = by_id(child, node_id)
        if found:
            return found
    return None


# --- the whole flow --------------------------------------------------------------------------


def test_raw_session_leaks_nothing(redactor):
    events = [meta(), full_snapshot(), *mutations()]
    original = copy.deepcopy(events)
    out = redactor.redact_events(events, "p-1")
    text = assert_nothing_leaks(out)
    assert events == original, "the input is never modified"
    # What is not sensitive survives.
    for kept in ("Bengaluru", "Lakeview Residency", "Card on file: ", "Pay", "Verify", "step=2", "otp-box"):
        assert kept in text
    assert "9174" not in text and "12/29" not in text


def test_full_snapshot_structure_is_kept_and_values_masked(redactor):
    out = redactor.redact_events([full_snapshot()], "p-1")[0]
    root = out["data"]["node"]
    assert out["data"]["initialOffset"] == {"top": 0, "left": 0}
    attrs = {i: by_id(root, i)["attributes"] for i in (17, 18, 19, 20, 21, 22, 23, 24, 26, 27, 28, 30, 42)}
    assert attrs[17]["value"] == MASK  # PAN without markup: pattern, whole value
    for node_id in (18, 19, 20, 21, 22, 23, 24):
        assert attrs[node_id]["value"] == MASK, node_id
    assert attrs[26]["value"] == MASK  # a form value holding a pattern is masked whole
    assert attrs[27]["placeholder"] == f"e.g. {MASK}"
    assert attrs[28]["value"] == f"Pay with {MASK}"
    assert attrs[30] == {"src": "/card.png", "alt": f"Card {MASK}", "data-owner-pan": MASK}
    assert attrs[42]["value"] == "Bengaluru"
    assert by_id(root, 12)["textContent"] == f"Card on file: {MASK}"
    assert by_id(root, 32)["textContent"] == MASK  # account selector .secret-note
    assert by_id(root, 35)["textContent"] == MASK  # inside [data-sensitive]
    assert by_id(root, 6)["textContent"] == f"Review {MASK}"
    # Inside a sensitive select neither the options nor which one is chosen show.
    assert by_id(root, 37)["attributes"] == {"value": MASK}
    assert by_id(root, 38)["textContent"] == MASK
    assert by_id(root, 36)["attributes"]["value"] == MASK
    # one-time-code: blocked, only class and placeholder size survive.
    assert by_id(root, 25) == {
        "type": 2,
        "tagName": "input",
        "attributes": {"class": "otp-box"},
        "childNodes": [],
        "id": 25,
    }
    href = by_id(root, 39)["attributes"]["href"]
    assert href == f"https://acme.test/verify?card={MASK}&otp={MASK}&step=2"
    assert len(by_id(root, 10)["childNodes"]) == len(
        full_snapshot()["data"]["node"]["childNodes"][1]["childNodes"][1]["childNodes"]
    )


def test_mutations_and_inputs(redactor):
    redactor.redact_events([meta(), full_snapshot()], "p-1")
    out = redactor.redact_events(mutations(), "p-1")
    mutation = out[0]["data"]
    adds = {a["node"]["id"]: a["node"] for a in mutation["adds"]}
    assert adds[51]["textContent"] == MASK  # child of a .secret-note added in the same batch
    assert adds[52]["textContent"] == MASK  # added inside [data-sensitive]
    assert adds[53]["attributes"] == {"type": "password", "value": MASK}
    assert by_id(adds[54], 55)["textContent"] == f"SSN {MASK} on file"
    assert 56 not in adds  # added inside the blocked one-time-code input
    assert adds[57]["textContent"] == f"IBAN {MASK}"
    assert mutation["removes"] == [{"parentId": 43, "id": 44}]
    assert mutation["texts"] == [
        {"id": 35, "value": MASK},
        {"id": 12, "value": f"Aadhaar {MASK}"},
        {"id": 32, "value": MASK},
    ]
    changes = {c["id"]: c["attributes"] for c in mutation["attributes"]}
    assert changes[17] == {"value": MASK}
    assert changes[20] == {"type": "text"}
    assert 25 not in changes  # blocked element: attribute changes dropped
    assert changes[13] == {"title": f"Card {MASK}", "style": {"color": "red"}}
    inputs = {
        e["data"]["id"]: e["data"]["text"] for e in out if e["type"] == 3 and e["data"].get("source") == 5
    }
    assert 25 not in inputs  # one-time-code input events are dropped
    assert inputs == {
        19: MASK,
        22: MASK,
        24: MASK,
        17: MASK,
        26: MASK,
        20: MASK,
        41: MASK,
        21: MASK,
        42: "Bengaluru",
        53: MASK,
    }
    custom = next(e for e in out if e["type"] == 5)
    assert custom["data"] == {"tag": "note", "payload": {"text": f"customer said {MASK}", "n": [MASK]}}
    assert out[-1] == incremental({"source": 2, "type": 1, "id": 22, "x": 10, "y": 20})


def test_input_events_for_sensitive_fields_are_masked_even_when_harmless(redactor):
    redactor.redact_events([full_snapshot()], "p-1")
    assert redactor.redact_events([inp(19, "1")], "p-1")[0]["data"]["text"] == MASK
    assert redactor.redact_events([inp(19, "")], "p-1")[0]["data"]["text"] == ""
    # The same node id on another page is another node.
    assert redactor.redact_events([inp(19, "hello")], "p-2")[0]["data"]["text"] == "hello"


def test_a_field_that_once_held_a_card_number_stays_masked(redactor):
    redactor.redact_events([full_snapshot()], "p-1")
    assert redactor.redact_events([inp(42, CARD)], "p-1")[0]["data"]["text"] == MASK
    assert redactor.redact_events([inp(42, "Bengaluru")], "p-1")[0]["data"]["text"] == MASK


def test_sensitivity_survives_a_new_full_snapshot_of_the_same_page(redactor):
    redactor.redact_events([full_snapshot(), *mutations()], "p-1")
    again = redactor.redact_events([full_snapshot()], "p-1")[0]["data"]["node"]
    assert by_id(again, 41)["attributes"].get("data-sensitive") is None  # markup as the page sends it
    assert redactor.redact_events([inp(41, "anything")], "p-1")[0]["data"]["text"] == MASK


def test_pages_are_forgotten_least_recently_used_first():
    redactor = Redactor(max_pages=2, strict=True)
    redactor.redact_events([full_snapshot()], "a")
    redactor.redact_events([full_snapshot()], "b")
    redactor.redact_events([inp(19, "x")], "a")  # touch a
    redactor.redact_events([full_snapshot()], "c")  # evicts b
    assert redactor.redact_events([inp(19, "x")], "a")[0]["data"]["text"] == MASK
    assert redactor.redact_events([inp(19, "x")], "b")[0]["data"]["text"] == "x"


def test_events_already_masked_by_the_widget_pass_unchanged(redactor):
    masked = [
        meta() | {"data": {"href": "https://acme.test/apply", "width": 1, "height": 1}},
        incremental({"source": 5, "text": MASK, "isChecked": False, "id": 19}),
        incremental(
            {
                "source": 0,
                "adds": [],
                "removes": [],
                "texts": [{"id": 12, "value": "Card on file: " + MASK}],
                "attributes": [],
            }
        ),
    ]
    assert redactor.redact_events(copy.deepcopy(masked), "p") == masked


def test_a_failing_event_is_dropped_not_relayed(monkeypatch):
    redactor = Redactor()

    def boom(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(redactor, "_node", boom)
    out = redactor.redact_events([meta(), full_snapshot(), inp(1, "ok")], "p")
    assert [e["type"] for e in out] == [4, 3]
    assert redactor.dropped == 1
    strict = Redactor(strict=True)
    monkeypatch.setattr(strict, "_node", boom)
    with pytest.raises(RuntimeError):
        strict.redact_events([full_snapshot()], "p")


# --- page context and whole messages ---------------------------------------------------------


def page_context() -> dict:
    def f(fid, name, label, ftype="text", value=None, masked=False, error="", status="complete"):
        item = {
            "id": fid,
            "name": name,
            "label": label,
            "type": ftype,
            "status": status,
            "error": error,
            "masked": masked,
        }
        if value is not None:
            item["value"] = value
        return item

    return {
        "page_id": "p-1",
        "url": f"https://acme.test/apply/income?ref={PAN}&aadhaar={AADHAAR.replace(' ', '+')}&step=4",
        "title": f"Income for {PAN}",
        "fields": [
            f("pan", "pan", "PAN", value=PAN.lower()),
            f("overseas-iban", "overseas_iban", "Overseas IBAN", value=IBAN),
            f("bank-account", "bank_account", "Salary account", value=ACCOUNT),  # widget masking off
            f("password", "password", "Password", "password", value=PASSWORD),
            f("kyc-ref", "kyc_ref", "KYC", "hidden", value=HIDDEN),
            f("card-note", "card_note", f"Your card {CARD}", value="visa"),
            f("ifsc", "ifsc", "IFSC", value="HDFC0001234", status="error", error=f"{PAN} is not an IFSC"),
            f("city", "city", "City", value="Bengaluru"),
            f("nickname", "nickname", "Nickname", value=NICKNAME, masked=True),
        ],
        "completion": 60,
        "focused": "pan",
        "stalled_ms": 4000,
        "rage_clicks": 0,
        "scroll_depth": 50,
    }


def test_page_context_is_redacted(redactor):
    redactor.redact_events([full_snapshot()], "p-1")  # teaches the redactor which DOM ids are sensitive
    out = redactor.redact_page(page_context())
    assert_nothing_leaks(out)
    fields = {f["id"]: f for f in out["fields"]}
    for fid in ("pan", "overseas-iban", "bank-account", "password", "kyc-ref", "nickname"):
        assert fields[fid]["masked"] is True and "value" not in fields[fid], fid
    assert fields["card-note"]["label"] == f"Your card {MASK}"
    assert fields["card-note"]["value"] == "visa"
    assert fields["ifsc"]["error"] == f"{MASK} is not an IFSC"
    assert fields["city"] == {
        "id": "city",
        "name": "city",
        "label": "City",
        "type": "text",
        "status": "complete",
        "error": "",
        "masked": False,
        "value": "Bengaluru",
    }
    assert out["url"] == f"https://acme.test/apply/income?ref={MASK}&aadhaar={MASK}&step=4"
    assert out["title"] == f"Income for {MASK}"
    assert out["completion"] == 60 and out["focused"] == "pan"


def test_page_fields_matching_account_selectors_or_missing_the_flag_are_masked():
    redactor = Redactor(["[name=mothers_name]", "#secret-q"], strict=True)
    out = redactor.redact_page(
        {
            "page_id": "p",
            "fields": [
                {"id": "m", "name": "mothers_name", "type": "text", "masked": False, "value": "Fernandes"},
                {"id": "secret-q", "name": "q", "type": "text", "masked": False, "value": "Fernandes"},
                {"id": "x", "name": "x", "type": "text", "value": "Fernandes"},  # no flag: fail closed
            ],
        }
    )
    assert [f["masked"] for f in out["fields"]] == [True, True, True]
    assert "Fernandes" not in json.dumps(out)


def test_redact_message_handles_parsed_messages_and_dicts(redactor):
    message = Message("rrweb", 3, 10, {"events": [meta(), full_snapshot(), *mutations()], "page_id": "p-1"})
    out = redactor.redact_message(message)
    assert isinstance(out, Message) and out.seq == 3 and out.ts == 10
    assert_nothing_leaks(out.data)
    page = redactor.redact_message({"type": "page", "seq": 4, "ts": 11, "data": page_context()})
    assert_nothing_leaks(page)
    hello = redactor.redact_message(
        Message(
            "hello",
            0,
            1,
            {
                "grant": "g",
                "page_id": "p",
                "last_acked_seq": -1,
                "url": f"https://a.test/?c={CARD}",
                "title": f"Hi {PAN}",
            },
        )
    )
    assert_nothing_leaks(hello.data)
    signal = redactor.redact_message(
        Message("signal", 5, 1, {"kind": "validation_error", "field": "pan", "detail": f"bad {PAN}"})
    )
    assert signal.data["detail"] == f"bad {MASK}"


# --- patterns --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Card on file: {CARD}", f"Card on file: {MASK}"),
        ("4111111111111111", MASK),
        ("4111-1111-1111-1111.", f"{MASK}."),
        (CARD_3, MASK),
        ("6011 0009 9013 9424 and 3530 1113 3330 0000", f"{MASK} and {MASK}"),
        ("4111 1111 1111 1112", "4111 1111 1111 1112"),  # not Luhn-valid
        ("Tel 022 2345 6789 4111 1111 1111 1111", f"Tel {MASK}"),  # card inside a longer run
        (f"ssn {SSN}!", f"ssn {MASK}!"),
        (f"Aadhaar: {AADHAAR}", f"Aadhaar: {MASK}"),
        ("234567890123", MASK),
        ("134567890123", "134567890123"),  # Aadhaar never starts with 0 or 1
        (f"PAN {PAN}, pan {PAN.lower()}", f"PAN {MASK}, pan {MASK}"),
        ("PANABCDE1234FX", "PANABCDE1234FX"),
        (f"IBAN {IBAN} is mine", f"IBAN {MASK} is mine"),
        (f"{IBAN_2} {IBAN}", f"{MASK} {MASK}"),
        ("XX12 GB82 WEST 1234 5698 7654 32", f"XX12 {MASK}"),
        ("GB82 WEST 1234 5698 7654 33", "GB82 WEST 1234 5698 7654 33"),  # bad check digits
        (
            "Call 1800 200 3344, PIN 560001, +91 98765 43210",
            "Call 1800 200 3344, PIN 560001, +91 98765 43210",
        ),
        ("Loan of 75,00,000 at 8.35% for 240 months", "Loan of 75,00,000 at 8.35% for 240 months"),
        ("", ""),
    ],
)
def test_patterns(text, expected):
    assert redact_text(text) == expected


def test_typed_values_mask_what_may_still_become_a_number():
    assert redact_typed_value("4111 1111 11") == MASK
    assert redact_typed_value("gb82 west 12") == MASK
    assert redact_typed_value("ABCDE12") == MASK
    assert redact_typed_value("Flat 12B, 4th Cross") == "Flat 12B, 4th Cross"


def test_checksums():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid(IBAN) and iban_valid(IBAN_2.lower()) and not iban_valid("GB82 WEST 1234 5698 7654 33")
    assert not iban_valid("GB82 WEST") and not iban_valid("GB82 WEST 1234 5698 7654 3É")


def test_urls():
    assert redact_url("https://user:pw@acme.test/a?x=1") == f"https://{MASK}@acme.test/a?x=1"
    assert (
        redact_url("https://acme.test/a?access_token=abc&cardNumber=1&page=2")
        == f"https://acme.test/a?access_token={MASK}&cardNumber={MASK}&page=2"
    )
    assert (
        redact_url(f"https://acme.test/cards/{CARD.replace(' ', '%20')}") == f"https://acme.test/cards/{MASK}"
    )
    assert (
        redact_url(f"https://acme.test/#id_token=x&q={PAN}") == f"https://acme.test/#id_token={MASK}&q={MASK}"
    )
    assert redact_url("http://localhost:8001/apply/address") == "http://localhost:8001/apply/address"
    assert redact_url("http://[::1") == "http://[::1"  # unparsable: patterns only


# --- selectors -------------------------------------------------------------------------------


def test_selector_subset():
    sels = parse_selectors(
        ["input.secret[name=pin], #acct", "[data-x^='a b']", "[data-y$=z]", "[data-z*=mid]", "*[data-w]"]
    )
    assert [s.text for s in sels] == [
        "input.secret[name=pin]",
        "#acct",
        "[data-x^='a b']",
        "[data-y$=z]",
        "[data-z*=mid]",
        "*[data-w]",
    ]
    pin, acct, prefix, suffix, middle, star = sels
    assert pin.matches("input", {"class": "a secret", "name": "pin"})
    assert not pin.matches("select", {"class": "secret", "name": "pin"})
    assert not pin.matches("input", {"class": "secrets", "name": "pin"})
    assert acct.matches("div", {"id": "acct"}) and not acct.matches("div", {"id": "acct2"})
    assert prefix.matches("p", {"data-x": "a bc"}) and not prefix.matches("p", {"data-x": "ab"})
    assert suffix.matches("p", {"data-y": "xyz"}) and middle.matches("p", {"data-z": "amidst"})
    assert star.matches("p", {"data-w": ""}) and not star.matches("p", {})


def test_an_attribute_selector_may_ignore_case():
    (dob,) = parse_selectors(['[name*="dob" i]'])
    assert dob.matches("input", {"name": "patientDOB"}) and dob.matches("input", {"name": "dob"})
    assert not dob.matches("input", {"name": "d-o-b"})
    (exact,) = parse_selectors(["[name=DOB]"])
    assert exact.matches("input", {"name": "DOB"}) and not exact.matches("input", {"name": "dob"})


@pytest.mark.parametrize(
    "bad",
    [
        "div span",
        "div > input",
        "input:focus",
        "a + b",
        "",
        "[x=",
        "::before",
        "input[type=password x]",
        "[a i]",
    ],
)
def test_selectors_outside_the_subset_are_refused(bad):
    with pytest.raises(ValueError):
        parse_selectors([bad])
    with pytest.raises(ValueError):
        Redactor([bad])


# --- robustness ------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
KEYS = st.sampled_from(
    [
        "type",
        "id",
        "tagName",
        "attributes",
        "childNodes",
        "textContent",
        "source",
        "adds",
        "removes",
        "texts",
        "node",
        "parentId",
        "nextId",
        "value",
        "text",
        "href",
        "data",
        "events",
        "page_id",
        "fields",
        "masked",
        "autocomplete",
        "class",
        "data-sensitive",
        "timestamp",
        "isChecked",
        "url",
        "name",
    ]
) | st.text(max_size=8)
rrweb_ints = st.sampled_from([0, 1, 2, 3, 4, 5, 6, 19, 22, 25])
json_values = st.recursive(
    json_scalars | rrweb_ints,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(KEYS, children, max_size=6),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(json_values, max_size=6), page=json_values, message=json_values)
def test_arbitrary_json_never_raises_and_stays_serialisable(events, page, message):
    redactor = Redactor([".secret", "[name=pin]"], strict=True)
    redactor.redact_events([full_snapshot()], "p")
    json.dumps(redactor.redact_events(events, "p"))
    json.dumps(redactor.redact_events(events, page))
    json.dumps(redactor.redact_page(page))
    json.dumps(redactor.redact_message(message))
    json.dumps(redactor.redact_message({"type": "rrweb", "data": {"events": events, "page_id": "p"}}))
    assert redactor.dropped == 0


@settings(max_examples=200, deadline=None)
@given(
    secret=st.sampled_from(PATTERN_SECRETS),
    before=st.text(alphabet="abc XYZ.,:;()", max_size=20),
    after=st.text(alphabet="abc XYZ.,:;()", max_size=20),
)
def test_a_secret_between_words_is_always_masked(secret, before, after):
    text = f"{before} {secret} {after}"
    out = redact_text(text)
    for form in forms(secret):
        assert form not in out


def test_deeply_nested_input_is_cut_not_crashed():
    node = tx(99999, f"deep {CARD}")
    for i in range(2000):
        node = el(i + 100, "div", {}, [node])
    out = Redactor(strict=True).redact_events([{"type": 2, "timestamp": 1, "data": {"node": node}}], "p")
    assert CARD not in json.dumps(out)
