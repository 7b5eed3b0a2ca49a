"""Wire protocol validation: every message type per role, limits, and errors that name the field."""

from __future__ import annotations

import json

import orjson
import pytest

from cobrowse.protocol import (
    AGENT,
    CUSTOMER,
    Limits,
    Message,
    ProtocolError,
    SeqTracker,
    encode,
    envelope,
    parse_message,
)


def frame(msg_type: str, data: dict, seq: int = 1, ts: int = 1_732_000_000_000, **extra) -> str:
    return json.dumps({"type": msg_type, "seq": seq, "ts": ts, "data": data, **extra}, ensure_ascii=False)


def field(**overrides) -> dict:
    base = {"id": "pin-code", "name": "pin_code", "label": "PIN code", "type": "text", "status": "active"}
    return {**base, "error": "", "masked": False, "value": "560001", **overrides}


def page_data(**overrides) -> dict:
    base = {
        "page_id": "p-7f3a",
        "url": "http://localhost:8001/apply/address",
        "title": "Address",
        "fields": [field()],
        "completion": 40,
        "focused": "pin-code",
        "stalled_ms": 0,
        "rage_clicks": 0,
        "scroll_depth": 12.5,
    }
    return {**base, **overrides}


VALID_CUSTOMER = {
    "hello": {
        "grant": "g.abc",
        "page_id": "p-1",
        "last_acked_seq": -1,
        "url": "http://localhost:8001/",
        "title": "Acme",
    },
    "rrweb": {
        "events": [{"type": 4, "timestamp": 1, "data": {"href": "http://x/", "width": 1, "height": 1}}],
        "page_id": "p-1",
    },
    "page": page_data(),
    "signal": {"kind": "stall", "field": "pin-code", "detail": {"ms": 12000}},
    "decision": {"request_id": "r-1", "approved": True},
    "pong": {"nonce": "n-1"},
    "stop": {"reason": "customer"},
}
VALID_AGENT = {
    "annotate": {"kind": "highlight", "node_id": 42, "page_id": "p-1"},
    "action": {"kind": "type", "node_id": 42, "page_id": "p-1", "value": "Bengaluru"},
    "mode_request": {"mode": "guided"},
    "note": {"text": "Customer stuck on PIN code"},
    "resync": {"from_seq": 10},
    "ping": {"nonce": 7},
}


def assert_error(raw, role, code, field_path=None, text=None):
    with pytest.raises(ProtocolError) as info:
        parse_message(raw, role)
    assert info.value.code == code
    assert info.value.field == field_path
    if text:
        assert text in info.value.message
    return info.value


@pytest.mark.parametrize(
    ("role", "msg_type", "data"),
    [(CUSTOMER, t, d) for t, d in VALID_CUSTOMER.items()] + [(AGENT, t, d) for t, d in VALID_AGENT.items()],
)
def test_valid_messages_parse_from_text_bytes_and_dicts(role, msg_type, data):
    raw = frame(msg_type, data, seq=3, ts=5)
    for form in (raw, raw.encode(), json.loads(raw)):
        message = parse_message(form, role)
        assert message == Message(msg_type, 3, 5, message.data)
        assert isinstance(message.data, dict)


def test_message_is_frozen():
    message = parse_message(frame("pong", {"nonce": "x"}), CUSTOMER)
    with pytest.raises(AttributeError):
        message.seq = 2


@pytest.mark.parametrize(
    ("role", "msg_type"),
    [
        (CUSTOMER, "annotate"),
        (CUSTOMER, "note"),
        (AGENT, "rrweb"),
        (AGENT, "page"),
        (AGENT, "decision"),
        (CUSTOMER, "welcome"),
        (AGENT, "nope"),
    ],
)
def test_types_are_accepted_only_from_their_sender(role, msg_type):
    data = VALID_AGENT.get(msg_type) or VALID_CUSTOMER.get(msg_type) or {}
    err = assert_error(frame(msg_type, data), role, "unknown_type", "type")
    assert role in err.message


