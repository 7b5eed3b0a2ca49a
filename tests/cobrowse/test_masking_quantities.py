"""Number fields hold quantities: a page's loan amount reaches the agent, card numbers do not."""

from __future__ import annotations

from cobrowse.masking.redactor import Redactor
from masking.patterns import MASK
from tests.cobrowse.test_masking import by_id, el, inp


def snapshot(*inputs: dict) -> dict:
    body = el(10, "body", {}, [el(11, "div", {"class": "field"}, list(inputs))])
    html = el(3, "html", {}, [el(4, "head"), body])
    return {
        "type": 2,
        "timestamp": 1_732_000_000_100,
        "data": {"node": {"type": 0, "childNodes": [html], "id": 1}, "initialOffset": {"top": 0, "left": 0}},
    }


def amount(node_id: int, value: str) -> dict:
    return el(node_id, "input", {"id": f"n{node_id}", "type": "number", "value": value, "min": "100000"})


def test_a_page_set_amount_in_a_number_field_is_kept():
    redactor = Redactor([], strict=True)
    out = redactor.redact_events([snapshot(amount(20, "5000000"), amount(21, "8.35"))], "p-1")[0]
    root = out["data"]["node"]
    assert by_id(root, 20)["attributes"]["value"] == "5000000"
    assert by_id(root, 21)["attributes"]["value"] == "8.35"
    # Typing a new amount is shown too.
    assert redactor.redact_events([inp(20, "7500000")], "p-1")[0]["data"]["text"] == "7500000"


def test_a_card_number_in_a_number_field_is_still_masked():
    redactor = Redactor([], strict=True)
    out = redactor.redact_events([snapshot(amount(20, "4111111111111111"))], "p-1")[0]
    assert by_id(out["data"]["node"], 20)["attributes"]["value"] == MASK
    assert redactor.redact_events([inp(20, "5000000")], "p-1")[0]["data"]["text"] == MASK


def test_text_fields_keep_the_typing_rules():
    redactor = Redactor([], strict=True)
    text = el(20, "input", {"id": "n20", "type": "text", "value": "5000000"})
    out = redactor.redact_events([snapshot(text)], "p-1")[0]
    assert by_id(out["data"]["node"], 20)["attributes"]["value"] == MASK
