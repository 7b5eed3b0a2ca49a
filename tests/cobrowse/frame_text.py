"""What WebSocket frames say in words: every JSON string, parts reassembled, numbers left out.

Searching raw frames for a typed secret is unreliable for digits: a fragment such as "3704" or
"91827" turns up inside millisecond timestamps now and then. Typed text always travels as a JSON
string, so the strings are what a leak check must look at.
"""

from __future__ import annotations

import json
from collections.abc import Iterable


def _strings(value, found: list[str]) -> None:
    if isinstance(value, str):
        found.append(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            found.append(key)
            _strings(item, found)
    elif isinstance(value, list):
        for item in value:
            _strings(item, found)


def frame_strings(frames: Iterable[str]) -> str:
    """All strings of all frames (``part`` frames joined back into their message first)."""
    found: list[str] = []
    bodies: list[str] = []
    for raw in frames:
        try:
            message = json.loads(raw)
        except ValueError:
            found.append(raw)
            continue
        if isinstance(message, dict) and message.get("type") == "part":
            data = message.get("data") or {}
            if data.get("index") == 0:
                bodies = []
            bodies.append(str(data.get("body", "")))
            if len(bodies) == data.get("count"):
                _strings(json.loads("".join(bodies)), found)
                bodies = []
            continue
        _strings(message, found)
    return "\n".join(found)
