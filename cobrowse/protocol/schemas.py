"""Validation of incoming messages: the schema of every type a customer or agent socket may send.

:func:`parse_message` checks a frame from a ``customer`` or ``agent`` socket against the schema of
its type and returns a :class:`~cobrowse.protocol.messages.Message`, or raises
:class:`~cobrowse.protocol.messages.ProtocolError` whose ``code``, ``message`` and ``field`` go
straight into the ``error`` reply. Unknown keys are tolerated and dropped, at the top level and
inside ``data`` (and inside page-context fields), so nothing that was not validated is relayed;
rrweb events are the exception, passed on whole to :mod:`cobrowse.masking`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from cobrowse.protocol.fields import (
    MISSING,
    check_bool,
    check_choice,
    check_dict,
    check_int,
    check_number,
    check_page_id,
    check_str,
    check_tab_id,
    check_token,
    check_url,
    get_value,
    type_name,
    wrong_type,
)
from cobrowse.protocol.messages import (
    ACTION_KINDS,
    ACTION_NEEDS_VALUE,
    AGENT,
    ANNOTATE_KINDS,
    ANNOTATE_NEEDS_NODE,
    CUSTOMER,
    DEFAULT_LIMITS,
    FIELD_STATUSES,
    MAX_ACTION_VALUE,
    MAX_EVENTS,
    MAX_FIELDS,
    MAX_NOTE,
    MAX_PARTS,
    MAX_TEXT_LABEL,
    MAX_TITLE,
    MODES,
    PART_BODY_MAX,
    SIGNAL_KINDS,
    Limits,
    Message,
    ProtocolError,
)


def _hello(d: dict) -> dict:
    return {
        "grant": check_str(get_value(d, "grant", "data.grant"), "data.grant", max_len=2048, min_len=1),
        "page_id": check_page_id(get_value(d, "page_id", "data.page_id"), "data.page_id"),
        "last_acked_seq": check_int(
            get_value(d, "last_acked_seq", "data.last_acked_seq"), "data.last_acked_seq", minimum=-1
        ),
        "url": check_url(get_value(d, "url", "data.url"), "data.url"),
        "title": check_str(get_value(d, "title", "data.title"), "data.title", max_len=MAX_TITLE),
        # Which tab of the browser speaks (the widget's tab id): one tab shares at a time. A page
        # without one (a widget from before seats) takes the seat as pages always did.
        "tab_id": check_tab_id(d["tab_id"], "data.tab_id") if d.get("tab_id") is not None else "",
    }


def _rrweb(d: dict) -> dict:
    events = get_value(d, "events", "data.events")
    if not isinstance(events, list):
        raise wrong_type("data.events", "an array", events)
    if len(events) > MAX_EVENTS:
        raise ProtocolError("too_long", f"data.events must hold at most {MAX_EVENTS} events", "data.events")
    for i, event in enumerate(events):
        path = f"data.events[{i}]"
        check_dict(event, path)
        check_int(get_value(event, "type", f"{path}.type"), f"{path}.type", minimum=0, maximum=6)
        check_int(get_value(event, "timestamp", f"{path}.timestamp"), f"{path}.timestamp", minimum=0)
        check_dict(get_value(event, "data", f"{path}.data"), f"{path}.data")
    return {
        "events": events,
        "page_id": check_page_id(get_value(d, "page_id", "data.page_id"), "data.page_id"),
    }


def _page_field(item: Any, path: str) -> dict:
    check_dict(item, path)
    out = {
        "id": check_str(get_value(item, "id", f"{path}.id"), f"{path}.id", max_len=256),
        "name": check_str(get_value(item, "name", f"{path}.name"), f"{path}.name", max_len=256),
        "label": check_str(get_value(item, "label", f"{path}.label"), f"{path}.label", max_len=1000),
        "type": check_str(get_value(item, "type", f"{path}.type"), f"{path}.type", max_len=64),
        "status": check_choice(get_value(item, "status", f"{path}.status"), f"{path}.status", FIELD_STATUSES),
        "error": check_str(get_value(item, "error", f"{path}.error"), f"{path}.error", max_len=1000),
        "masked": check_bool(get_value(item, "masked", f"{path}.masked"), f"{path}.masked"),
    }
    value = item.get("value", MISSING)
    if out["masked"]:
        if value is not MISSING:
            raise ProtocolError(
                "bad_value", f"{path}.value must be omitted when the field is masked", f"{path}.value"
            )
    elif value is not MISSING:
        out["value"] = check_str(value, f"{path}.value", max_len=10_000)
    return out


def _page(d: dict) -> dict:
    fields = get_value(d, "fields", "data.fields")
    if not isinstance(fields, list):
        raise wrong_type("data.fields", "an array", fields)
    if len(fields) > MAX_FIELDS:
        raise ProtocolError("too_long", f"data.fields must hold at most {MAX_FIELDS} fields", "data.fields")
    focused = get_value(d, "focused", "data.focused")
    if focused is not None:
        check_str(focused, "data.focused", max_len=256)
    return {
        "page_id": check_page_id(get_value(d, "page_id", "data.page_id"), "data.page_id"),
        "url": check_url(get_value(d, "url", "data.url"), "data.url"),
        "title": check_str(get_value(d, "title", "data.title"), "data.title", max_len=MAX_TITLE),
        "fields": [_page_field(item, f"data.fields[{i}]") for i, item in enumerate(fields)],
        "completion": check_number(
            get_value(d, "completion", "data.completion"), "data.completion", minimum=0, maximum=100
        ),
        "focused": focused,
        "stalled_ms": check_int(get_value(d, "stalled_ms", "data.stalled_ms"), "data.stalled_ms", minimum=0),
        "rage_clicks": check_int(
            get_value(d, "rage_clicks", "data.rage_clicks"), "data.rage_clicks", minimum=0
        ),
        "scroll_depth": check_number(
            get_value(d, "scroll_depth", "data.scroll_depth"), "data.scroll_depth", minimum=0, maximum=100
        ),
    }


def _signal(d: dict) -> dict:
    out: dict[str, Any] = {"kind": check_choice(get_value(d, "kind", "data.kind"), "data.kind", SIGNAL_KINDS)}
    field_id = d.get("field")
    if field_id is not None:
        out["field"] = check_str(field_id, "data.field", max_len=256)
    detail = d.get("detail")
    if detail is not None:
        if isinstance(detail, str):
            out["detail"] = check_str(detail, "data.detail", max_len=1000)
        elif isinstance(detail, dict):
            if len(orjson.dumps(detail)) > 2048:
                raise ProtocolError(
                    "too_long", "data.detail must be at most 2048 bytes of JSON", "data.detail"
                )
            out["detail"] = detail
        else:
            raise wrong_type("data.detail", "a string or an object", detail)
    return out


def _decision(d: dict) -> dict:
    return {
        "request_id": check_token(get_value(d, "request_id", "data.request_id"), "data.request_id"),
        "approved": check_bool(get_value(d, "approved", "data.approved"), "data.approved"),
    }


def _nonce(d: dict) -> dict:
    return {"nonce": check_token(get_value(d, "nonce", "data.nonce"), "data.nonce")}


def _stop(d: dict) -> dict:
    return {"reason": check_str(get_value(d, "reason", "data.reason"), "data.reason", max_len=200)}


def _take_seat(d: dict) -> dict:
    """A dormant tab's "Share this tab instead?" answered yes: nothing more to say."""
    return {}


