"""Server redaction of numbers a page lays out over several nodes, with the widget's masking off.

The events are raw rrweb 2.x, as a recorder without masking sends them; the rules' single-text cases
live in the shared table (``tests/masking_cases.json``).
"""

from __future__ import annotations

import json

import pytest

from cobrowse.masking.redactor import Redactor
from masking.patterns import MASK
from tests.live.test_consumers import _msg, _pair, _receive_type


def _text(node_id: int, text: str) -> dict:
    return {"type": 3, "textContent": text, "id": node_id}


def _el(node_id: int, tag: str, attrs: dict | None = None, *children: dict) -> dict:
    return {"type": 2, "tagName": tag, "attributes": attrs or {}, "id": node_id, "childNodes": list(children)}


def _snapshot(*body: dict) -> dict:
    html = _el(2, "html", {}, _el(3, "body", {}, *body))
    return {"type": 2, "timestamp": 1, "data": {"node": {"type": 0, "id": 1, "childNodes": [html]}}}


def _mutation(**data) -> dict:
    return {
        "type": 3,
        "timestamp": 2,
        "data": {"source": 0, "adds": [], "removes": [], "texts": [], "attributes": [], **data},
    }


def _split_card() -> dict:
    """<p>Card <span>4111</span> <span>1111</span> <span>1111</span> <span>1111</span></p>"""
    groups = [_el(20 + 2 * i, "span", {}, _text(21 + 2 * i, "4111" if i == 0 else "1111")) for i in range(4)]
    children = [_text(11, "Card ")]
    for i, span in enumerate(groups):
        children += [span] + ([_text(30 + i, " ")] if i < 3 else [])
    return _snapshot(_el(10, "p", {}, *children))


def _texts(node: dict) -> list[str]:
    out = [node["textContent"]] if node.get("type") == 3 else []
    for child in node.get("childNodes", []):
        out += _texts(child)
    return out


def test_a_card_split_over_spans_is_masked_in_every_span():
    out = Redactor(strict=True).redact_events([_split_card()], "p")
    assert _texts(out[0]["data"]["node"]) == ["Card ", MASK, " ", MASK, " ", MASK, " ", MASK]


def test_separate_paragraphs_are_not_read_together():
    snap = _snapshot(_el(10, "p", {}, _text(11, "4111 1111")), _el(12, "p", {}, _text(13, "1111 1111")))
    out = Redactor(strict=True).redact_events([snap], "p")
    assert _texts(out[0]["data"]["node"]) == ["4111 1111", "1111 1111"]


def test_the_last_group_added_later_masks_the_groups_relayed_before():
    """An Amex number, 3782 822463 10005: two groups in the snapshot, the third in a mutation."""
    redactor = Redactor(strict=True)
    snap = _snapshot(
        _el(
            10,
            "p",
            {},
            _el(20, "span", {}, _text(21, "3782")),
            _text(22, " "),
            _el(23, "span", {}, _text(24, "822463")),
        )
    )
    first = redactor.redact_events([snap], "p")
    assert _texts(first[0]["data"]["node"]) == ["3782", " ", "822463"]
    add = _mutation(adds=[{"parentId": 10, "nextId": None, "node": _el(25, "span", {}, _text(26, "10005"))}])
    (out,) = redactor.redact_events([add], "p")
    assert {t["id"]: t["value"] for t in out["data"]["texts"]} == {21: MASK, 24: MASK, 26: MASK}


def test_a_text_change_that_completes_a_number_masks_its_neighbours():
    redactor = Redactor(strict=True)
    snap = _snapshot(
        _el(
            10,
            "div",
            {},
            _el(20, "b", {}, _text(21, "3782")),
            _el(23, "b", {}, _text(24, "822463")),
            _el(25, "b", {}, _text(26, "…")),
        )
    )
    redactor.redact_events([snap], "p")
    (out,) = redactor.redact_events([_mutation(texts=[{"id": 26, "value": "10005"}])], "p")
    assert {t["id"]: t["value"] for t in out["data"]["texts"]} == {21: MASK, 24: MASK, 26: MASK}


def test_a_removed_group_is_not_read_with_new_ones():
    redactor = Redactor(strict=True)
    snap = _snapshot(
        _el(10, "p", {}, _el(20, "span", {}, _text(21, "3782")), _el(23, "span", {}, _text(24, "822463")))
    )
    redactor.redact_events([snap], "p")
    change = _mutation(
        removes=[{"parentId": 20, "id": 21}, {"parentId": 23, "id": 24}],
        adds=[{"parentId": 10, "nextId": None, "node": _el(25, "span", {}, _text(26, "10005"))}],
    )
    (out,) = redactor.redact_events([change], "p")
    assert out["data"]["texts"] == []


def _boxes(maxlength: str | None) -> dict:
    attrs = {"type": "text"} | ({"maxlength": maxlength} if maxlength else {})
    return _snapshot(
        _el(10, "div", {}, *[_el(20 + i, "input", {**attrs, "id": f"cc{i}", "value": ""}) for i in range(4)])
    )


