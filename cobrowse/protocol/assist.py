"""The ``assist`` message: the assistant's proposals, server → agent and managers only.

``assist {proposals: [...], context_summary: {url, field, trigger, completion_pct, stall_ms}}``.
The server builds it from a provider's output, which may come from a language model: every
proposal is checked here once more before it is put on the wire, so a provider bug can never send
an unknown kind, a stray key or an oversized value to the console. Pure: no Django.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cobrowse.protocol.fields import check_choice, check_dict, check_number, check_str, get_value
from cobrowse.protocol.messages import MAX_URL, ProtocolError

ASSIST_KINDS = frozenset({"prompt", "highlight", "autofill", "scroll", "speech", "browse"})
ASSIST_TRIGGERS = frozenset(
    {"stall", "validation_error", "rage_click", "scroll_thrash", "idle", "exit_intent"}
)
MAX_ASSIST_PROPOSALS = 10
MAX_ASSIST_TEXT = 500
MAX_ASSIST_VALUE = 1000
MAX_FIELD_ID = 256

# Required and optional keys per kind (docs/assistant.md, "Providers"); anything else is dropped.
_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "prompt": (("text",), ("field", "trigger")),
    "highlight": (("field",), ()),
    "autofill": (("field", "value", "source"), ()),
    "scroll": (("field",), ()),
    "speech": (("text",), ()),
    "browse": (("url",), ()),
}
_LIMITS = {
    "text": MAX_ASSIST_TEXT,
    "field": MAX_FIELD_ID,
    "value": MAX_ASSIST_VALUE,
    "source": 300,
    "url": MAX_URL,
}


def _proposal(raw: Any, path: str) -> dict[str, Any]:
    item = check_dict(raw, path)
    kind = check_choice(get_value(item, "kind", f"{path}.kind"), f"{path}.kind", ASSIST_KINDS)
    required, optional = _KEYS[kind]
    out: dict[str, Any] = {"kind": kind}
    for key in required:
        out[key] = check_str(
            get_value(item, key, f"{path}.{key}"), f"{path}.{key}", max_len=_LIMITS[key], min_len=1
        )
    for key in optional:
        value = item.get(key)
        if value is None:
            continue
        if key == "trigger":
            out[key] = check_choice(value, f"{path}.trigger", ASSIST_TRIGGERS)
        else:
            out[key] = check_str(value, f"{path}.{key}", max_len=_LIMITS[key], min_len=1)
    if kind == "autofill" and not out["source"].startswith("crm_data."):
        raise ProtocolError(
            "bad_value", f"{path}.source must name an item on file (crm_data.<key>)", f"{path}.source"
        )
    if kind == "browse" and not out["url"].lower().startswith(("http://", "https://")):
        raise ProtocolError("bad_value", f"{path}.url must be an http(s) URL", f"{path}.url")
    return out


def _summary(raw: Any) -> dict[str, Any]:
    summary = check_dict(raw, "data.context_summary")
    field = summary.get("field")
    trigger = summary.get("trigger")
    return {
        "url": check_str(summary.get("url", ""), "data.context_summary.url", max_len=MAX_URL),
        "field": None
        if field is None
        else check_str(field, "data.context_summary.field", max_len=MAX_FIELD_ID),
        "trigger": None
        if trigger is None
        else check_choice(trigger, "data.context_summary.trigger", ASSIST_TRIGGERS),
        "completion_pct": check_number(
            summary.get("completion_pct", 0), "data.context_summary.completion_pct", minimum=0, maximum=100
        ),
        "stall_ms": int(
            check_number(
                summary.get("stall_ms", 0), "data.context_summary.stall_ms", minimum=0, maximum=2**31
            )
        ),
    }


def assist_data(proposals: Iterable[Any], context_summary: Mapping[str, Any]) -> dict[str, Any]:
    """The validated ``data`` of an ``assist`` message; raises :class:`ProtocolError` on anything
    that does not fit (the caller logs it and sends nothing: a bad proposal is a server bug)."""
    items = list(proposals)
    if not items:
        raise ProtocolError("bad_value", "data.proposals must hold at least one proposal", "data.proposals")
    if len(items) > MAX_ASSIST_PROPOSALS:
        raise ProtocolError(
            "too_long", f"data.proposals must hold at most {MAX_ASSIST_PROPOSALS} proposals", "data.proposals"
        )
    return {
        "proposals": [_proposal(item, f"data.proposals[{i}]") for i, item in enumerate(items)],
        "context_summary": _summary(context_summary),
    }
