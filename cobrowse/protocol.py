"""The co-browse wire protocol: validation of incoming messages and builders for outgoing ones.

Every socket carries one JSON envelope ``{"type": str, "seq": int, "ts": int_ms, "data": {...}}``
(DESIGN.md, "Wire protocol"). :func:`parse_message` checks a frame from a ``customer`` or ``agent``
socket against the schema of its type and returns a :class:`Message`, or raises :class:`ProtocolError`
whose ``code``, ``message`` and ``field`` go straight into the ``error`` reply.

Decisions:

* **Unknown keys are tolerated and dropped**, at the top level and inside ``data`` (and inside
  page-context fields). An older server keeps working with a newer widget, and nothing that was not
  validated is ever relayed. rrweb events are the exception: their inner shape belongs to rrweb and is
  passed on whole to :mod:`cobrowse.masking`.
* Lengths are counted in code points. A JavaScript ``.length`` counts UTF-16 units (never fewer), so a
  string the widget accepts is always accepted here.
* ``seq`` and ``ts`` must be JSON integers (``1.0`` and ``true`` are refused).
* Frame size is checked on the raw bytes before decoding (the largest limit of the role), then
  against the limit of the message's type. The agent limit is 32 KB, not 16 KB: a 5,000-character note
  of four-byte characters is 20 KB on the wire.

Pure functions; no Django, no database.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

CUSTOMER = "customer"
AGENT = "agent"
ROLES = (CUSTOMER, AGENT)

SIGNAL_KINDS = frozenset({"stall", "rage_click", "scroll_thrash", "idle", "exit_intent", "validation_error"})
ANNOTATE_KINDS = frozenset(
    {"pointer", "highlight", "circle", "arrow", "text", "spotlight", "scroll_to", "clear"}
)
ANNOTATE_NEEDS_NODE = frozenset({"highlight", "circle", "arrow", "spotlight", "scroll_to"})
ACTION_KINDS = frozenset({"click", "type", "select", "autofill"})
ACTION_NEEDS_VALUE = frozenset({"type", "select", "autofill"})
MODES = ("view_only", "guided", "controlled", "full")
FIELD_STATUSES = frozenset({"complete", "active", "pending", "error"})

SERVER_TO_CUSTOMER = frozenset(
    {
        "welcome",
        "ack",
        "snapshot_request",
        "annotate",
        "action_request",
        "action",
        "mode_request",
        "mode",
        "ping",
        "quality",
        "error",
        "ended",
        "control",
        "participants",
    }
)
SERVER_TO_AGENT = frozenset(
    {
        "welcome",
        "rrweb",
        "page",
        "signal",
        "presence",
        "quality",
        "decision",
        "mode",
        "mode_request",
        "assist",
        "error",
        "ended",
        "ack",
        "action_result",
        "control",
        "part",
        "participants",
    }
)

MAX_EVENTS = 500
MAX_FIELDS = 300
MAX_PAGE_ID = 64
MAX_URL = 4096
MAX_TITLE = 1000
MAX_TEXT_LABEL = 200
MAX_ACTION_VALUE = 1000
MAX_NOTE = 5000
MAX_SAFE_INT = 2**53 - 1  # what a JavaScript number holds exactly


#: Large messages (a full snapshot of a big page) travel as ``part`` frames: the text of the whole
#: envelope cut into bodies of at most PART_BODY_MAX characters, reassembled by the receiver.
PART_BODY_MAX = 128 * 1024  # characters: ≤ 512 KB of UTF-8, well under the channel layer's 1 MB
PART_FRAME_MAX = 4 * PART_BODY_MAX + 1024
MAX_PARTS = 64
MAX_ASSEMBLED = 8 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Frame size limits in bytes, per role and per message type."""

    customer: int = 512 * 1024
    agent: int = 32 * 1024
    customer_types: Mapping[str, int] = field(
        default_factory=lambda: {
            "rrweb": 512 * 1024,
            "page": 192 * 1024,
            "hello": 16 * 1024,
            "part": PART_FRAME_MAX,
        }
    )
    customer_default: int = 16 * 1024

    def for_role(self, role: str) -> int:
        return self.customer if role == CUSTOMER else self.agent

    def for_type(self, role: str, msg_type: str) -> int:
        if role == AGENT:
            return self.agent
        return min(self.customer, self.customer_types.get(msg_type, self.customer_default))


