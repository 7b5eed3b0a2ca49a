"""What a proposal may be, and the check every proposal from outside the rules must pass.

A proposal is a dict with a ``kind``:

* ``prompt``: ``text`` shown to the customer (optional ``field`` and ``trigger``);
* ``highlight``: the ``field`` to point at;
* ``autofill``: ``field``, ``value``, ``source`` (``crm_data.<key>``: where the value comes from);
* ``scroll``: the ``field`` to bring into view;
* ``speech``: ``text`` for the voice channel;
* ``browse``: a ``url`` to open in a server-side browser.

A language model's reply is untrusted: :func:`validate` keeps only known kinds with their known
keys, fields that exist on the page, autofills of unmasked fields with a value that is on file
(never one the model made up), and browse URLs the egress guard accepts (http and https only).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cobrowse.assist.providers.matching import never_fill
from cobrowse.browser.urlguard import UrlRefused, check_url

KINDS = frozenset({"prompt", "highlight", "autofill", "scroll", "speech", "browse"})
TRIGGERS = frozenset({"stall", "validation_error", "rage_click", "scroll_thrash", "idle", "exit_intent"})
MAX_TEXT = 500
MAX_VALUE = 1000
MAX_PROPOSALS = 10

# Required and optional keys per kind; anything else is dropped.
_KEYS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "prompt": (frozenset({"text"}), frozenset({"field", "trigger"})),
    "highlight": (frozenset({"field"}), frozenset()),
    "autofill": (frozenset({"field", "value", "source"}), frozenset()),
    "scroll": (frozenset({"field"}), frozenset()),
    "speech": (frozenset({"text"}), frozenset()),
    "browse": (frozenset({"url"}), frozenset()),
}


def _clean_text(value: Any, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())[:limit]
    return text or None


def _fields(context: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    form = context.get("page", {}).get("form_state", {})
    return {f["id"]: f for f in form.get("fields", ()) if isinstance(f, Mapping) and f.get("id")}


def _browse_url(value: Any) -> str | None:
    if not isinstance(value, str) or not value.lower().startswith(("http://", "https://")):
        return None
    try:
        return check_url(value)
    except UrlRefused:
        return None


def validate_one(raw: Any, context: Mapping[str, Any]) -> dict[str, Any] | None:
    """The proposal with only its known keys, or None when it is not one we may show or apply."""
    if not isinstance(raw, Mapping) or raw.get("kind") not in KINDS:
        return None
    kind = str(raw["kind"])
    required, optional = _KEYS[kind]
    if any(raw.get(key) in (None, "") for key in required):
        return None
    fields = _fields(context)
    out: dict[str, Any] = {"kind": kind}
    field_id = raw.get("field")
    if "field" in required or ("field" in optional and field_id is not None):
        if not isinstance(field_id, str) or field_id not in fields:
            return None
        out["field"] = field_id
    if "text" in required:
        text = _clean_text(raw.get("text"), MAX_TEXT)
        if text is None:
            return None
        out["text"] = text
    if kind == "prompt" and raw.get("trigger") is not None:
        if raw.get("trigger") not in TRIGGERS:
            return None
        out["trigger"] = raw["trigger"]
    if kind == "autofill":
        filled = _autofill(raw, fields[out["field"]], context)
        if filled is None:
            return None
        out.update(filled)
    if kind == "browse":
        url = _browse_url(raw.get("url"))
        if url is None:
            return None
        out["url"] = url
    return out


def _autofill(
    raw: Mapping[str, Any], field: Mapping[str, Any], context: Mapping[str, Any]
) -> dict[str, str] | None:
    """An autofill's value must be on file; its source names the key it came from."""
    value = raw.get("value")
    if never_fill(field) or not isinstance(value, str) or len(value) > MAX_VALUE:
        return None
    crm = context.get("user", {}).get("crm_data") or {}
    source = raw.get("source")
    named = source.removeprefix("crm_data.") if isinstance(source, str) else ""
    if crm.get(named) == value:
        return {"value": value, "source": f"crm_data.{named}"}
    for key, on_file in crm.items():
        if on_file == value:
            return {"value": value, "source": f"crm_data.{key}"}
    return None


def validate(raws: Iterable[Any], context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The valid proposals of ``raws``, in order, without duplicates, at most :data:`MAX_PROPOSALS`."""
    out: list[dict[str, Any]] = []
    seen: set[tuple[tuple[str, Any], ...]] = set()
    for raw in raws:
        proposal = validate_one(raw, context)
        if proposal is None:
            continue
        key = tuple(sorted(proposal.items()))
        if key in seen:
            continue
        seen.add(key)
        out.append(proposal)
        if len(out) >= MAX_PROPOSALS:
            break
    return out
