"""The ``assist`` message: what the server may put on the wire to staff, and to nobody else."""

from __future__ import annotations

import pytest

from cobrowse import protocol

PIN_FILL = {
    "kind": "autofill",
    "field": "property_pin_code",
    "value": "560001",
    "source": "crm_data.postal_code",
}
SUMMARY = {
    "url": "https://loans.example/apply/address",
    "field": "property_pin_code",
    "trigger": "stall",
    "completion_pct": 40,
    "stall_ms": 25_000,
}


def test_a_proposal_of_each_kind_passes_with_only_its_known_keys():
    data = protocol.assist_data(
        [
            {
                "kind": "prompt",
                "text": "Need help?",
                "field": "property_pin_code",
                "trigger": "stall",
                "x": 1,
            },
            {"kind": "highlight", "field": "property_pin_code", "value": "leak"},
            PIN_FILL,
            {"kind": "scroll", "field": "city"},
            {"kind": "speech", "text": "Your PIN code is on file."},
            {"kind": "browse", "url": "https://loans.example/help"},
        ],
        {**SUMMARY, "extra": "dropped"},
    )
    assert data["proposals"][0] == {
        "kind": "prompt",
        "text": "Need help?",
        "field": "property_pin_code",
        "trigger": "stall",
    }
    assert data["proposals"][1] == {"kind": "highlight", "field": "property_pin_code"}
    assert data["proposals"][2] == PIN_FILL
    assert data["context_summary"] == SUMMARY


@pytest.mark.parametrize(
    ("proposal", "field"),
    [
        ({"kind": "navigate", "url": "https://x.example"}, "data.proposals[0].kind"),
        ({"kind": "autofill", "field": "pin", "value": "560001"}, "data.proposals[0].source"),
        (
            {"kind": "autofill", "field": "pin", "value": "560001", "source": "guess"},
            "data.proposals[0].source",
        ),
        ({"kind": "prompt", "text": ""}, "data.proposals[0].text"),
        ({"kind": "prompt", "text": "x" * 501}, "data.proposals[0].text"),
        ({"kind": "prompt", "text": "Hi", "trigger": "boredom"}, "data.proposals[0].trigger"),
        ({"kind": "highlight", "field": 7}, "data.proposals[0].field"),
        ({"kind": "browse", "url": "javascript:alert(1)"}, "data.proposals[0].url"),
        (
            {"kind": "autofill", "field": "pin", "value": "x" * 1001, "source": "crm_data.pin"},
            "data.proposals[0].value",
        ),
        ("prompt", "data.proposals[0]"),
    ],
)
def test_a_proposal_that_does_not_fit_is_refused(proposal, field):
    with pytest.raises(protocol.ProtocolError) as caught:
        protocol.assist_data([proposal], SUMMARY)
    assert caught.value.field == field


def test_the_list_is_neither_empty_nor_longer_than_the_cap():
    with pytest.raises(protocol.ProtocolError):
        protocol.assist_data([], SUMMARY)
    with pytest.raises(protocol.ProtocolError) as caught:
        protocol.assist_data(
            [{"kind": "highlight", "field": "a"}] * (protocol.MAX_ASSIST_PROPOSALS + 1), SUMMARY
        )
    assert caught.value.code == "too_long"


@pytest.mark.parametrize(
    ("summary", "field"),
    [
        ({**SUMMARY, "completion_pct": 140}, "data.context_summary.completion_pct"),
        ({**SUMMARY, "trigger": "nap"}, "data.context_summary.trigger"),
        ({**SUMMARY, "url": 3}, "data.context_summary.url"),
        ([], "data.context_summary"),
    ],
)
def test_a_summary_that_does_not_fit_is_refused(summary, field):
    with pytest.raises(protocol.ProtocolError) as caught:
        protocol.assist_data([PIN_FILL], summary)
    assert caught.value.field == field


def test_a_summary_without_field_or_trigger_says_so_with_none():
    data = protocol.assist_data(
        [{"kind": "prompt", "text": "Still there?"}], {"url": "", "completion_pct": 0}
    )
    assert data["context_summary"] == {
        "url": "",
        "field": None,
        "trigger": None,
        "completion_pct": 0,
        "stall_ms": 0,
    }


def test_assist_goes_to_staff_and_never_to_the_customer():
    data = protocol.assist_data([PIN_FILL], SUMMARY)
    assert protocol.envelope("assist", data, 0, to=protocol.AGENT)["type"] == "assist"
    with pytest.raises(ValueError, match="never sent to customer"):
        protocol.envelope("assist", data, 0, to=protocol.CUSTOMER)
    # Nobody may send it to the server either.
    for role in protocol.ROLES:
        with pytest.raises(protocol.ProtocolError) as caught:
            protocol.parse_message({"type": "assist", "seq": 0, "ts": 0, "data": data}, role)
        assert caught.value.code == "unknown_type"