def test_a_card_typed_into_four_short_boxes_is_masked_as_it_is_typed():
    redactor = Redactor(strict=True)
    redactor.redact_events([_boxes("4")], "p")
    typed = [{"type": 3, "timestamp": 3, "data": {"source": 5, "id": 21, "text": "11", "isChecked": False}}]
    (out,) = redactor.redact_events(typed, "p")
    assert out["data"]["text"] == MASK
    page = redactor.redact_page(
        {"page_id": "p", "fields": [{"id": "cc1", "type": "text", "masked": False, "value": "11"}]}
    )
    assert page["fields"][0]["masked"] is True and "value" not in page["fields"][0]


def test_a_card_in_four_boxes_without_maxlength_is_masked_when_read_together():
    snap = _boxes(None)
    for i, group in enumerate(["4111", "1111", "1111", "1111"]):
        snap["data"]["node"]["childNodes"][0]["childNodes"][0]["childNodes"][0]["childNodes"][i][
            "attributes"
        ]["value"] = group
    redactor = Redactor(strict=True)
    (out,) = redactor.redact_events([snap], "p")
    boxes = out["data"]["node"]["childNodes"][0]["childNodes"][0]["childNodes"][0]["childNodes"]
    assert [b["attributes"]["value"] for b in boxes] == [MASK] * 4
    typed = [{"type": 3, "timestamp": 3, "data": {"source": 5, "id": 22, "text": "2222", "isChecked": False}}]
    assert redactor.redact_events(typed, "p")[0]["data"]["text"] == MASK  # sticky for the page


def test_attributes_set_later_on_a_masked_element_are_masked():
    redactor = Redactor(strict=True)
    redactor.redact_events(
        [_snapshot(_el(10, "div", {"data-pii": ""}, _el(11, "a", {"href": "/p/1"}, _text(12, "Jane"))))], "p"
    )
    change = _mutation(
        attributes=[
            {"id": 11, "attributes": {"title": "Jane Roe", "href": "/patients/jane-roe", "class": "x"}}
        ]
    )
    (out,) = redactor.redact_events([change], "p")
    assert out["data"]["attributes"][0]["attributes"] == {"title": MASK, "href": MASK, "class": "x"}


def test_css_content_in_a_serialised_stylesheet_is_masked():
    css = '.a::before{content:"4111 1111"}.b::before{content:"1111 1111"}.c{color:#411111}'
    out = Redactor(strict=True).redact_events([_snapshot(_el(10, "style", {"_cssText": css}))], "p")
    style = out[0]["data"]["node"]["childNodes"][0]["childNodes"][0]["childNodes"][0]
    assert (
        style["attributes"]["_cssText"]
        == '.a::before{content:"******"}.b::before{content:"******"}.c{color:#411111}'
    )


@pytest.mark.django_db(transaction=True)
async def test_the_relay_masks_a_card_split_over_spans_before_the_agent_sees_it():
    session, grant, agent, customer, agent_comm, _ = await _pair()
    await customer.send_json_to(_msg("rrweb", {"events": [_split_card()], "page_id": "p1"}, 1))
    relayed = await _receive_type(agent_comm, "rrweb")
    blob = json.dumps(relayed)
    assert "4111" not in blob and "1111" not in blob
    assert _texts(relayed["data"]["events"][0]["data"]["node"]).count(MASK) == 4
    await customer.disconnect()
    await agent_comm.disconnect()


def test_a_new_snapshot_forgets_the_texts_of_the_last_one():
    """Only the page as it is now is read together: a node gone since is no group of a new number."""
    redactor = Redactor(strict=True)
    redactor.redact_events([_snapshot(_el(10, "p", {}, _el(20, "span", {}, _text(21, "3782"))))], "p")
    redactor.redact_events([_snapshot(_el(10, "p", {}, _el(23, "span", {}, _text(24, "822463"))))], "p")
    add = _mutation(adds=[{"parentId": 10, "nextId": None, "node": _el(25, "span", {}, _text(26, "10005"))}])
    (out,) = redactor.redact_events([add], "p")
    assert out["data"]["texts"] == []


def test_a_card_typed_into_a_contenteditable_element_is_masked_as_it_is_typed():
    redactor = Redactor(strict=True)
    redactor.redact_events(
        [_snapshot(_el(10, "div", {"contenteditable": ""}, _el(11, "p", {}, _text(12, "Card"))))], "p"
    )
    (out,) = redactor.redact_events([_mutation(texts=[{"id": 12, "value": "Card 4111 11"}])], "p")
    assert out["data"]["texts"] == [{"id": 12, "value": f"Card {MASK}"}]


def test_a_text_relayed_again_unchanged_does_not_reread_its_block(monkeypatch):
    """rrweb repeats texts (a hint shown again): the block reads as when it was last checked."""
    from cobrowse.masking import layout

    calls: list[list[str]] = []
    real = layout.redact_fragments

    def counting(texts):
        calls.append(list(texts))
        return real(texts)

    monkeypatch.setattr(layout, "redact_fragments", counting)
    redactor = Redactor(strict=True)
    snap = _snapshot(
        _el(10, "div", {}, _el(20, "b", {}, _text(21, "3782")), _el(23, "b", {}, _text(24, "822463")))
    )
    redactor.redact_events([snap], "p")
    calls.clear()
    redactor.redact_events([_mutation(texts=[{"id": 24, "value": "822463"}])], "p")
    assert calls == []
    (out,) = redactor.redact_events([_mutation(texts=[{"id": 24, "value": "82246310005"}])], "p")
    assert len(calls) == 1
    assert {t["id"]: t["value"] for t in out["data"]["texts"]} == {21: MASK, 24: MASK}
