"""The co-browse wire protocol: validation of incoming messages and builders for outgoing ones.

Every socket carries one JSON envelope ``{"type": str, "seq": int, "ts": int_ms, "data": {...}}``
(docs/relay.md, "The envelope"). By concern: :mod:`~cobrowse.protocol.messages` (roles, types, limits,
errors, sequence numbers), :mod:`~cobrowse.protocol.fields` (field checks),
:mod:`~cobrowse.protocol.schemas` (:func:`parse_message` and the schema of every type),
:mod:`~cobrowse.protocol.parts` (large messages in parts), :mod:`~cobrowse.protocol.outgoing`
(envelopes the server sends) and :mod:`~cobrowse.protocol.assist` (the assistant's proposals, to
staff). Callers use the names re-exported here (``protocol.parse_message``).

Pure functions; no Django, no database.
"""

from __future__ import annotations

from cobrowse.protocol.assist import ASSIST_KINDS, MAX_ASSIST_PROPOSALS, assist_data
from cobrowse.protocol.messages import (
    ACTION_KINDS,
    ACTION_NEEDS_VALUE,
    AGENT,
    ANNOTATE_KINDS,
    ANNOTATE_NEEDS_NODE,
    ASSEMBLED_LIMITS,
    CUSTOMER,
    DEFAULT_LIMITS,
    FIELD_STATUSES,
    MAX_ACTION_VALUE,
    MAX_ASSEMBLED,
    MAX_EVENTS,
    MAX_FIELDS,
    MAX_NOTE,
    MAX_PAGE_ID,
    MAX_PARTS,
    MAX_SAFE_INT,
    MAX_TEXT_LABEL,
    MAX_TITLE,
    MAX_URL,
    MODES,
    PART_BODY_MAX,
    PART_FRAME_MAX,
    ROLES,
    SERVER_TO_AGENT,
    SERVER_TO_CUSTOMER,
    SIGNAL_KINDS,
    Limits,
    Message,
    ProtocolError,
    SeqTracker,
)
from cobrowse.protocol.outgoing import RECIPIENT_TYPES, encode, envelope, now_ms
from cobrowse.protocol.parts import PartAssembler, split_parts
from cobrowse.protocol.schemas import SCHEMAS, parse_message

__all__ = [
    "ACTION_KINDS",
    "ACTION_NEEDS_VALUE",
    "AGENT",
    "ANNOTATE_KINDS",
    "ANNOTATE_NEEDS_NODE",
    "ASSEMBLED_LIMITS",
    "ASSIST_KINDS",
    "CUSTOMER",
    "DEFAULT_LIMITS",
    "FIELD_STATUSES",
    "MAX_ACTION_VALUE",
    "MAX_ASSEMBLED",
    "MAX_ASSIST_PROPOSALS",
    "MAX_EVENTS",
    "MAX_FIELDS",
    "MAX_NOTE",
    "MAX_PAGE_ID",
    "MAX_PARTS",
    "MAX_SAFE_INT",
    "MAX_TEXT_LABEL",
    "MAX_TITLE",
    "MAX_URL",
    "MODES",
    "PART_BODY_MAX",
    "PART_FRAME_MAX",
    "RECIPIENT_TYPES",
    "ROLES",
    "SCHEMAS",
    "SERVER_TO_AGENT",
    "SERVER_TO_CUSTOMER",
    "SIGNAL_KINDS",
    "Limits",
    "Message",
    "PartAssembler",
    "ProtocolError",
    "SeqTracker",
    "assist_data",
    "encode",
    "envelope",
    "now_ms",
    "parse_message",
    "split_parts",
]
