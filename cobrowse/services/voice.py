"""A phone call alongside a session: call start and end, the transcript, and its retention.

The telephony integration reports events through ``POST /api/cobrowse/sessions/<id>/transcript/``
(``live/voice_api.py``, docs/voice.md). A request's events are applied in order, all or none, under
the session's row lock. Utterances are personal data: identifiers (card numbers, SSNs, IBANs …) are
masked before they are stored, nothing of them reaches a log, the activity feed or the audit trail,
and :func:`purge_transcripts` deletes them a fixed time after the session ended.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts import permissions
from accounts.models import User
from audit import services as audit
from cobrowse.models import (
    TERMINAL_STATES,
    CallUtterance,
    CoBrowseSession,
    EndReason,
    SessionKind,
    SessionState,
    VoiceCall,
)
from cobrowse.services.base import _now, lock, log_event
from cobrowse.services.lifecycle import refresh_state, transition
from masking.patterns import redact_text

CALL_STARTED = "call_started"
CALL_ENDED = "call_ended"
UTTERANCE = "utterance"


@dataclass(frozen=True)
class CallEvent:
    """One event of a request, already parsed (the API's serializer checks types and lengths)."""

    event: str
    at: datetime
    call_id: str = ""
    speaker: str = ""
    text: str = ""
    end_session: bool = True


@dataclass(frozen=True)
class CallEventsResult:
    session: CoBrowseSession
    active_call: bool
    utterances: int
    session_ended: bool


def _refuse(index: int, message: str, code: str) -> ValidationError:
    return ValidationError({f"events[{index}]": ValidationError(message, code=code)})


def record_call_events(session_id: int, events: Sequence[CallEvent], *, actor: User) -> CallEventsResult:
    """Apply the events in order; on any refused event nothing is stored (400 naming the event).

    A call starts and utterances arrive only while the session is live (as it was when the request
    arrived, so a batch that ends the session may still carry utterances before the end). A call end
    is always accepted. Ending a call ends the session too when the session is a server-side browser
    session, ``end_session`` is not false, no other call of the session is still active, and
    ``actor`` may end the session (its agent or a manager): the browser exists for the call, a
    customer's own page does not.
    """
    refresh_state(session_id)  # a timer that ran out closes the session first
    with transaction.atomic():
        session = lock(session_id)
        was_live = session.state not in TERMINAL_STATES
        utterances: list[CallUtterance] = []
        session_ended = False
        for index, event in enumerate(events):
            if event.event == CALL_STARTED:
                if not was_live:
                    raise _refuse(index, "The session has ended: no call can start.", "session_ended")
                _start_call(session, index, event, actor=actor)
            elif event.event == CALL_ENDED:
                call = _end_call(session, index, event, actor=actor)
                if call is not None and _ends_session(session, event, actor):
                    session = transition(
                        session,
                        SessionState.ENDED,
                        reason=EndReason.CALL_ENDED,
                        actor=actor,
                        extra={"call": call.pk},
                    )
                    session_ended = True
            elif event.event == UTTERANCE:
                if not was_live:
                    raise _refuse(
                        index, "The session has ended: no more transcript is kept.", "session_ended"
                    )
                utterances.append(
                    CallUtterance(
                        session=session,
                        speaker=event.speaker,
                        text=redact_text(event.text),
                        spoken_at=event.at,
                    )
                )
            else:
                raise _refuse(index, f"Unknown event '{event.event[:40]}'.", "unknown_event")
        CallUtterance.objects.bulk_create(utterances)
        active = VoiceCall.objects.filter(session=session, ended_at__isnull=True).exists()
        return CallEventsResult(session, active, len(utterances), session_ended)


def _start_call(session: CoBrowseSession, index: int, event: CallEvent, *, actor: User) -> None:
    call, created = VoiceCall.objects.get_or_create(
        session=session, call_id=event.call_id, defaults={"started_at": event.at}
    )
    if not created:
        if call.ended_at is not None:
            raise _refuse(index, "This call has already ended; a new call needs a new call_id.", "call_ended")
        return  # the same start again: nothing to do
    log_event(session, "call_started", actor=actor, internal=True, summary="phone call started", call=call.pk)
    audit.record(
        "cobrowse.call_started", actor=actor, obj=session, details={"session": session.pk, "call": call.pk}
    )


def _end_call(session: CoBrowseSession, index: int, event: CallEvent, *, actor: User) -> VoiceCall | None:
    """The call, now ended; None when it had ended already (the same end again)."""
    call = VoiceCall.objects.filter(session=session, call_id=event.call_id).first()
    if call is None:
        raise _refuse(index, "No call with this call_id was started in this session.", "unknown_call")
    if call.ended_at is not None:
        return None
    call.ended_at = max(event.at, call.started_at)
    call.save(update_fields=["ended_at"])
    log_event(session, "call_ended", actor=actor, internal=True, summary="phone call ended", call=call.pk)
    audit.record(
        "cobrowse.call_ended", actor=actor, obj=session, details={"session": session.pk, "call": call.pk}
    )
    return call


def _ends_session(session: CoBrowseSession, event: CallEvent, actor: User) -> bool:
    return (
        event.end_session
        and session.kind == SessionKind.BROWSER
        and session.state not in TERMINAL_STATES
        and permissions.can_manage_cobrowse_session(actor, session)
        and not VoiceCall.objects.filter(session=session, ended_at__isnull=True).exists()
    )


def purge_transcripts(now: datetime | None = None) -> int:
    """Delete utterances of sessions that ended more than ``VOICE_TRANSCRIPT_RETENTION_DAYS`` ago.

    Run by the daily retention beat (``recordings.tasks.purge_expired_recordings``). Idempotent;
    returns how many utterances were deleted. Call rows (ids and times only) stay with the session.
    """
    cutoff = (now or _now()) - timedelta(days=settings.VOICE_TRANSCRIPT_RETENTION_DAYS)
    deleted, _ = CallUtterance.objects.filter(
        session__ended_at__isnull=False, session__ended_at__lte=cutoff
    ).delete()
    return deleted