@pytest.mark.parametrize(
    ("raw", "code", "field_path"),
    [
        ("not json", "bad_json", None),
        ("[1, 2]", "bad_envelope", None),
        ('"text"', "bad_envelope", None),
        (json.dumps({"seq": 1, "ts": 1, "data": {}}), "missing_field", "type"),
        (json.dumps({"type": 5, "seq": 1, "ts": 1, "data": {}}), "wrong_type", "type"),
        (json.dumps({"type": "pong", "ts": 1, "data": {"nonce": "n"}}), "missing_field", "seq"),
        (json.dumps({"type": "pong", "seq": -1, "ts": 1, "data": {"nonce": "n"}}), "bad_value", "seq"),
        (json.dumps({"type": "pong", "seq": 1.0, "ts": 1, "data": {"nonce": "n"}}), "wrong_type", "seq"),
        (json.dumps({"type": "pong", "seq": True, "ts": 1, "data": {"nonce": "n"}}), "wrong_type", "seq"),
        (json.dumps({"type": "pong", "seq": "1", "ts": 1, "data": {"nonce": "n"}}), "wrong_type", "seq"),
        (json.dumps({"type": "pong", "seq": 1, "data": {"nonce": "n"}}), "missing_field", "ts"),
        (json.dumps({"type": "pong", "seq": 1, "ts": 1.5, "data": {"nonce": "n"}}), "wrong_type", "ts"),
        (json.dumps({"type": "pong", "seq": 2**60, "ts": 1, "data": {"nonce": "n"}}), "bad_value", "seq"),
        (json.dumps({"type": "pong", "seq": 1, "ts": 1}), "missing_field", "data"),
        (json.dumps({"type": "pong", "seq": 1, "ts": 1, "data": []}), "wrong_type", "data"),
        ('{"type": "pong", "seq": 1, "ts": NaN, "data": {}}', "bad_json", None),
    ],
)
def test_envelope_errors(raw, code, field_path):
    assert_error(raw, CUSTOMER, code, field_path)


def test_error_messages_name_the_field_and_the_expected_type():
    err = assert_error(
        frame("decision", {"request_id": "r", "approved": "yes"}), CUSTOMER, "wrong_type", "data.approved"
    )
    assert err.message == "data.approved must be a boolean, not string"
    assert err.as_data() == {"code": "wrong_type", "message": err.message, "field": "data.approved"}


@pytest.mark.parametrize(
    ("raw", "role", "path"),
    [
        (frame("note", {"text": "hi\u0000there"}), AGENT, "data.text"),
        (frame("signal", {"kind": "stall", "field": "pin\u0000"}), CUSTOMER, "data.field"),
        (frame("stop", {"reason": "\u0000"}), CUSTOMER, "data.reason"),
    ],
)
def test_a_nul_in_a_string_is_refused(raw, role, path):
    """PostgreSQL refuses NUL in text: a note holding one crashed the agent's socket (fuzzing)."""
    assert "must not contain NUL" in assert_error(raw, role, "bad_value", path).message


def test_unknown_keys_are_tolerated_and_dropped_everywhere():
    raw = frame("page", page_data(extra="x", fields=[field(css="red")]), v=2, debug=True)
    message = parse_message(raw, CUSTOMER)
    assert "extra" not in message.data
    assert "css" not in message.data["fields"][0]
    assert set(message.data) == {
        "page_id",
        "url",
        "title",
        "fields",
        "completion",
        "focused",
        "stalled_ms",
        "rage_clicks",
        "scroll_depth",
    }


# --- customer messages -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "code", "field_path"),
    [
        ({**VALID_CUSTOMER["hello"], "grant": ""}, "bad_value", "data.grant"),
        ({k: v for k, v in VALID_CUSTOMER["hello"].items() if k != "grant"}, "missing_field", "data.grant"),
        ({**VALID_CUSTOMER["hello"], "page_id": "x" * 65}, "too_long", "data.page_id"),
        ({**VALID_CUSTOMER["hello"], "page_id": "has space"}, "bad_value", "data.page_id"),
        ({**VALID_CUSTOMER["hello"], "last_acked_seq": -2}, "bad_value", "data.last_acked_seq"),
        ({**VALID_CUSTOMER["hello"], "url": "javascript:alert(1)"}, "bad_value", "data.url"),
        ({**VALID_CUSTOMER["hello"], "title": None}, "wrong_type", "data.title"),
    ],
)
def test_hello_fields(data, code, field_path):
    assert_error(frame("hello", data), CUSTOMER, code, field_path)


