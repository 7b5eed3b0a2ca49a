"""Reads for recordings: who sees which recordings, filters, the replay stream, timelines, history."""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts import permissions
from accounts.models import User
from audit.models import AuditEvent
from recordings.blobstore import BlobStore
from recordings.capture import open_recording
from recordings.crypto import (
    CHUNK_HEADER_BYTES,
    MAX_CHUNK_INDEX,
    ChunkAuthenticationError,
    ChunkError,
    ChunkFormatError,
    ChunkMissingError,
    ChunkOrderError,
    KeyShreddedError,
    RecordingCryptoError,
    TruncatedRecordingError,
    _chunk_aad,
    normalize_recording_id,
    open_chunk,
    read_chunk_header,
    recording_tag,
    unwrap_data_key,
)
from recordings.models import AccessRequestState, Highlight, Recording, RecordingAccessRequest

_RELATED = ("session__ticket", "session__agent", "session__customer")


def visible_recordings(user: User, qs: QuerySet[Recording] | None = None) -> QuerySet[Recording]:
    """Managers see every recording; an agent the recordings of the sessions they led."""
    qs = (Recording.objects.all() if qs is None else qs).select_related(*_RELATED)
    if permissions.is_manager(user):
        return qs
    if permissions.is_support_staff(user):
        return qs.filter(session__agent=user)
    return qs.none()


def get_visible_recording(user: User, pk: int | str) -> Recording:
    """The recording if the user may watch it; ``Recording.DoesNotExist`` otherwise (a 404)."""
    try:
        recording = Recording.objects.select_related(*_RELATED).get(pk=int(pk))
    except (TypeError, ValueError):
        raise Recording.DoesNotExist from None
    if not permissions.can_view_recording(user, recording):
        raise Recording.DoesNotExist
    return recording


