"""Write, anchor and verify the audit chain (docs/audit.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, overload

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, models, transaction
from django.utils import timezone

from audit import crypto
from audit.anchors import Anchor, AnchorStore, AnchorStoreError, get_store
from audit.crypto import GENESIS
from audit.models import AuditEvent, Scheme

if TYPE_CHECKING:  # audit sits below accounts: the user model is an annotation here, not an import
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

#: Who acted: a user (``request.user`` as it comes; anonymous means no one), a label for a process
#: acting on its own (a command's name), or no one.
Actor: TypeAlias = "User | AnonymousUser | str | None"

__all__ = ["GENESIS", "ChainProblem", "Verification", "anchor_chain", "record", "verify", "verify_chain"]

_LOCK_KEY = 0x7A4D17  # PostgreSQL advisory lock id for appending to the chain
ANCHOR_ACTION = "audit.anchored"
#: Problems listed by one verification before the rest are only counted.
MAX_PROBLEMS = 20


def _lock_chain() -> AuditEvent | None:
    """Serialize appends (and anchors) and return the current head. Call inside a transaction."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
    return AuditEvent.objects.select_for_update().order_by("-id").first()


def _append(
    last: AuditEvent | None,
    action: str,
    *,
    actor: Actor = None,
    object_type: str = "",
    object_id: str | int = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    # Any user model instance is signed in; AnonymousUser, a label or None leave the actor empty.
    actor_obj = actor if isinstance(actor, AbstractBaseUser) else None
    event = AuditEvent(
        created_at=timezone.now(),
        actor=actor_obj,
        actor_label=(actor_obj.get_username() if actor_obj else (actor if isinstance(actor, str) else "")),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        details=json.loads(json.dumps(details or {}, default=str)),
        scheme=Scheme.HMAC,
        # The first keyed row of an upgraded deployment chains from the last unkeyed hash.
        prev_hash=last.hash if last else GENESIS,
    )
    event.hash = crypto.row_digest(event.prev_hash, event)
    event.save()
    return event


@transaction.atomic
def record(
    action: str,
    *,
    actor: Actor = None,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. ``details`` must hold no personal data (ids, modes, reasons only)."""
    last = _lock_chain()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    return _append(last, action, actor=actor, object_type=object_type, object_id=object_id, details=details)


@overload
def anchor_chain(store: AnchorStore | None = None, *, only_if_new: Literal[False] = False) -> Anchor: ...
@overload
def anchor_chain(store: AnchorStore | None = None, *, only_if_new: bool) -> Anchor | None: ...


@transaction.atomic
def anchor_chain(store: AnchorStore | None = None, *, only_if_new: bool = False) -> Anchor | None:
    """Append an ``audit.anchored`` event and write it, as the chain head, to the anchor store.

    The event and the anchor cover each other: the anchor names the event's id and hash; the event
    names the anchor's sequence number, so deleting the newest anchor leaves an event without one.
    The store is written before the transaction commits: if it cannot be written, no event remains.
    ``only_if_new`` (the schedule) skips when nothing was recorded since the last anchor.
    Returns the anchor written, or None when skipped.
    """
    store = store or get_store()
    last = _lock_chain()
    if only_if_new and last is not None and last.action == ANCHOR_ACTION:
        return None
    previous = store.read_all()
    latest = previous[-1] if previous else None
    seq = latest.seq + 1 if latest else 1
    event = _append(
        last,
        ANCHOR_ACTION,
        object_type="audit.anchor",
        object_id=seq,
        details={"seq": seq, "store": store.__class__.__name__},
    )
    unsigned = Anchor(
        seq=seq,
        head_id=event.pk,
        head_hash=event.hash,
        at=event.created_at.isoformat(),
        key_id=crypto.key_id(),
        prev_mac=latest.mac if latest else "",
    )
    anchor = Anchor(**{**unsigned.signed_fields(), "mac": unsigned.expected_mac()})
    store.append(anchor)
    return anchor


@dataclass(frozen=True)
class ChainProblem:
    event_id: int | None
    reason: str

    def __str__(self) -> str:
        return f"event #{self.event_id}: {self.reason}" if self.event_id is not None else self.reason


@dataclass
class Verification:
    """What ``verify`` found: counts for the report and every problem (the first ``MAX_PROBLEMS``)."""

    events: int = 0
    legacy_events: int = 0
    anchors: int = 0
    latest_anchor: Anchor | None = None
    store: str = ""
    problems: list[ChainProblem] = field(default_factory=list)
    more_problems: int = 0

    @property
    def intact(self) -> bool:
        return not self.problems

    def add(self, event_id: int | None, reason: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(ChainProblem(event_id, reason))
        else:
            self.more_problems += 1


def _check_anchor_links(anchors: list[Anchor], result: Verification) -> None:
    """Anchors must be numbered 1, 2, 3 …, each MAC valid and linked to the one before."""
    current = crypto.key_id()
    prev_mac = ""
    for expected_seq, anchor in enumerate(anchors, start=1):
        if anchor.seq != expected_seq:
            result.add(None, f"anchor {expected_seq} is missing from the anchor store (next is {anchor.seq})")
            return
        if anchor.key_id != current:
            result.add(
                None,
                f"anchor {anchor.seq} was written under another AUDIT_KEY (key id {anchor.key_id}, "
                f"configured {current}); verify with that key",
            )
            return
        if not crypto.same(anchor.mac, anchor.expected_mac()):
            result.add(None, f"anchor {anchor.seq} does not match its MAC (the anchor was altered)")
        elif not crypto.same(anchor.prev_mac, prev_mac):
            result.add(None, f"anchor {anchor.seq} does not link to anchor {anchor.seq - 1}")
        prev_mac = anchor.mac


def verify(store: AnchorStore | None = None) -> Verification:
    """Recompute the chain and compare it with every anchor.

    Detects: an edited row (its hash; an HMAC nobody without AUDIT_KEY can recompute), a removed or
    reordered row (the next row's link), unkeyed rows after keyed ones (a downgrade), a row rewritten
    with recomputed hashes (the anchored head hash differs), a truncated tail (an anchored head is
    gone), and a deleted anchor (sequence gap, broken MAC link, or an ``audit.anchored`` event whose
    anchor is not in the store). A chain with no anchor yet verifies on its links and keys alone.
    """
    store = store or get_store()
    result = Verification(store=store.location)
    try:
        anchors = store.read_all()
    except AnchorStoreError as exc:
        result.add(None, f"anchor store: {exc}")
        anchors = []
    result.anchors = len(anchors)
    result.latest_anchor = anchors[-1] if anchors else None
    _check_anchor_links(anchors, result)
    by_head = {anchor.head_id: anchor for anchor in anchors}
    anchor_seqs = {anchor.seq for anchor in anchors}
    seen_heads: set[int] = set()

    prev = GENESIS
    keyed = False
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        result.events += 1
        if event.scheme == Scheme.LEGACY:
            result.legacy_events += 1
            if keyed:
                result.add(event.pk, "unkeyed row after keyed rows (rewritten without the key)")
        elif event.scheme == Scheme.HMAC:
            keyed = True
        if event.prev_hash != prev:
            result.add(event.pk, "previous hash does not match (a row was removed or reordered)")
        try:
            expected = crypto.row_digest(event.prev_hash, event)
        except ValueError:
            result.add(event.pk, f"unknown hash scheme {event.scheme!r}")
        else:
            if not crypto.same(expected, event.hash):
                result.add(event.pk, "row content does not match its hash (the row was changed)")
        anchor = by_head.get(event.pk)
        if anchor is not None:
            seen_heads.add(event.pk)
            if not crypto.same(anchor.head_hash, event.hash):
                result.add(event.pk, f"differs from anchor {anchor.seq} (the chain was rewritten)")
        if event.action == ANCHOR_ACTION:
            seq = event.details.get("seq") if isinstance(event.details, dict) else None
            if seq not in anchor_seqs:
                result.add(event.pk, f"records anchor {seq}, which is not in the anchor store (deleted)")
        prev = event.hash
    for anchor in anchors:
        if anchor.head_id not in seen_heads:
            result.add(
                anchor.head_id,
                f"anchored by anchor {anchor.seq} but no longer in the chain (the tail was truncated)",
            )
    return result


def verify_chain(store: AnchorStore | None = None) -> ChainProblem | None:
    """The first problem, or None when the chain and its anchors are intact."""
    result = verify(store)
    return result.problems[0] if result.problems else None
