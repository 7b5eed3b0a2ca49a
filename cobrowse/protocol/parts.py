"""Large messages in parts: a big envelope travels as ``part`` frames and is reassembled.

A full snapshot of a big page exceeds a frame; the sender cuts the text of the whole envelope into
bodies of at most :data:`~cobrowse.protocol.messages.PART_BODY_MAX` characters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cobrowse.protocol.messages import MAX_ASSEMBLED, MAX_PARTS, PART_BODY_MAX, ProtocolError
from cobrowse.protocol.outgoing import now_ms


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