def test_hello_page_id_of_64_characters_is_fine():
    message = parse_message(frame("hello", {**VALID_CUSTOMER["hello"], "page_id": "x" * 64}), CUSTOMER)
    assert message.data["page_id"] == "x" * 64


def rrweb_events(n: int) -> list[dict]:
    return [
        {"type": 3, "timestamp": 1_732_000_000_000 + i, "data": {"source": 1, "positions": []}}
        for i in range(n)
    ]


def test_rrweb_batches_of_up_to_500_events_pass_whole():
    events = rrweb_events(500)
    events[0]["data"]["whatever"] = {"nested": [1, 2]}  # event contents belong to rrweb: kept
    message = parse_message(frame("rrweb", {"events": events, "page_id": "p"}), CUSTOMER)
    assert message.data["events"] == events


@pytest.mark.parametrize(
    ("events", "code", "field_path"),
    [
        (rrweb_events(501), "too_long", "data.events"),
        ({"0": {}}, "wrong_type", "data.events"),
        ([1], "wrong_type", "data.events[0]"),
        ([{"timestamp": 1, "data": {}}], "missing_field", "data.events[0].type"),
        ([{"type": "2", "timestamp": 1, "data": {}}], "wrong_type", "data.events[0].type"),
        ([{"type": 9, "timestamp": 1, "data": {}}], "bad_value", "data.events[0].type"),
        (
            [*rrweb_events(3), {"type": 3, "timestamp": 1.5, "data": {}}],
            "wrong_type",
            "data.events[3].timestamp",
        ),
        ([{"type": 3, "timestamp": 1, "data": None}], "wrong_type", "data.events[0].data"),
        ([{"type": 3, "timestamp": 1}], "missing_field", "data.events[0].data"),
    ],
)
def test_rrweb_event_shapes(events, code, field_path):
    assert_error(frame("rrweb", {"events": events, "page_id": "p"}), CUSTOMER, code, field_path)


@pytest.mark.parametrize(
    ("data", "code", "field_path"),
    [
        (page_data(fields=[field()] * 301), "too_long", "data.fields"),
        (page_data(fields=[field(status="done")]), "bad_value", "data.fields[0].status"),
        (page_data(fields=[field(), field(masked=True)]), "bad_value", "data.fields[1].value"),
        (page_data(fields=[field(masked="no")]), "wrong_type", "data.fields[0].masked"),
        (
            page_data(fields=[{k: v for k, v in field().items() if k != "label"}]),
            "missing_field",
            "data.fields[0].label",
        ),
        (page_data(fields=[field(value=560001)]), "wrong_type", "data.fields[0].value"),
        (page_data(completion=101), "bad_value", "data.completion"),
        (page_data(completion=True), "wrong_type", "data.completion"),
        (page_data(scroll_depth=-1), "bad_value", "data.scroll_depth"),
        (page_data(stalled_ms=-5), "bad_value", "data.stalled_ms"),
        (page_data(rage_clicks=1.5), "wrong_type", "data.rage_clicks"),
        (page_data(focused=3), "wrong_type", "data.focused"),
        (page_data(url="ftp://x/"), "bad_value", "data.url"),
    ],
)
def test_page_context_fields(data, code, field_path):
    assert_error(frame("page", data), CUSTOMER, code, field_path)


def test_page_context_masked_fields_carry_no_value_and_focus_may_be_null():
    data = page_data(fields=[{k: v for k, v in field(masked=True).items() if k != "value"}], focused=None)
    message = parse_message(frame("page", data), CUSTOMER)
    assert "value" not in message.data["fields"][0]
    assert message.data["focused"] is None


def test_page_context_with_300_fields_fits_the_limits():
    fields = [
        field(id=f"f-{i}", name=f"f_{i}", label="A fairly long label for a field " * 3) for i in range(300)
    ]
    message = parse_message(frame("page", page_data(fields=fields)), CUSTOMER)
    assert len(message.data["fields"]) == 300