def _action_result(d: dict) -> dict:
    return {
        "request_id": check_str(get_value(d, "request_id", "data.request_id"), "data.request_id", max_len=64),
        "ok": check_bool(get_value(d, "ok", "data.ok"), "data.ok"),
        "detail": check_str(d.get("detail", ""), "data.detail", max_len=200),
    }


def _part(d: dict) -> dict:
    count = check_int(get_value(d, "count", "data.count"), "data.count", minimum=1, maximum=MAX_PARTS)
    return {
        "id": check_str(get_value(d, "id", "data.id"), "data.id", max_len=32, min_len=1),
        "index": check_int(get_value(d, "index", "data.index"), "data.index", minimum=0, maximum=count - 1),
        "count": count,
        "body": check_str(get_value(d, "body", "data.body"), "data.body", max_len=PART_BODY_MAX),
    }


# --- agent schemas ----------------------------------------------------------------------------


def _node_id(d: dict, *, required: bool) -> int | None:
    value = get_value(d, "node_id", "data.node_id", required=required)
    if value is MISSING or (value is None and not required):
        return None
    return check_int(value, "data.node_id", minimum=0)


def _annotate(d: dict) -> dict:
    kind = check_choice(get_value(d, "kind", "data.kind"), "data.kind", ANNOTATE_KINDS)
    out: dict[str, Any] = {"kind": kind}
    if kind == "clear":
        if d.get("page_id") is not None:
            out["page_id"] = check_page_id(d["page_id"], "data.page_id")
        return out
    out["page_id"] = check_page_id(get_value(d, "page_id", "data.page_id"), "data.page_id")
    node_id = _node_id(d, required=kind in ANNOTATE_NEEDS_NODE)
    if node_id is not None:
        out["node_id"] = node_id
    if kind == "pointer" or d.get("x") is not None or d.get("y") is not None:
        out["x"] = check_number(get_value(d, "x", "data.x"), "data.x", minimum=0)
        out["y"] = check_number(get_value(d, "y", "data.y"), "data.y", minimum=0)
    if kind == "text":
        out["text"] = check_str(
            get_value(d, "text", "data.text"), "data.text", max_len=MAX_TEXT_LABEL, min_len=1
        )
    return out


