"""Hypothesis strategies for the live sockets' frames: valid-shaped messages of every type the
protocol accepts (``cobrowse/protocol/schemas.py``), and the same messages broken on purpose.

A frame is what a client puts on the socket: ``("text", str)`` or ``("bytes", bytes)``. Valid
shapes follow each type's schema (required fields, kinds, limits); broken ones drop a required
field, add unknown ones, swap a value for one of the wrong type, blow a string up past its limit,
nest deeply, carry NaN/Infinity, arrive as binary or invalid UTF-8, go over the frame limit, reuse
or jump ``seq``, belong to another role, or are ``part`` frames with bad indexes and ids.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from cobrowse import protocol
from live import socket_limits

Frame = tuple[str, Any]

# --- building blocks ----------------------------------------------------------------------------

TS = 1_700_000_000_000
#: ``seq`` of valid-shaped frames stays far below the largest integer a frame may carry, so that a
#: probe sent after any of them (with a larger seq) is always new to the relay.
VALID_SEQ = st.integers(min_value=0, max_value=10**6)
BAD_SEQ = st.sampled_from([-1, 1.5, "1", None, True, protocol.MAX_SAFE_INT + 1, 2**64, [], {}])

short_text = st.text(max_size=24)
page_ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12)
urls = st.sampled_from(["http://localhost:8001/apply", "https://example.com/a?b=1", "http://x/"])
json_scalars = (
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.floats(allow_nan=False) | short_text
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(short_text, inner, max_size=4),
    max_leaves=12,
)
wrong_values = st.sampled_from(
    [None, True, 0, -1, 1.5, "", "x", [], {}, [1, "a"], {"a": None}, 2**70, "\u0000", "\ud7ff" * 3]
)
#: Request ids as the server issues them (``mode:<pk>``, ``action:<pk>``, ``full:<hex>``) and near
#: misses: other digits (superscripts, Arabic-Indic, N'Ko, Tamil), numbers past any primary key,
#: empty or foreign prefixes.
OTHER_DIGITS = "0123456789\u00b2\u00b3\u00b9\u0661\u0662\u0663\u07c0\u0be7"
request_ids = st.one_of(
    st.sampled_from(["mode:1", "action:1", "full:ab", "x", "7", "action:", ":9"]),
    st.tuples(
        st.sampled_from(["mode:", "action:", "full:", ""]),
        st.integers(0, 10**30).map(str) | st.text(alphabet=OTHER_DIGITS, min_size=1, max_size=6),
    ).map("".join),
)
huge_strings = st.sampled_from([70_000, 200_000, 600_000]).map(lambda n: "é" * n)


maybe = lambda strategy: strategy | json_values  # noqa: E731 - mostly the right type, sometimes not

rrweb_nodes = st.recursive(
    st.fixed_dictionaries(
        {"type": st.integers(0, 5), "id": maybe(st.integers(0, 50))},
        optional={
            "textContent": maybe(short_text),
            "tagName": st.sampled_from(["input", "div", "script", "form", "select"]),
        },
    ),
    lambda children: st.fixed_dictionaries(
        {
            "type": st.just(2),
            "id": maybe(st.integers(0, 50)),
            "tagName": maybe(st.sampled_from(["input", "div", "form", "textarea", "button", "style"])),
            "attributes": maybe(
                st.dictionaries(
                    st.sampled_from(["type", "value", "name", "autocomplete", "href", "class", "style"]),
                    maybe(short_text),
                    max_size=3,
                )
            ),
            "childNodes": maybe(st.lists(children, max_size=3)),
        }
    ),
    max_leaves=8,
)
rrweb_data = st.fixed_dictionaries(
    {},
    optional={
        "source": maybe(st.integers(0, 15)),
        "id": maybe(st.integers(0, 50)),
        "node": maybe(rrweb_nodes),
        "adds": maybe(
            st.lists(
                st.fixed_dictionaries({"parentId": maybe(st.integers(0, 50)), "node": maybe(rrweb_nodes)}),
                max_size=3,
            )
        ),
        "removes": maybe(st.lists(st.fixed_dictionaries({"id": maybe(st.integers(0, 50))}), max_size=2)),
        "texts": maybe(
            st.lists(
                st.fixed_dictionaries({"id": maybe(st.integers(0, 50)), "value": maybe(short_text)}),
                max_size=2,
            )
        ),
        "attributes": maybe(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "id": maybe(st.integers(0, 50)),
                        "attributes": maybe(st.dictionaries(short_text, maybe(short_text), max_size=2)),
                    }
                ),
                max_size=2,
            )
        ),
        "text": maybe(short_text),
        "isChecked": maybe(st.booleans()),
        "href": maybe(short_text),
    },
)


def _rrweb_event() -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {"type": st.integers(0, 6), "timestamp": st.integers(0, 2**45), "data": rrweb_data}
    )


def _page_field() -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {
            "id": short_text,
            "name": short_text,
            "label": short_text,
            "type": st.sampled_from(["text", "email", "password", "number", ""]),
            "status": st.sampled_from(sorted(protocol.FIELD_STATUSES)),
            "error": short_text,
            "masked": st.just(False),
        },
        optional={"value": short_text},
    )


#: The ``data`` of every type a customer may send (the hello's grant is fake: it is never the first).
CUSTOMER_DATA: dict[str, st.SearchStrategy[dict]] = {
    "hello": st.fixed_dictionaries(
        {
            "grant": st.text(min_size=1, max_size=40),
            "page_id": page_ids,
            "last_acked_seq": st.integers(-1, 100),
            "url": urls,
            "title": short_text,
        }
    ),
    "rrweb": st.fixed_dictionaries({"events": st.lists(_rrweb_event(), max_size=4), "page_id": page_ids}),
    "page": st.fixed_dictionaries(
        {
            "page_id": page_ids,
            "url": urls,
            "title": short_text,
            "fields": st.lists(_page_field(), max_size=3),
            "completion": st.floats(0, 100),
            "focused": st.none() | short_text,
            "stalled_ms": st.integers(0, 10**6),
            "rage_clicks": st.integers(0, 50),
            "scroll_depth": st.floats(0, 100),
        }
    ),
    "signal": st.fixed_dictionaries(
        {"kind": st.sampled_from(sorted(protocol.SIGNAL_KINDS))},
        optional={
            "field": short_text,
            "detail": short_text | st.dictionaries(short_text, json_scalars, max_size=3),
        },
    ),
    "decision": st.fixed_dictionaries(
        {
            "request_id": request_ids | st.integers(0, 10**9),
            "approved": st.booleans(),
        }
    ),
    "pong": st.fixed_dictionaries({"nonce": short_text.filter(bool) | st.integers(0, 10**6)}),
    "action_result": st.fixed_dictionaries(
        {
            "request_id": request_ids,
            "ok": st.booleans(),
        },
        optional={"detail": short_text},
    ),
    "part": st.fixed_dictionaries(
        {
            "id": st.text(alphabet="abcdef0123456789", min_size=1, max_size=8),
            "index": st.integers(0, 3),
            "count": st.integers(1, 4),
            "body": st.text(max_size=40),
        }
    ).filter(lambda d: d["index"] < d["count"]),
}

#: The ``data`` of every type staff may send (team members use the same schemas).
AGENT_DATA: dict[str, st.SearchStrategy[dict]] = {
    "annotate": st.fixed_dictionaries(
        {"kind": st.sampled_from(sorted(protocol.ANNOTATE_KINDS)), "page_id": page_ids},
        optional={
            "node_id": st.integers(0, 10**6),
            "x": st.floats(0, 5000),
            "y": st.floats(0, 5000),
            "text": st.text(min_size=1, max_size=30),
        },
    ),
    "action": st.fixed_dictionaries(
        {
            "kind": st.sampled_from(sorted(protocol.ACTION_KINDS)),
            "node_id": st.integers(0, 10**6),
            "page_id": page_ids,
            "value": short_text,
        }
    ),
    "mode_request": st.fixed_dictionaries({"mode": st.sampled_from(protocol.MODES)}),
    "note": st.fixed_dictionaries({"text": st.text(min_size=1, max_size=60)}),
    "resync": st.fixed_dictionaries({"from_seq": st.integers(0, 10**6)}),
    "ping": st.fixed_dictionaries({"nonce": short_text.filter(bool) | st.integers(0, 10**6)}),
    "handover": st.fixed_dictionaries({"to_user_id": st.integers(1, 10**6)}),
}

#: What the screencast viewer reads (``browser/consumers.py``): free-form ``data`` per type.
VIEWER_DATA: dict[str, st.SearchStrategy[dict]] = {
    "ack": st.fixed_dictionaries({"frame": st.integers(-5, 10**6) | wrong_values}),
    "input": st.fixed_dictionaries(
        {
            "kind": st.sampled_from(["click", "dblclick", "move", "scroll", "key", "type", "wheel", "x"]),
            "x": st.integers(-10, 5000) | wrong_values,
            "y": st.integers(-10, 5000) | wrong_values,
        },
        optional={
            "text": short_text,
            "key": short_text,
            "dx": st.integers(-5000, 5000),
            "dy": st.integers(-5000, 5000),
        },
    ),
    "control": st.fixed_dictionaries(
        {"action": st.sampled_from(["ask", "give", "take", "steal"]) | wrong_values}
    ),
    "decision": st.fixed_dictionaries(
        {
            "request_id": request_ids | wrong_values,
            "approved": st.booleans() | wrong_values,
        }
    ),
    "ping": st.fixed_dictionaries({"nonce": short_text | wrong_values}),
    "hello": st.fixed_dictionaries({"grant": short_text}),
}

# --- envelopes and their breakage -----------------------------------------------------------------


def _envelope(msg_type: str, data: Any, seq: Any = 0) -> dict:
    return {"type": msg_type, "seq": seq, "ts": TS, "data": data}


def _text(message: Any) -> Frame:
    return ("text", json.dumps(message))


def _deep(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": [value]}
    return value


@st.composite
def _broken(draw: st.DrawFn, msg_type: str, data: dict) -> dict:
    """One valid-shaped message, broken in one way."""
    message = _envelope(msg_type, dict(data), draw(VALID_SEQ))
    how = draw(st.sampled_from(["drop", "extra", "wrong", "huge", "deep", "envelope", "seq", "data"]))
    keys = sorted(data)
    if how == "drop" and keys:
        del message["data"][draw(st.sampled_from(keys))]
    elif how == "wrong" and keys:
        message["data"][draw(st.sampled_from(keys))] = draw(wrong_values)
    elif how == "huge" and keys:
        message["data"][draw(st.sampled_from(keys))] = draw(huge_strings)
    elif how == "deep":
        message["data"][draw(st.sampled_from(keys or ["x"]))] = _deep(draw(st.integers(50, 400)))
    elif how == "envelope":
        del message[draw(st.sampled_from(["type", "seq", "ts", "data"]))]
    elif how == "seq":
        message["seq"] = draw(BAD_SEQ)
    elif how == "data":
        message["data"] = draw(wrong_values)
    else:
        message["data"].update(draw(st.dictionaries(short_text, json_values, min_size=1, max_size=3)))
        message[draw(short_text)] = draw(json_values)
    return message


def _valid(schemas: dict[str, st.SearchStrategy[dict]]) -> st.SearchStrategy[Frame]:
    return st.one_of(
        *[st.builds(_envelope, st.just(name), data, VALID_SEQ) for name, data in schemas.items()]
    ).map(_text)


def _broken_of(schemas: dict[str, st.SearchStrategy[dict]]) -> st.SearchStrategy[Frame]:
    return st.one_of(*[data.flatmap(lambda d, n=name: _broken(n, d)) for name, data in schemas.items()]).map(
        _text
    )


def _raw_frames(limit: int) -> st.SearchStrategy[Frame]:
    """Frames that are not JSON envelopes at all, or are too large to be read."""
    return st.one_of(
        st.binary(max_size=64).map(lambda b: ("bytes", b)),
        st.sampled_from([b"\xff\xfe\xfd", b'{"type": "rrweb", "data": "\xc3\x28"}', b"\x80"]).map(
            lambda b: ("bytes", b)
        ),
        st.sampled_from(
            [
                "",
                "{",
                "null",
                "[]",
                "1",
                '"x"',
                '{"type": "signal", "seq": NaN, "ts": 1, "data": {"kind": "stall"}}',
                '{"type": "page", "seq": 1, "ts": Infinity, "data": {}}',
                '{"type": "signal", "seq": 1, "ts": 1, "data": {"kind": "stall", "detail": {"a": -Infinity}}}',
                '{"type": "signal", "seq": 1e400, "ts": 1, "data": {"kind": "stall"}}',
                '{"type": "\\ud800", "seq": 1, "ts": 1, "data": {}}',
            ]
        ).map(lambda s: ("text", s)),
        st.sampled_from([limit + 1, limit * 2]).map(
            lambda n: ("text", '{"type": "rrweb", "x": "' + "a" * n + '"}')
        ),
        st.integers(1, 5).map(lambda n: ("text", "[" * (n * 2000) + "]" * (n * 2000))),
    )


@st.composite
def _parts(draw: st.DrawFn) -> Frame:
    """``part`` frames with bad indexes, counts and ids, or whose whole is not a message."""
    message_id = draw(st.sampled_from(["a", "b", "", "x" * 40]) | wrong_values)
    count = draw(st.sampled_from([0, 1, 2, protocol.MAX_PARTS, protocol.MAX_PARTS + 1, -1]) | wrong_values)
    index = draw(st.sampled_from([0, 1, 5, -1, protocol.MAX_PARTS]) | wrong_values)
    body = draw(
        st.sampled_from(
            [
                "",
                "{",
                json.dumps(_envelope("hello", {"grant": "x"})),
                json.dumps(_envelope("part", {"id": "a", "index": 0, "count": 1, "body": "{}"})),
                json.dumps(_envelope("signal", {"kind": "stall"}, 5)),
                json.dumps(
                    _envelope(
                        "rrweb",
                        {"events": [{"type": 2, "timestamp": 1, "data": {"node": 5}}], "page_id": "p"},
                        3,
                    )
                ),
            ]
        )
    )
    return _text(
        _envelope("part", {"id": message_id, "index": index, "count": count, "body": body}, draw(VALID_SEQ))
    )


def customer_frames() -> st.SearchStrategy[Frame]:
    """What a customer's page could send, with the agents' types as the wrong role's."""
    own = _valid(CUSTOMER_DATA)
    return st.one_of(
        own,
        own,
        own,
        _broken_of(CUSTOMER_DATA),
        _broken_of(CUSTOMER_DATA),
        _valid(AGENT_DATA),
        _raw_frames(socket_limits.CUSTOMER_FRAME_MAX),
        _parts(),
    )


def agent_frames() -> st.SearchStrategy[Frame]:
    """What a staff console (or a team member's watch page) could send."""
    own = _valid(AGENT_DATA)
    return st.one_of(
        own,
        own,
        own,
        _broken_of(AGENT_DATA),
        _broken_of(AGENT_DATA),
        _valid(CUSTOMER_DATA),
        _raw_frames(protocol.DEFAULT_LIMITS.agent),
        _parts(),
    )


def viewer_frames() -> st.SearchStrategy[Frame]:
    """What the screencast viewer page could send (the DOM relay's types as the wrong ones)."""
    own = _valid(VIEWER_DATA)
    return st.one_of(own, own, _broken_of(VIEWER_DATA), _valid(AGENT_DATA), _raw_frames(16 * 1024))


def any_frames() -> st.SearchStrategy[Frame]:
    """For a socket that reads nothing (the Approvals badge): anything at all."""
    return st.one_of(customer_frames(), viewer_frames())