@pytest.mark.parametrize(
    ("data", "code", "field_path"),
    [
        ({"kind": "bored"}, "bad_value", "data.kind"),
        ({"kind": "stall", "detail": 5}, "wrong_type", "data.detail"),
        ({"kind": "stall", "detail": "x" * 1001}, "too_long", "data.detail"),
        ({"kind": "stall", "detail": {"blob": "x" * 3000}}, "too_long", "data.detail"),
        ({"kind": "stall", "field": ["a"]}, "wrong_type", "data.field"),
    ],
)
def test_signal_fields(data, code, field_path):
    assert_error(frame("signal", data), CUSTOMER, code, field_path)


@pytest.mark.parametrize(
    "kind", ["stall", "rage_click", "scroll_thrash", "idle", "exit_intent", "validation_error"]
)
def test_every_signal_kind(kind):
    assert parse_message(frame("signal", {"kind": kind}), CUSTOMER).data == {"kind": kind}


@pytest.mark.parametrize(
    ("msg_type", "data", "code", "field_path"),
    [
        ("decision", {"approved": True}, "missing_field", "data.request_id"),
        ("decision", {"request_id": True, "approved": True}, "wrong_type", "data.request_id"),
        ("pong", {"nonce": None}, "wrong_type", "data.nonce"),
        ("pong", {"nonce": ""}, "bad_value", "data.nonce"),
        ("stop", {}, "missing_field", "data.reason"),
    ],
)
def test_small_customer_messages(msg_type, data, code, field_path):
    assert_error(frame(msg_type, data), CUSTOMER, code, field_path)


# --- agent messages --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "code", "field_path"),
    [
        ({"kind": "laser", "page_id": "p"}, "bad_value", "data.kind"),
        ({"kind": "highlight", "page_id": "p"}, "missing_field", "data.node_id"),
        ({"kind": "circle", "page_id": "p", "node_id": -1}, "bad_value", "data.node_id"),
        ({"kind": "arrow", "page_id": "p", "node_id": "5"}, "wrong_type", "data.node_id"),
        ({"kind": "spotlight", "node_id": 5}, "missing_field", "data.page_id"),
        ({"kind": "pointer", "page_id": "p", "x": 10}, "missing_field", "data.y"),
        ({"kind": "pointer", "page_id": "p", "x": 10, "y": "20"}, "wrong_type", "data.y"),
        ({"kind": "text", "page_id": "p", "node_id": 5, "text": "x" * 201}, "too_long", "data.text"),
        ({"kind": "text", "page_id": "p", "node_id": 5}, "missing_field", "data.text"),
    ],
)
def test_annotate_fields(data, code, field_path):
    assert_error(frame("annotate", data), AGENT, code, field_path)


def test_annotate_kinds_keep_only_what_they_use():
    assert parse_message(frame("annotate", {"kind": "clear", "node_id": 3}), AGENT).data == {"kind": "clear"}
    pointer = parse_message(
        frame("annotate", {"kind": "pointer", "page_id": "p", "x": 0.5, "y": 12}), AGENT
    ).data
    assert pointer == {"kind": "pointer", "page_id": "p", "x": 0.5, "y": 12}
    label = parse_message(
        frame("annotate", {"kind": "text", "page_id": "p", "node_id": 9, "text": "é" * 200}), AGENT
    )
    assert label.data["text"] == "é" * 200
    for kind in ("highlight", "circle", "arrow", "spotlight", "scroll_to"):
        assert (
            parse_message(frame("annotate", {"kind": kind, "page_id": "p", "node_id": 1}), AGENT).data[
                "node_id"
            ]
            == 1
        )


@pytest.mark.parametrize(
    ("data", "code", "field_path"),
    [
        ({"kind": "submit", "node_id": 1, "page_id": "p"}, "bad_value", "data.kind"),
        ({"kind": "click", "page_id": "p"}, "missing_field", "data.node_id"),
        ({"kind": "type", "node_id": 1, "page_id": "p"}, "missing_field", "data.value"),
        ({"kind": "autofill", "node_id": 1, "page_id": "p", "value": "x" * 1001}, "too_long", "data.value"),
        ({"kind": "select", "node_id": 1, "page_id": "p", "value": 3}, "wrong_type", "data.value"),
    ],
)
def test_action_fields(data, code, field_path):
    assert_error(frame("action", data), AGENT, code, field_path)


