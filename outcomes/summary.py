"""The session summary posted to the ticket: what happened, read from what the session recorded.

Everything comes from rows the session already wrote — its activity lines on the ticket (mode
changes, annotations), participants, action requests, co-browse notes and the recording — so the
summary cannot claim what did not happen.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.urls import reverse

from cobrowse.models import ActionRequest, CoBrowseSession, ControlMode, Participant
from recordings.models import Recording
from tickets.models import EventKind, TicketComment, TicketEvent

NOTE_PREFIX = "Co-browse note: "  # how live.services.add_note writes a note taken during the session


@dataclass
class SessionFacts:
    duration: timedelta
    modes: list[tuple[str, timedelta]]  # mode label, time in it, in the order first used
    people: list[str]
    annotations: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    recording_url: str | None = None


def _session_events(session: CoBrowseSession) -> list[TicketEvent]:
    return list(
        TicketEvent.objects.filter(
            ticket_id=session.ticket_id, kind=EventKind.COBROWSE, data__session=session.pk
        ).order_by("created_at", "id")
    )


def _mode_times(
    session: CoBrowseSession, events: list[TicketEvent], end: datetime
) -> list[tuple[str, timedelta]]:
    start = session.started_at or session.consented_at
    if start is None:
        return []
    consented = next((e for e in events if e.data.get("step") == "consented"), None)
    mode = str((consented.data.get("mode") if consented else None) or ControlMode.VIEW_ONLY)
    spent: dict[str, timedelta] = {}
    since = start
    for event in events:
        if event.data.get("step") != "mode_changed" or event.created_at < start:
            continue
        at = min(event.created_at, end)
        spent[mode] = spent.get(mode, timedelta()) + (at - since)
        mode, since = str(event.data.get("to") or mode), at
    spent[mode] = spent.get(mode, timedelta()) + max(end - since, timedelta())
    labels = dict(ControlMode.choices)
    return [(str(labels.get(m, m)), t) for m, t in spent.items()]


def session_facts(session: CoBrowseSession) -> SessionFacts:
    end = session.ended_at or session.last_activity_at or session.started_at or session.created_at
    start = session.started_at or end
    events = _session_events(session)
    people = []
    for participant in Participant.objects.filter(session=session).select_related("user", "team_viewer"):
        name = (
            participant.user.display_name
            if participant.user
            else (f"{participant.team_viewer.name} (customer's team)" if participant.team_viewer else "")
        )
        if name and name not in people:
            people.append(name)
    customer = session.customer.display_name if session.customer else "the customer"
    facts = SessionFacts(
        duration=max(end - start, timedelta()),
        modes=_mode_times(session, events, end),
        people=[customer, *people],
    )
    facts.annotations.update(
        str(e.data.get("kind") or "other") for e in events if e.data.get("step") == "annotation"
    )
    facts.actions.update(ActionRequest.objects.filter(session=session).values_list("state", flat=True))
    window_end = end + timedelta(minutes=1)
    notes = TicketComment.objects.filter(
        ticket_id=session.ticket_id,
        is_internal=True,
        body__startswith=NOTE_PREFIX,
        created_at__gte=session.consented_at or start,
        created_at__lte=window_end,
    ).order_by("created_at")
    facts.notes = [n.body.removeprefix(NOTE_PREFIX) for n in notes]
    recording = Recording.objects.filter(session=session).first()
    if recording is not None:
        facts.recording_url = reverse("recordings:detail", args=[recording.pk])
    return facts


def _minutes(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def render(session: CoBrowseSession, facts: SessionFacts, outcome_lines: list[str]) -> str:
    """Plain text (comments are plain text): one fact per line, outcome first."""
    lines = [f"Co-browse session #{session.pk} summary", *outcome_lines]
    lines.append(f"Duration: {_minutes(facts.duration)}")
    if facts.modes:
        lines.append("Modes: " + "; ".join(f"{label} {_minutes(t)}" for label, t in facts.modes))
    lines.append("Took part: " + ", ".join(facts.people))
    if facts.annotations:
        lines.append(
            "Guidance: "
            + ", ".join(f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in sorted(facts.annotations.items()))
        )
    else:
        lines.append("Guidance: none")
    approved, denied = facts.actions.get("approved", 0), facts.actions.get("denied", 0)
    other = sum(n for state, n in facts.actions.items() if state not in ("approved", "denied"))
    actions = f"Actions: {approved} approved, {denied} denied"
    lines.append(actions + (f", {other} not answered" if other else ""))
    if facts.notes:
        lines.append("Notes:")
        lines.extend(f"- {note}" for note in facts.notes)
    lines.append(f"Recording: {facts.recording_url}" if facts.recording_url else "Recording: none")
    return "\n".join(lines)
