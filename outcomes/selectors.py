"""Reads of session outcomes."""

from __future__ import annotations

from typing import Any

from accounts import permissions
from cobrowse.models import CoBrowseSession
from outcomes.models import SessionOutcome
from tickets.models import Ticket


def ticket_outcomes(ticket: Ticket, reader: Any) -> list[dict[str, Any]] | None:
    """The ticket API's ``cobrowse_outcomes``: support staff only (the summary is an internal note)."""
    if not permissions.is_support_staff(reader):
        return None
    rows = SessionOutcome.objects.filter(session__ticket=ticket).select_related("escalated_team")
    return [
        {
            "session": row.session_id,
            "outcome": row.outcome,
            "note": row.note,
            "next_step": row.next_step,
            "follow_up_owner": row.follow_up_owner_id,
            "escalated_to": row.escalated_to,
            "escalated_team": row.escalated_team.name if row.escalated_team else None,
            "summary": row.summary,
            "recorded_at": row.recorded_at.isoformat(),
        }
        for row in rows.order_by("recorded_at")
    ]


def shared_a_session(ticket: Ticket) -> bool:
    """The requester shared a page in a session of this ticket, so its survey asked about the help."""
    return CoBrowseSession.objects.filter(ticket=ticket, started_at__isnull=False).exists()
