"""The envelope's vocabulary: roles, message types and kinds, size limits, errors and sequence numbers.

Every socket carries one JSON envelope ``{"type": str, "seq": int, "ts": int_ms, "data": {...}}``.
The frame size limit is checked on the raw bytes (the largest of the role), then against the limit of
the message's type. The agent limit is 32 KB, not 16 KB: a 5,000-character note of four-byte
characters is 20 KB on the wire.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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
        "seat_moved",
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