def test_click_drops_a_value():
    data = parse_message(
        frame("action", {"kind": "click", "node_id": 1, "page_id": "p", "value": "x"}), AGENT
    ).data
    assert data == {"kind": "click", "node_id": 1, "page_id": "p"}


@pytest.mark.parametrize(
    ("msg_type", "data", "code", "field_path"),
    [
        ("mode_request", {"mode": "god"}, "bad_value", "data.mode"),
        ("note", {"text": ""}, "bad_value", "data.text"),
        ("note", {"text": "x" * 5001}, "too_long", "data.text"),
        ("resync", {"from_seq": -1}, "bad_value", "data.from_seq"),
        ("ping", {}, "missing_field", "data.nonce"),
    ],
)
def test_other_agent_messages(msg_type, data, code, field_path):
    assert_error(frame(msg_type, data), AGENT, code, field_path)


# --- sizes -----------------------------------------------------------------------------------


def test_customer_frames_over_512_kb_are_refused_before_decoding():
    raw = '{"type": "rrweb", "x": "' + "a" * (512 * 1024) + '"}'
    assert_error(raw, CUSTOMER, "too_large")
    assert_error(b"{" * (512 * 1024 + 1), CUSTOMER, "too_large")  # not even parsed


def test_a_large_rrweb_batch_passes_but_other_customer_types_have_smaller_limits():
    big = {
        "type": 2,
        "timestamp": 1,
        "data": {"node": {"type": 0, "childNodes": [], "id": 1}, "pad": "x" * 400_000},
    }
    assert parse_message(frame("rrweb", {"events": [big], "page_id": "p"}), CUSTOMER).type == "rrweb"
    assert_error(frame("stop", {"reason": "x", "pad": "y" * 20_000}), CUSTOMER, "too_large")


def test_size_is_counted_in_utf8_bytes():
    note = "\U0001f600" * 5000  # 5,000 characters, 20,000 bytes: a valid note
    assert parse_message(frame("note", {"text": note}), AGENT).data["text"] == note
    assert_error(frame("note", {"text": "x" * 4000, "pad": "\u20ac" * 10_000}), AGENT, "too_large")
    small = Limits(agent=1024)
    with pytest.raises(ProtocolError, match="exceeds 1024 bytes"):
        parse_message(frame("note", {"text": "\u20ac" * 400}), AGENT, limits=small)


def test_unknown_role_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown role"):
        parse_message(frame("pong", {"nonce": "n"}), "manager")


# --- sequence numbers and builders -----------------------------------------------------------


def test_seq_tracker_reports_duplicates_and_gaps():
    tracker = SeqTracker()
    assert [tracker.check(s) for s in (0, 1, 1, 0, 3, 4)] == [
        "ok",
        "ok",
        "duplicate",
        "duplicate",
        "gap",
        "ok",
    ]
    assert tracker.last == 4


def test_envelope_builders_round_trip():
    message = envelope("snapshot_request", {}, 4, ts=99, to=CUSTOMER)
    assert message == {"type": "snapshot_request", "seq": 4, "ts": 99, "data": {}}
    ack = envelope("ack", {"seq": 17}, 5)
    assert orjson.loads(encode(ack)) == {"type": "ack", "seq": 5, "ts": ack["ts"], "data": {"seq": 17}}
    err = ProtocolError("wrong_type", "data.approved must be a boolean", "data.approved")
    assert envelope("error", err.as_data(), 6)["data"] == {
        "code": "wrong_type",
        "message": err.message,
        "field": "data.approved",
    }
    assert isinstance(envelope("ping", {"nonce": 1}, 0)["ts"], int)


def test_envelope_refuses_types_the_recipient_is_never_sent():
    with pytest.raises(ValueError, match="never sent to agent"):
        envelope("action_request", {}, 1, to=AGENT)
    with pytest.raises(ValueError, match="never sent to customer"):
        envelope("rrweb", {}, 1, to=CUSTOMER)
    with pytest.raises(ValueError, match="seq"):
        envelope("ping", {}, -1)