def _parse_date(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _parse_int(value: str | int | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def filter_recordings(qs: QuerySet[Recording], params: Mapping[str, Any]) -> QuerySet[Recording]:
    """List filters: agent (id), ticket (number or T-number), from/to (dates), min/max duration
    (minutes), mode (the session's last mode), outcome (the session's end reason or state)."""
    tz = timezone.get_current_timezone()
    if (agent := _parse_int(params.get("agent"))) is not None:
        qs = qs.filter(session__agent_id=agent)
    ticket = str(params.get("ticket") or "").strip().upper().removeprefix("T-")
    if ticket:
        qs = qs.filter(session__ticket__number=ticket) if ticket.isdigit() else qs.none()
    if day := _parse_date(params.get("date_from")):
        qs = qs.filter(started_at__gte=datetime.combine(day, time.min, tz))
    if day := _parse_date(params.get("date_to")):
        qs = qs.filter(started_at__lt=datetime.combine(day + timedelta(days=1), time.min, tz))
    if (minutes := _parse_int(params.get("min_minutes"))) is not None:
        qs = qs.filter(duration_ms__gte=minutes * 60_000)
    if (minutes := _parse_int(params.get("max_minutes"))) is not None:
        qs = qs.filter(duration_ms__lte=minutes * 60_000)
    if mode := params.get("mode"):
        qs = qs.filter(session__mode=mode)
    if outcome := params.get("outcome"):
        if outcome == "deleted":
            qs = qs.filter(deleted_at__isnull=False)
        elif outcome == "incomplete":
            qs = qs.filter(complete=False, deleted_at__isnull=True)
        else:
            qs = qs.filter(Q(session__end_reason=outcome) | Q(session__state=outcome))
    return qs


def customer_recordings(user: User) -> QuerySet[Recording]:
    """Recordings of the sessions a customer shared (or of their tickets)."""
    if not (getattr(user, "is_authenticated", False) and user.is_customer):
        return Recording.objects.none()
    return Recording.objects.select_related(*_RELATED).filter(
        Q(session__customer=user) | Q(session__ticket__requester=user)
    )


def get_customer_recording(user: User, pk: int | str) -> Recording:
    try:
        return customer_recordings(user).get(pk=int(pk))
    except (TypeError, ValueError):
        raise Recording.DoesNotExist from None


def latest_requests(user: User, recordings: list[Recording]) -> dict[int, RecordingAccessRequest]:
    """The customer's most recent access request per recording."""
    out: dict[int, RecordingAccessRequest] = {}
    for req in RecordingAccessRequest.objects.filter(customer=user, recording__in=recordings).order_by(
        "created_at", "id"
    ):
        out[req.recording_id] = req
    return out


def pending_access_requests() -> QuerySet[RecordingAccessRequest]:
    return (
        RecordingAccessRequest.objects.filter(state=AccessRequestState.REQUESTED)
        .select_related("recording__session__ticket", "customer")
        .order_by("created_at", "id")
    )


def recent_access_decisions(limit: int = 20) -> QuerySet[RecordingAccessRequest]:
    return (
        RecordingAccessRequest.objects.exclude(state=AccessRequestState.REQUESTED)
        .select_related("recording__session__ticket", "customer", "decided_by")
        .order_by("-decided_at", "-id")[:limit]
    )


def visible_highlights(user: User, params: Mapping[str, Any] | None = None) -> QuerySet[Highlight]:
    """The training library: highlights of recordings the user may watch and that still exist."""
    qs = Highlight.objects.select_related("recording__session__ticket", "created_by").filter(
        recording__in=visible_recordings(user), recording__deleted_at__isnull=True
    )
    params = params or {}
    if tag := str(params.get("tag") or "").strip().lower():
        qs = qs.filter(tags__contains=[tag])
    if text := str(params.get("q") or "").strip():
        qs = qs.filter(title__icontains=text)
    return qs


def recording_accesses(recording: Recording) -> QuerySet[AuditEvent]:
    """The recording's audit history: capture, views, downloads, requests, deletion."""
    return AuditEvent.objects.filter(
        object_type=Recording._meta.label_lower, object_id=str(recording.pk), action__startswith="recording."
    ).order_by("-id")


@dataclass(frozen=True)
class TimelineItem:
    offset_ms: int
    kind: str
    label: str
    actor: str


_STEP_LABELS = {
    "consented": "Customer consented",
    "active": "Page connected",
    "seat_moved": "Customer moved sharing to another tab",
    "mode_changed": "Mode changed",
    "mode_requested": "Agent asked for a higher mode",
    "mode_approved": "Manager approved full control",
    "mode_rejected": "Manager declined full control",
    "mode_declined": "Customer declined a mode change",
    "extension_requested": "Agent asked for more time",
    "extended": "Customer gave more time",
    "extension_declined": "Customer declined more time",
    "joined": "Someone joined",
    "control_handed_over": "Control handed over",
    "action_requested": "Agent asked to act",
    "action_approved": "Customer approved an action",
    "action_denied": "Customer declined an action",
    "action_expired": "An action request went unanswered",
    "action_performed": "Action performed",
    "action_failed": "Action not performed",
    "action_refused": "Action refused",
}
#: Steps whose label names the action (click, type, select, autofill).
_ACTION_STEPS = {"action_requested", "action_approved", "action_denied", "action_performed", "action_failed"}


def _step_label(data: dict[str, Any]) -> str:
    step = str(data.get("step", ""))
    label = _STEP_LABELS.get(step, step.replace("_", " ").capitalize() or "Co-browse activity")
    if step == "mode_changed" and data.get("to"):
        label = f"Mode changed to {str(data['to']).replace('_', ' ')}"
    if step in _ACTION_STEPS and data.get("action"):
        label = f"{label}: {str(data['action'])[:20]}"
    return label


def session_timeline(recording: Recording) -> list[TimelineItem]:
    """Staff timeline of the session: mode changes, approvals and notes, as offsets into the replay."""
    from tickets.models import EventKind, TicketComment, TicketEvent

    session = recording.session
    start = recording.started_at
    end = recording.ended_at or timezone.now()
    items: list[TimelineItem] = []
    events = TicketEvent.objects.filter(
        ticket_id=session.ticket_id, kind=EventKind.COBROWSE, data__session=session.pk
    ).select_related("actor")
    for event in events:
        if not start - timedelta(seconds=1) <= event.created_at <= end + timedelta(seconds=1):
            continue
        offset = max(0, int((event.created_at - start).total_seconds() * 1000))
        actor = event.actor.display_name if event.actor else "Tandem"
        items.append(TimelineItem(offset, "activity", _step_label(event.data or {}), actor))
    notes = TicketComment.objects.filter(
        ticket_id=session.ticket_id, is_internal=True, created_at__gte=start, created_at__lte=end
    ).select_related("author")
    for note in notes:
        offset = max(0, int((note.created_at - start).total_seconds() * 1000))
        items.append(TimelineItem(offset, "note", note.body[:200], note.author.display_name))
    items.sort(key=lambda item: item.offset_ms)
    return items


def replay_stream(recording: Recording) -> Iterator[bytes]:
    """The decrypted, verified recording as one JSON document, streamed chunk by chunk:

    ``{"recording": id, "chunks": [[envelope, ...], ...], "status": {...}}``

    ``status.state`` is ``complete``, ``in_progress``, ``incomplete`` (no final chunk), ``tampered``
    (a chunk failed verification: the events before it are still there) or ``unreadable``/``deleted``.
    Errors surface in the status, never as a broken response.
    """
    yield b'{"recording":' + str(recording.pk).encode() + b',"chunks":['
    status: dict[str, Any] = {"state": "unreadable", "complete": False, "error": None, "chunks": 0}
    try:
        reader = open_recording(
            recording.pk, bytes(recording.wrapped_key), expected_chunks=recording.chunk_count or None
        )
        count = 0
        for opened in reader.payloads():
            yield (b"," if count else b"") + opened.payload
            count += 1
        status["chunks"] = count
        status["complete"] = bool(reader.complete)
        if reader.complete:
            status["state"] = "complete"
        else:
            status["state"] = "in_progress" if recording.is_open else "incomplete"
    except KeyShreddedError:
        status["state"] = "deleted"
    except TruncatedRecordingError as exc:
        status.update(state="incomplete", error=f"chunk {exc.index}: {exc.reason}")
    except ChunkError as exc:
        status.update(state="tampered", error=f"chunk {exc.index}: {exc.reason}")
    except RecordingCryptoError as exc:
        status.update(state="unreadable", error=str(exc))
    except OSError as exc:
        status.update(state="unreadable", error=f"storage error: {exc.__class__.__name__}")
    yield b'],"status":' + orjson.dumps(status) + b"}"


# --- ranged replay: a small index first, then one chunk at a time ------------------------------------

#: How much of a chunk's JSON is inflated to read its first envelope's ``at`` (``type``, ``seq``,
#: ``ts`` and ``at`` come before ``data`` in every stored envelope, see ``recordings.live``).
_PEEK_BYTES = 512
INDEX_CACHE_SECONDS = 6 * 60 * 60
# The envelope as recordings.live writes it: ``at`` before ``data``, so a few bytes tell the time.
_LIVE_HEAD = re.compile(rb'^\[\{"type":"[a-z_]+","seq":[^,{]*,"ts":[^,{]*,"at":(-?\d+)[,}]')
_DECODER = json.JSONDecoder()


def _index_cache_key(recording: Recording) -> str:
    return f"recordings:chunk-index:{recording.pk}:{recording.key_id}"


def _first_at(data_key: bytes, recording_id: str, index: int, blob: bytes) -> tuple[int | None, bool]:
    """Authenticate the whole chunk (AES-GCM) but inflate only its start: ``(first at, final)``.

    The full open (``crypto.open_chunk``) inflates everything, which for a screencast recording is
    most of the cost; the index needs only the first envelope's time. The chunk endpoint opens each
    chunk in full again when it is served.
    """
    header = read_chunk_header(blob, recording_id, index)
    if header.recording_tag != recording_tag(recording_id):
        raise ChunkOrderError(recording_id, index, "the chunk belongs to another recording")
    if header.index != index:
        raise ChunkOrderError(
            recording_id, index, f"stored at position {index} but written as chunk {header.index}"
        )
    try:
        compressed = AESGCM(data_key).decrypt(
            header.nonce,
            blob[CHUNK_HEADER_BYTES:],
            _chunk_aad(recording_id, blob[:CHUNK_HEADER_BYTES]),
        )
    except InvalidTag:
        raise ChunkAuthenticationError(
            recording_id, index, "authentication failed: it was altered, or not written with this key"
        ) from None
    return _first_envelope_at(recording_id, index, compressed), header.final


def _first_envelope_at(recording_id: str, index: int, compressed: bytes) -> int | None:
    """The ``at`` of the chunk's first envelope, inflating no more of the chunk than that envelope."""
    inflater = zlib.decompressobj(31)
    head = b""
    want = _PEEK_BYTES
    try:
        while True:
            head += inflater.decompress(inflater.unconsumed_tail or compressed, want - len(head))
            compressed = b""
            done = len(head) < want  # the whole chunk is inflated
            if found := _LIVE_HEAD.match(head):
                return int(found.group(1))
            try:
                first, _end = _DECODER.raw_decode(head.decode("utf-8", errors="ignore"), 1)
            except ValueError:
                if done:
                    return None
                want *= 4
                continue
            at = first.get("at") if isinstance(first, dict) else None
            return at if isinstance(at, int) else None
    except zlib.error as exc:
        raise ChunkFormatError(recording_id, index, f"authenticated but not valid gzip ({exc})") from None


def _last_at(payload: bytes) -> int | None:
    """The latest ``at`` in a chunk's events (the end of the recording, read from its last chunk)."""
    try:
        events = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    times = [e["at"] for e in events if isinstance(e, dict) and isinstance(e.get("at"), int)]
    return max(times) if times else None


def chunk_index(recording: Recording, *, store: BlobStore | None = None) -> dict[str, Any]:
    """What the ranged replay loads first: each chunk's time range (ms from the first event) and size.

    ``{"recording", "start", "total", "chunks": [{"index", "from", "to", "bytes", "final"}], "status"}``.
    Every chunk is authenticated while the index is built (a damaged one ends the list and sets
    ``status``, as in ``replay_stream``); only each chunk's first envelope is inflated. Chunks never
    change once written, so the entries (times and sizes, no content) are cached and a recording still
    being captured only reads its new chunks.
    """
    status: dict[str, Any] = {"state": "unreadable", "complete": False, "error": None, "chunks": 0}
    out: dict[str, Any] = {
        "recording": recording.pk,
        "start": None,
        "total": 0,
        "chunks": [],
        "status": status,
    }
    if recording.is_deleted or not recording.wrapped_key:
        status["state"] = "deleted"
        return out
    store = store or BlobStore()
    rid = normalize_recording_id(recording.pk)
    cache_key = _index_cache_key(recording)
    known: list[list[Any]] = list(cache.get(cache_key) or [])  # [first at, stored bytes, final]
    entries: list[list[Any]] = []
    last_payload: bytes | None = None
    try:
        data_key = unwrap_data_key(bytes(recording.wrapped_key), rid)
        indices = store.chunk_indices(rid)
        for position, index in enumerate(indices):
            if index != position:
                raise ChunkMissingError(rid, position, "missing from storage (chunks follow it)")
        if recording.chunk_count and len(indices) < recording.chunk_count:
            raise ChunkMissingError(
                rid,
                len(indices),
                f"missing: {recording.chunk_count} chunks were written, {len(indices)} are stored",
            )
        for index in indices:
            if entries and entries[-1][2]:
                raise ChunkOrderError(rid, index, "stored after the final chunk")
            if index < len(known) and index < len(indices) - 1:
                entries.append(known[index])
                continue
            blob = store.get_chunk(rid, index)
            first, final = _first_at(data_key, rid, index, blob)
            entries.append([first, len(blob), final])
            if index == len(indices) - 1:
                last_payload = open_chunk(data_key, rid, index, blob).payload
        complete = bool(entries and entries[-1][2])
        status.update(
            complete=complete,
            state="complete" if complete else ("in_progress" if recording.is_open else "incomplete"),
        )
    except KeyShreddedError:
        status["state"] = "deleted"
    except TruncatedRecordingError as exc:
        status.update(state="incomplete", error=f"chunk {exc.index}: {exc.reason}")
    except ChunkError as exc:
        status.update(state="tampered", error=f"chunk {exc.index}: {exc.reason}")
    except RecordingCryptoError as exc:
        status.update(state="unreadable", error=str(exc))
    except OSError as exc:
        status.update(state="unreadable", error=f"storage error: {exc.__class__.__name__}")
    if entries and status["state"] in ("complete", "in_progress", "incomplete"):
        cache.set(cache_key, entries[:-1] if not entries[-1][2] else entries, INDEX_CACHE_SECONDS)
    status["chunks"] = len(entries)
    firsts = [e[0] for e in entries if e[0] is not None]
    if not firsts:
        return out
    start = firsts[0]
    end = (_last_at(last_payload) if last_payload is not None else None) or max(firsts)
    following: int | None = None
    chunks: list[dict[str, Any]] = []
    for index in range(len(entries) - 1, -1, -1):
        first, size, final = entries[index]
        begin = first if first is not None else (following if following is not None else end)
        chunks.append(
            {
                "index": index,
                "from": begin - start,
                "to": (following if following is not None else end) - start,
                "bytes": size,
                "final": final,
            }
        )
        following = begin
    chunks.reverse()
    out.update(start=start, total=max(end - start, 0), chunks=chunks)
    return out


class NoSuchChunk(Exception):
    """The chunk number is not one of the recording's stored chunks (a 404)."""


def replay_chunk(recording: Recording, index: int, *, store: BlobStore | None = None) -> bytes:
    """One chunk, verified and decrypted, as ``{"index", "final", "events": [...], "status"}`` JSON.

    Raises ``NoSuchChunk`` for an index that is not stored. A chunk that fails verification comes back
    without events and with ``status.state`` ``tampered``, as the whole stream reports it.
    """
    store = store or BlobStore()
    rid = normalize_recording_id(recording.pk)
    if recording.is_deleted or not recording.wrapped_key:
        raise NoSuchChunk(index)
    if not 0 <= index <= MAX_CHUNK_INDEX:
        raise NoSuchChunk(index)
    status: dict[str, Any] = {"state": "ok", "error": None}
    try:
        if index not in set(store.chunk_indices(rid)):
            raise NoSuchChunk(index)
        data_key = unwrap_data_key(bytes(recording.wrapped_key), rid)
        opened = open_chunk(data_key, rid, index, store.get_chunk(rid, index))
    except KeyShreddedError:
        raise NoSuchChunk(index) from None
    except ChunkError as exc:
        status.update(state="tampered", error=f"chunk {exc.index}: {exc.reason}")
    except RecordingCryptoError as exc:
        status.update(state="unreadable", error=str(exc))
    except FileNotFoundError:
        raise NoSuchChunk(index) from None
    except OSError as exc:
        status.update(state="unreadable", error=f"storage error: {exc.__class__.__name__}")
    else:
        return (
            b'{"index":%d,"final":%s,"events":' % (index, b"true" if opened.final else b"false")
            + opened.payload
            + b',"status":'
            + orjson.dumps(status)
            + b"}"
        )
    return orjson.dumps({"index": index, "final": False, "events": None, "status": status})