DEFAULT_LIMITS = Limits()
#: For a message reassembled from parts: big rrweb batches and page contexts, nothing else grows.
ASSEMBLED_LIMITS = Limits(
    customer=MAX_ASSEMBLED,
    customer_types={"rrweb": MAX_ASSEMBLED, "page": MAX_ASSEMBLED},
)


class ProtocolError(ValueError):
    """An invalid message. ``code`` is stable for clients; ``field`` is a dotted path or ``None``."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def as_data(self) -> dict[str, Any]:
        """The ``data`` of the ``error`` reply."""
        data: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            data["field"] = self.field
        return data


@dataclass(frozen=True, slots=True)
class Message:
    type: str
    seq: int
    ts: int
    data: dict[str, Any]


# --- field checks -----------------------------------------------------------------------------

_MISSING = object()
_CONTROL = re.compile(r"[\x00-\x1f\x7f\s]")


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def _get(data: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> Any:
    value = data.get(key, _MISSING)
    if value is _MISSING and required:
        raise ProtocolError("missing_field", f"{path} is required", path)
    return value


def _wrong(path: str, expected: str, value: Any) -> ProtocolError:
    return ProtocolError("wrong_type", f"{path} must be {expected}, not {_type_name(value)}", path)


def _int(value: Any, path: str, *, minimum: int | None = None, maximum: int = MAX_SAFE_INT) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _wrong(path, "an integer", value)
    if minimum is not None and value < minimum:
        raise ProtocolError("bad_value", f"{path} must be at least {minimum}", path)
    if value > maximum:
        raise ProtocolError("bad_value", f"{path} must be at most {maximum}", path)
    return value


def _number(value: Any, path: str, *, minimum: float | None = None, maximum: float | None = None) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise _wrong(path, "a number", value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ProtocolError("bad_value", f"{path} must be between {minimum} and {maximum}", path)
    return value


def _str(value: Any, path: str, *, max_len: int, min_len: int = 0) -> str:
    if not isinstance(value, str):
        raise _wrong(path, "a string", value)
    if len(value) > max_len:
        raise ProtocolError("too_long", f"{path} must be at most {max_len} characters", path)
    if len(value) < min_len:
        raise ProtocolError("bad_value", f"{path} must not be empty", path)
    return value


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise _wrong(path, "a boolean", value)
    return value


def _choice(value: Any, path: str, choices: frozenset[str] | tuple[str, ...]) -> str:
    if not isinstance(value, str):
        raise _wrong(path, "a string", value)
    if value not in choices:
        raise ProtocolError("bad_value", f"{path} must be one of {', '.join(sorted(choices))}", path)
    return value


def _page_id(value: Any, path: str) -> str:
    text = _str(value, path, max_len=MAX_PAGE_ID, min_len=1)
    if _CONTROL.search(text):
        raise ProtocolError("bad_value", f"{path} must not contain spaces or control characters", path)
    return text


def _url(value: Any, path: str) -> str:
    text = _str(value, path, max_len=MAX_URL, min_len=1)
    if not text.lower().startswith(("http://", "https://")):
        raise ProtocolError("bad_value", f"{path} must be an http or https URL", path)
    return text


def _token(value: Any, path: str) -> str | int:
    """A request id or nonce: a short string or an integer, as the server issued it."""
    if isinstance(value, int) and not isinstance(value, bool):
        return _int(value, path, minimum=0)
    if isinstance(value, str):
        return _str(value, path, max_len=MAX_PAGE_ID, min_len=1)
    raise _wrong(path, "a string or an integer", value)


def _dict(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _wrong(path, "an object", value)
    return value


# --- customer schemas -------------------------------------------------------------------------


def _hello(d: dict) -> dict:
    return {
        "grant": _str(_get(d, "grant", "data.grant"), "data.grant", max_len=2048, min_len=1),
        "page_id": _page_id(_get(d, "page_id", "data.page_id"), "data.page_id"),
        "last_acked_seq": _int(
            _get(d, "last_acked_seq", "data.last_acked_seq"), "data.last_acked_seq", minimum=-1
        ),
        "url": _url(_get(d, "url", "data.url"), "data.url"),
        "title": _str(_get(d, "title", "data.title"), "data.title", max_len=MAX_TITLE),
    }


def _rrweb(d: dict) -> dict:
    events = _get(d, "events", "data.events")
    if not isinstance(events, list):
        raise _wrong("data.events", "an array", events)
    if len(events) > MAX_EVENTS:
        raise ProtocolError("too_long", f"data.events must hold at most {MAX_EVENTS} events", "data.events")
    for i, event in enumerate(events):
        path = f"data.events[{i}]"
        _dict(event, path)
        _int(_get(event, "type", f"{path}.type"), f"{path}.type", minimum=0, maximum=6)
        _int(_get(event, "timestamp", f"{path}.timestamp"), f"{path}.timestamp", minimum=0)
        _dict(_get(event, "data", f"{path}.data"), f"{path}.data")
    return {"events": events, "page_id": _page_id(_get(d, "page_id", "data.page_id"), "data.page_id")}


def _page_field(item: Any, path: str) -> dict:
    _dict(item, path)
    out = {
        "id": _str(_get(item, "id", f"{path}.id"), f"{path}.id", max_len=256),
        "name": _str(_get(item, "name", f"{path}.name"), f"{path}.name", max_len=256),
        "label": _str(_get(item, "label", f"{path}.label"), f"{path}.label", max_len=1000),
        "type": _str(_get(item, "type", f"{path}.type"), f"{path}.type", max_len=64),
        "status": _choice(_get(item, "status", f"{path}.status"), f"{path}.status", FIELD_STATUSES),
        "error": _str(_get(item, "error", f"{path}.error"), f"{path}.error", max_len=1000),
        "masked": _bool(_get(item, "masked", f"{path}.masked"), f"{path}.masked"),
    }
    value = item.get("value", _MISSING)
    if out["masked"]:
        if value is not _MISSING:
            raise ProtocolError(
                "bad_value", f"{path}.value must be omitted when the field is masked", f"{path}.value"
            )
    elif value is not _MISSING:
        out["value"] = _str(value, f"{path}.value", max_len=10_000)
    return out


def _page(d: dict) -> dict:
    fields = _get(d, "fields", "data.fields")
    if not isinstance(fields, list):
        raise _wrong("data.fields", "an array", fields)
    if len(fields) > MAX_FIELDS:
        raise ProtocolError("too_long", f"data.fields must hold at most {MAX_FIELDS} fields", "data.fields")
    focused = _get(d, "focused", "data.focused")
    if focused is not None:
        _str(focused, "data.focused", max_len=256)
    return {
        "page_id": _page_id(_get(d, "page_id", "data.page_id"), "data.page_id"),
        "url": _url(_get(d, "url", "data.url"), "data.url"),
        "title": _str(_get(d, "title", "data.title"), "data.title", max_len=MAX_TITLE),
        "fields": [_page_field(item, f"data.fields[{i}]") for i, item in enumerate(fields)],
        "completion": _number(
            _get(d, "completion", "data.completion"), "data.completion", minimum=0, maximum=100
        ),
        "focused": focused,
        "stalled_ms": _int(_get(d, "stalled_ms", "data.stalled_ms"), "data.stalled_ms", minimum=0),
        "rage_clicks": _int(_get(d, "rage_clicks", "data.rage_clicks"), "data.rage_clicks", minimum=0),
        "scroll_depth": _number(
            _get(d, "scroll_depth", "data.scroll_depth"), "data.scroll_depth", minimum=0, maximum=100
        ),
    }


def _signal(d: dict) -> dict:
    out: dict[str, Any] = {"kind": _choice(_get(d, "kind", "data.kind"), "data.kind", SIGNAL_KINDS)}
    field_id = d.get("field")
    if field_id is not None:
        out["field"] = _str(field_id, "data.field", max_len=256)
    detail = d.get("detail")
    if detail is not None:
        if isinstance(detail, str):
            out["detail"] = _str(detail, "data.detail", max_len=1000)
        elif isinstance(detail, dict):
            if len(orjson.dumps(detail)) > 2048:
                raise ProtocolError(
                    "too_long", "data.detail must be at most 2048 bytes of JSON", "data.detail"
                )
            out["detail"] = detail
        else:
            raise _wrong("data.detail", "a string or an object", detail)
    return out


def _decision(d: dict) -> dict:
    return {
        "request_id": _token(_get(d, "request_id", "data.request_id"), "data.request_id"),
        "approved": _bool(_get(d, "approved", "data.approved"), "data.approved"),
    }


def _nonce(d: dict) -> dict:
    return {"nonce": _token(_get(d, "nonce", "data.nonce"), "data.nonce")}


def _stop(d: dict) -> dict:
    return {"reason": _str(_get(d, "reason", "data.reason"), "data.reason", max_len=200)}


def _action_result(d: dict) -> dict:
    return {
        "request_id": _str(_get(d, "request_id", "data.request_id"), "data.request_id", max_len=64),
        "ok": _bool(_get(d, "ok", "data.ok"), "data.ok"),
        "detail": _str(d.get("detail", ""), "data.detail", max_len=200),
    }


def _part(d: dict) -> dict:
    count = _int(_get(d, "count", "data.count"), "data.count", minimum=1, maximum=MAX_PARTS)
    return {
        "id": _str(_get(d, "id", "data.id"), "data.id", max_len=32, min_len=1),
        "index": _int(_get(d, "index", "data.index"), "data.index", minimum=0, maximum=count - 1),
        "count": count,
        "body": _str(_get(d, "body", "data.body"), "data.body", max_len=PART_BODY_MAX),
    }


# --- agent schemas ----------------------------------------------------------------------------


def _node_id(d: dict, *, required: bool) -> int | None:
    value = _get(d, "node_id", "data.node_id", required=required)
    if value is _MISSING or (value is None and not required):
        return None
    return _int(value, "data.node_id", minimum=0)


def _annotate(d: dict) -> dict:
    kind = _choice(_get(d, "kind", "data.kind"), "data.kind", ANNOTATE_KINDS)
    out: dict[str, Any] = {"kind": kind}
    if kind == "clear":
        if d.get("page_id") is not None:
            out["page_id"] = _page_id(d["page_id"], "data.page_id")
        return out
    out["page_id"] = _page_id(_get(d, "page_id", "data.page_id"), "data.page_id")
    node_id = _node_id(d, required=kind in ANNOTATE_NEEDS_NODE)
    if node_id is not None:
        out["node_id"] = node_id
    if kind == "pointer" or d.get("x") is not None or d.get("y") is not None:
        out["x"] = _number(_get(d, "x", "data.x"), "data.x", minimum=0)
        out["y"] = _number(_get(d, "y", "data.y"), "data.y", minimum=0)
    if kind == "text":
        out["text"] = _str(_get(d, "text", "data.text"), "data.text", max_len=MAX_TEXT_LABEL, min_len=1)
    return out


def _action(d: dict) -> dict:
    kind = _choice(_get(d, "kind", "data.kind"), "data.kind", ACTION_KINDS)
    out: dict[str, Any] = {
        "kind": kind,
        "node_id": _node_id(d, required=True),
        "page_id": _page_id(_get(d, "page_id", "data.page_id"), "data.page_id"),
    }
    if kind in ACTION_NEEDS_VALUE:
        out["value"] = _str(_get(d, "value", "data.value"), "data.value", max_len=MAX_ACTION_VALUE)
    return out


def _mode_request(d: dict) -> dict:
    return {"mode": _choice(_get(d, "mode", "data.mode"), "data.mode", MODES)}


def _note(d: dict) -> dict:
    return {"text": _str(_get(d, "text", "data.text"), "data.text", max_len=MAX_NOTE, min_len=1)}


def _handover(d: dict) -> dict:
    return {"to_user_id": _int(_get(d, "to_user_id", "data.to_user_id"), "data.to_user_id", minimum=1)}


def _resync(d: dict) -> dict:
    return {"from_seq": _int(_get(d, "from_seq", "data.from_seq"), "data.from_seq", minimum=0)}


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
        raise ProtocolError("bad_envelope", f"frame must be a JSON object, not {_type_name(decoded)}")
    msg_type = _get(decoded, "type", "type")
    if not isinstance(msg_type, str):
        raise _wrong("type", "a string", msg_type)
    schema = SCHEMAS[role].get(msg_type)
    if schema is None:
        accepted = ", ".join(sorted(SCHEMAS[role]))
        raise ProtocolError(
            "unknown_type", f"type {msg_type[:40]!r} is not accepted from {role} ({accepted})", "type"
        )
    if size is not None and size > (type_limit := limits.for_type(role, msg_type)):
        raise ProtocolError("too_large", f"{msg_type} frame exceeds {type_limit} bytes")
    seq = _int(_get(decoded, "seq", "seq"), "seq", minimum=0)
    ts = _int(_get(decoded, "ts", "ts"), "ts", minimum=0)
    data = _dict(_get(decoded, "data", "data"), "data")
    return Message(msg_type, seq, ts, schema(data))


# --- large messages in parts -----------------------------------------------------------------


class PartAssembler:
    """Reassembles one large message at a time from ``part`` frames (in order, one id at a time).

    A new id abandons an unfinished one (the sender restarted); anything inconsistent is a
    ProtocolError and the partial message is dropped.
    """

    def __init__(self, max_total: int = MAX_ASSEMBLED) -> None:
        self.max_total = max_total
        self._id: str | None = None
        self._bodies: list[str] = []
        self._size = 0

    def add(self, part: Mapping[str, Any]) -> str | None:
        """Add one validated part; returns the whole text once the last part arrived."""
        if part["index"] == 0:
            self._id, self._bodies, self._size = part["id"], [], 0
        elif part["id"] != self._id or part["index"] != len(self._bodies):
            self._id, self._bodies, self._size = None, [], 0
            raise ProtocolError(
                "bad_part", "a part arrived out of order; the message was dropped", "data.index"
            )
        self._bodies.append(part["body"])
        self._size += len(part["body"])
        if self._size > self.max_total:
            self._id, self._bodies, self._size = None, [], 0
            raise ProtocolError("too_large", f"message exceeds {self.max_total} characters", "data")
        if len(self._bodies) < part["count"]:
            return None
        text = "".join(self._bodies)
        self._id, self._bodies, self._size = None, [], 0
        return text


def split_parts(text: str, message_id: str, seq: int, *, body_max: int = PART_BODY_MAX) -> list[dict]:
    """Cut an encoded envelope into ``part`` envelopes (each body at most ``body_max`` characters)."""
    bodies = [text[i : i + body_max] for i in range(0, len(text), body_max)] or [""]
    if len(bodies) > MAX_PARTS:
        raise ValueError(f"message needs {len(bodies)} parts, more than {MAX_PARTS}")
    ts = now_ms()
    return [
        {
            "type": "part",
            "seq": seq,
            "ts": ts,
            "data": {"id": message_id, "index": i, "count": len(bodies), "body": body},
        }
        for i, body in enumerate(bodies)
    ]


# --- sequence numbers -------------------------------------------------------------------------


class SeqTracker:
    """Per-sender ``seq`` bookkeeping: ``"ok"``, ``"duplicate"`` (drop it) or ``"gap"`` (resync)."""

    def __init__(self, last: int = -1) -> None:
        self.last = last

    def check(self, seq: int) -> str:
        if seq <= self.last:
            return "duplicate"
        verdict = "ok" if seq == self.last + 1 else "gap"
        self.last = seq
        return verdict


# --- outgoing ---------------------------------------------------------------------------------

RECIPIENT_TYPES = {CUSTOMER: SERVER_TO_CUSTOMER, AGENT: SERVER_TO_AGENT}


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def envelope(
    msg_type: str, data: Mapping[str, Any], seq: int, *, ts: int | None = None, to: str | None = None
) -> dict:
    """An outgoing envelope. With ``to``, refuse a type that role is never sent (a server bug)."""
    if to is not None and msg_type not in RECIPIENT_TYPES[to]:
        raise ValueError(f"type {msg_type!r} is never sent to {to}")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ValueError("seq must be a non-negative integer")
    return {"type": msg_type, "seq": seq, "ts": now_ms() if ts is None else ts, "data": dict(data)}


def encode(message: Mapping[str, Any]) -> str:
    """Serialize an envelope for ``send(text_data=...)``."""
    return orjson.dumps(message).decode()


def error_envelope(error: ProtocolError, seq: int) -> dict:
    return envelope("error", error.as_data(), seq)


def ack(acked_seq: int, seq: int) -> dict:
    return envelope("ack", {"seq": acked_seq}, seq)


def ping(nonce: str | int, seq: int) -> dict:
    return envelope("ping", {"nonce": nonce}, seq)


def ended(reason: str, seq: int) -> dict:
    return envelope("ended", {"reason": reason}, seq)