def _action(d: dict) -> dict:
    kind = check_choice(get_value(d, "kind", "data.kind"), "data.kind", ACTION_KINDS)
    out: dict[str, Any] = {
        "kind": kind,
        "node_id": _node_id(d, required=True),
        "page_id": check_page_id(get_value(d, "page_id", "data.page_id"), "data.page_id"),
    }
    if kind in ACTION_NEEDS_VALUE:
        out["value"] = check_str(get_value(d, "value", "data.value"), "data.value", max_len=MAX_ACTION_VALUE)
    return out


def _mode_request(d: dict) -> dict:
    return {"mode": check_choice(get_value(d, "mode", "data.mode"), "data.mode", MODES)}


def _note(d: dict) -> dict:
    return {"text": check_str(get_value(d, "text", "data.text"), "data.text", max_len=MAX_NOTE, min_len=1)}


def _handover(d: dict) -> dict:
    return {
        "to_user_id": check_int(get_value(d, "to_user_id", "data.to_user_id"), "data.to_user_id", minimum=1)
    }


def _resync(d: dict) -> dict:
    return {"from_seq": check_int(get_value(d, "from_seq", "data.from_seq"), "data.from_seq", minimum=0)}


SCHEMAS: dict[str, dict[str, Callable[[dict], dict]]] = {
    CUSTOMER: {
        "hello": _hello,
        "rrweb": _rrweb,
        "page": _page,
        "signal": _signal,
        "decision": _decision,
        "pong": _nonce,
        "stop": _stop,
        "action_result": _action_result,
        "part": _part,
        "take_seat": _take_seat,
    },
    AGENT: {
        "annotate": _annotate,
        "action": _action,
        "mode_request": _mode_request,
        "note": _note,
        "resync": _resync,
        "ping": _nonce,
        "handover": _handover,
    },
}


# --- parsing ----------------------------------------------------------------------------------


def _byte_size(raw: str | bytes) -> int:
    return len(raw) if isinstance(raw, bytes | bytearray) else len(raw.encode("utf-8", "surrogatepass"))


def parse_message(raw: str | bytes | dict, role: str, *, limits: Limits = DEFAULT_LIMITS) -> Message:
    """Validate one incoming frame (text, bytes or already-decoded dict) from ``role``."""
    if role not in SCHEMAS:
        raise ValueError(f"unknown role {role!r}")
    size = None
    if isinstance(raw, str | bytes | bytearray):
        role_limit = limits.for_role(role)
        # Cheap bound first: a UTF-8 string is never shorter in bytes than in characters.
        if len(raw) > role_limit or (size := _byte_size(raw)) > role_limit:
            raise ProtocolError("too_large", f"frame exceeds {role_limit} bytes")
        try:
            decoded = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ProtocolError("bad_json", f"frame is not valid JSON: {exc}") from None
    else:
        decoded = raw
    if not isinstance(decoded, dict):
        raise ProtocolError("bad_envelope", f"frame must be a JSON object, not {type_name(decoded)}")
    msg_type = get_value(decoded, "type", "type")
    if not isinstance(msg_type, str):
        raise wrong_type("type", "a string", msg_type)
    schema = SCHEMAS[role].get(msg_type)
    if schema is None:
        accepted = ", ".join(sorted(SCHEMAS[role]))
        raise ProtocolError(
            "unknown_type", f"type {msg_type[:40]!r} is not accepted from {role} ({accepted})", "type"
        )
    if size is not None and size > (type_limit := limits.for_type(role, msg_type)):
        raise ProtocolError("too_large", f"{msg_type} frame exceeds {type_limit} bytes")
    seq = check_int(get_value(decoded, "seq", "seq"), "seq", minimum=0)
    ts = check_int(get_value(decoded, "ts", "ts"), "ts", minimum=0)
    data = check_dict(get_value(decoded, "data", "data"), "data")
    return Message(msg_type, seq, ts, schema(data))
