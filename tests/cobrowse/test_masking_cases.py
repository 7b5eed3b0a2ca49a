"""The shared masking table (``tests/masking_cases.json``) against the server's rules.

``frontend/tests/masking.test.mjs`` reads the same table for the widget, so a case added here for
one side holds the other to it too.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from cobrowse.masking.redactor import Redactor
from cobrowse.masking.url import redact_url
from masking.patterns import (
    DIGIT_ZEROS,
    MASK,
    fold_digits,
    redact_css,
    redact_fragments,
    redact_text,
    redact_typed_value,
)

CASES = json.loads((Path(__file__).resolve().parents[1] / "masking_cases.json").read_text())


def _ids(rows: list) -> list[str]:
    return [row[0] if isinstance(row, list) else row["name"] for row in rows]


@pytest.mark.parametrize("row", CASES["text"], ids=_ids(CASES["text"]))
def test_text(row: list) -> None:
    _, value, expected, typed = row
    assert redact_text(value) == expected
    assert redact_typed_value(value) == (expected if typed is None else typed)


@pytest.mark.parametrize("row", CASES["typed"], ids=_ids(CASES["typed"]))
def test_typed(row: list) -> None:
    assert redact_typed_value(row[1]) == row[2]


@pytest.mark.parametrize("row", CASES["css"], ids=_ids(CASES["css"]))
def test_css(row: list) -> None:
    assert redact_css(row[1]) == row[2]


@pytest.mark.parametrize("row", CASES["fragments"], ids=_ids(CASES["fragments"]))
def test_fragments(row: list) -> None:
    assert redact_fragments(row[1]) == row[2]


@pytest.mark.parametrize("row", CASES["urls"], ids=_ids(CASES["urls"]))
def test_urls(row: list) -> None:
    _, url, gone, kept = row
    out = redact_url(url)
    for secret in gone:
        assert secret not in out, (secret, out)
    for part in kept:
        assert part in out, (part, out)


class _Tree:
    """A table tree as an rrweb full snapshot, with what the expectations name collected after."""

    def __init__(self, tree: list) -> None:
        self.next_id = 10
        self.root = self.node(tree, None)

    def node(self, item: Any, parent_tag: str | None) -> dict:
        self.next_id += 1
        if isinstance(item, str):
            out = {"type": 3, "textContent": item, "id": self.next_id}
            if parent_tag == "style":
                out["isStyle"] = True
            return out
        tag, attrs, *children = item
        node = {"type": 2, "tagName": tag, "attributes": dict(attrs), "id": self.next_id, "childNodes": []}
        node["childNodes"] = [self.node(child, tag) for child in children]
        return node

    def event(self) -> dict:
        body = {"type": 2, "tagName": "body", "attributes": {}, "id": 3, "childNodes": [self.root]}
        html = {"type": 2, "tagName": "html", "attributes": {}, "id": 2, "childNodes": [body]}
        return {"type": 2, "timestamp": 1, "data": {"node": {"type": 0, "id": 1, "childNodes": [html]}}}


def _walk(node: dict, texts: list[str], values: list[str]) -> None:
    if node.get("type") == 3:
        texts.append(node["textContent"])
    if node.get("tagName") == "input" and "value" in node.get("attributes", {}):
        values.append(node["attributes"]["value"])
    for child in node.get("childNodes", []):
        _walk(child, texts, values)


@pytest.mark.parametrize("case", CASES["dom"], ids=_ids(CASES["dom"]))
def test_dom(case: dict) -> None:
    """The redactor alone (the widget's masking off) masks what the layout reveals."""
    tree = _Tree(case["tree"])
    out = Redactor(strict=True).redact_events([tree.event()], "p")
    root = out[0]["data"]["node"]["childNodes"][0]["childNodes"][0]["childNodes"][0]
    texts: list[str] = []
    values: list[str] = []
    _walk(root, texts, values)
    if "texts" in case:
        assert texts == case["texts"]
    if "values" in case:
        assert values == case["values"]
    for name, expected in case.get("attrs", {}).items():
        assert root["attributes"][name] == expected, name


def test_the_digit_table_knows_every_decimal_digit_of_the_bmp() -> None:
    """fold_digits (and the widget's fold) cover every run of decimal digits Unicode has there."""
    zeros = [
        cp
        for cp in range(0x80, 0x10000)
        if unicodedata.category(chr(cp)) == "Nd" and unicodedata.digit(chr(cp)) == 0
    ]
    assert sorted(DIGIT_ZEROS) == zeros
    sample = "".join(chr(zero + 7) for zero in zeros)
    assert fold_digits(sample) == "7" * len(zeros)


def test_the_table_masks_with_the_one_mask() -> None:
    assert CASES["text"][0][2].count(MASK) == 1
