"""Reads for recordings: who sees which recordings, filters, the replay stream, timelines, history."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import orjson
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts import permissions
from audit.models import AuditEvent
from recordings.capture import open_recording
from recordings.crypto import (
    ChunkError,
    KeyShreddedError,
    RecordingCryptoError,
    TruncatedRecordingError,
)
from recordings.models import AccessRequestState, Highlight, Recording, RecordingAccessRequest

_RELATED = ("session__ticket", "session__agent", "session__customer")


def visible_recordings(user: Any, qs: QuerySet | None = None) -> QuerySet[Recording]:
    """Managers see every recording; an agent the recordings of the sessions they led."""
    qs = (Recording.objects.all() if qs is None else qs).select_related(*_RELATED)
    if permissions.is_manager(user):
        return qs
    if permissions.is_support_staff(user):
        return qs.filter(session__agent=user)
    return qs.none()


def get_visible_recording(user: Any, pk: Any) -> Recording:
    """The recording if the user may watch it; ``Recording.DoesNotExist`` otherwise (a 404)."""
    try:
        recording = Recording.objects.select_related(*_RELATED).get(pk=int(pk))
    except (TypeError, ValueError):
        raise Recording.DoesNotExist from None
    if not permissions.can_view_recording(user, recording):
        raise Recording.DoesNotExist
    return recording


def _parse_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _parse_int(value: Any) -> int | None:
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


def customer_recordings(user: Any) -> QuerySet[Recording]:
    """Recordings of the sessions a customer shared (or of their tickets)."""
    if not (getattr(user, "is_authenticated", False) and user.is_customer):
        return Recording.objects.none()
    return Recording.objects.select_related(*_RELATED).filter(
        Q(session__customer=user) | Q(session__ticket__requester=user)
    )


def get_customer_recording(user: Any, pk: Any) -> Recording:
    try:
        return customer_recordings(user).get(pk=int(pk))
    except (TypeError, ValueError):
        raise Recording.DoesNotExist from None


def latest_requests(user: Any, recordings: list[Recording]) -> dict[int, RecordingAccessRequest]:
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


def visible_highlights(user: Any, params: Mapping[str, Any] | None = None) -> QuerySet[Highlight]:
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


def _step_label(data: dict) -> str:
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
