"""rrweb-like event streams for tests: a meta event, a full snapshot, then incremental events."""

from __future__ import annotations

import random
from typing import Any

CANARY = "Canary-Plaintext-7f3a9c-Ünïcödé"


def _node(rnd: random.Random, next_id: list[int], depth: int) -> dict[str, Any]:
    next_id[0] += 1
    node: dict[str, Any] = {"type": 2, "id": next_id[0], "tagName": rnd.choice(["div", "span", "label", "p"])}
    node["attributes"] = {"class": f"c-{rnd.randrange(50)}", "data-field": f"field_{next_id[0]}"}
    if depth < 3:
        node["childNodes"] = [_node(rnd, next_id, depth + 1) for _ in range(rnd.randrange(1, 4))]
    else:
        next_id[0] += 1
        node["childNodes"] = [{"type": 3, "id": next_id[0], "textContent": f"Label {next_id[0]} héllo"}]
    return node


def rrweb_session(count: int = 3000, *, seed: int = 7, canary_every: int = 0) -> list[dict[str, Any]]:
    """``count`` events like a recorded form session; ``canary_every`` plants CANARY in input events."""
    rnd = random.Random(seed)
    ts = 1_700_000_000_000
    next_id = [0]
    events: list[dict[str, Any]] = [
        {
            "type": 4,
            "data": {"href": "https://loans.example/apply", "width": 1280, "height": 720},
            "timestamp": ts,
        },
        {
            "type": 2,
            "data": {"node": {"type": 0, "id": 0, "childNodes": [_node(rnd, next_id, 0) for _ in range(12)]}},
            "timestamp": ts + 5,
        },
    ]
    while len(events) < count:
        ts += rnd.randrange(20, 200)
        kind = rnd.random()
        if kind < 0.5:
            data = {"source": 1, "positions": [{"x": rnd.randrange(1280), "y": rnd.randrange(720), "id": 3}]}
        elif kind < 0.7:
            data = {"source": 3, "id": 1, "x": 0, "y": rnd.randrange(4000)}
        elif kind < 0.9:
            n = len(events)
            text = CANARY if canary_every and n % canary_every == 0 else "*" * rnd.randrange(1, 12)
            data = {"source": 5, "id": rnd.randrange(1, next_id[0]), "text": text, "isChecked": False}
        else:
            data = {
                "source": 0,
                "adds": [{"parentId": 4, "nextId": None, "node": _node(rnd, next_id, 3)}],
                "removes": [{"parentId": 4, "id": rnd.randrange(1, next_id[0])}],
                "texts": [],
                "attributes": [{"id": 5, "attributes": {"aria-invalid": "true"}}],
            }
        events.append({"type": 3, "data": data, "timestamp": ts})
    return events
