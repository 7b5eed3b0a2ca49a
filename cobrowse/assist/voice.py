"""The voice channel's side of a session's shared context: is a call on, and what was just said.

The assistant reads a session's call state to speak its proposals and to use the last words of the
call. Until a telephony integration reports calls, no session has one.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CallState:
    """A session's call: whether one is on, and its utterances ({speaker, text, at ISO}) of the last 30 s."""

    active: bool = False
    transcript_last_30s: list[dict[str, str]] = field(default_factory=list)


def call_state(session_id: int) -> CallState:
    """The session's call state; inactive and empty while no call is reported."""
    return CallState()
