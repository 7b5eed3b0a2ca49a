"""The check every proposal from outside the rules passes."""

from __future__ import annotations

from cobrowse.assist.context import build_context
from cobrowse.assist.providers import validate
from cobrowse.assist.providers.proposals import MAX_PROPOSALS
from tests.cobrowse.assist.pages import loan_page

CONTEXT = build_context(loan_page(), crm_data={"known_pin": "560001", "city": "Bengaluru"})


def test_known_kinds_keep_only_their_own_keys():
    raws = [
        {"kind": "prompt", "text": "  Need\nhelp?  ", "trigger": "stall", "extra": 1},
        {"kind": "scroll", "field": "city", "behavior": "smooth"},
        {"kind": "speech", "text": "We can fill that in for you."},
    ]
    assert validate(raws, CONTEXT) == [
        {"kind": "prompt", "text": "Need help?", "trigger": "stall"},
        {"kind": "scroll", "field": "city"},
        {"kind": "speech", "text": "We can fill that in for you."},
    ]


def test_bad_shapes_are_dropped():
    raws = [
        None,
        "prompt",
        {"kind": "prompt"},
        {"kind": "prompt", "text": "hi", "trigger": "boredom"},
        {"kind": "prompt", "text": "hi", "field": "nowhere"},
        {"kind": "highlight"},
        {"kind": "scroll", "field": 3},
        {"kind": "autofill", "field": "city", "value": "Bengaluru"},  # no source
        {
            "kind": "autofill",
            "field": "password",
            "value": "560001",
            "source": "crm_data.known_pin",
        },  # masked
        {"kind": "browse", "url": "ftp://example.com/"},
        {"kind": "browse", "url": "http://localhost:8000/admin/"},
    ]
    assert validate(raws, CONTEXT) == []


def test_an_autofill_names_the_key_its_value_is_on_file_under():
    raws = [{"kind": "autofill", "field": "city", "value": "Bengaluru", "source": "a guess"}]
    assert validate(raws, CONTEXT) == [
        {"kind": "autofill", "field": "city", "value": "Bengaluru", "source": "crm_data.city"}
    ]


def test_duplicates_are_dropped_and_the_list_is_capped():
    raws = [{"kind": "highlight", "field": "city"}] * 3 + [
        {"kind": "speech", "text": f"n{i}"} for i in range(20)
    ]
    out = validate(raws, CONTEXT)
    assert out[0] == {"kind": "highlight", "field": "city"} and out.count(out[0]) == 1
    assert len(out) == MAX_PROPOSALS
