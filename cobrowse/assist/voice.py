"""The voice channel as the assistant reads it: is a call on, and what was said last.

Fills ``user.active_call`` and ``user.call_transcript_last_30s`` of the shared session context.
The window is the 30 seconds up to the session's *latest utterance*, not up to now: transcription
arrives in bursts and late (a speech-to-text engine sends a sentence once it is finished), so a
window ending now would often be empty while the customer is still talking about the field they are
stuck on. When the call has ended, ``active`` says so and the reader decides whether the last words
still matter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from cobrowse.models import CallUtterance, VoiceCall

#: How much of the conversation the assistant sees.
WINDOW = timedelta(seconds=30)
#: A bound on the window's size whatever the integration sends (the newest are kept).
MAX_UTTERANCES = 50


@dataclass(frozen=True)
class CallState:
    """A session's call: whether one is on, and its last utterances, oldest first."""

    active: bool = False
    #: ``{"speaker", "text", "at"}`` (ISO 8601); identifiers already masked.
    transcript_last_30s: list[dict[str, str]] = field(default_factory=list)


def call_state(session_id: int) -> CallState:
    """The session's call state; an unknown session or one without a call gives an inactive, empty one."""
    active = VoiceCall.objects.filter(session_id=session_id, ended_at__isnull=True).exists()
    latest = (
        CallUtterance.objects.filter(session_id=session_id)
        .order_by("-spoken_at", "-id")
        .values_list("spoken_at", flat=True)
        .first()
    )
    if latest is None:
        return CallState(active=active, transcript_last_30s=[])
    rows = list(
        CallUtterance.objects.filter(session_id=session_id, spoken_at__gte=latest - WINDOW)
        .order_by("-spoken_at", "-id")
        .values("speaker", "text", "spoken_at")[:MAX_UTTERANCES]
    )
    rows.reverse()
    transcript = [
        {"speaker": r["speaker"], "text": r["text"], "at": r["spoken_at"].isoformat()} for r in rows
    ]
    return CallState(active=active, transcript_last_30s=transcript)
