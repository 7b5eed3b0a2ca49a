"""Recording how a session ended for the customer, and what that does to its ticket."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts import permissions
from accounts.models import User
from cobrowse import services as session_services
from cobrowse.models import CoBrowseSession, SessionState
from outcomes import summary
from outcomes.models import Outcome, SessionOutcome
from tickets import services as ticket_services
from tickets.models import EscalationLevel, Status, Team

#: Sessions whose customer shared a page: they have something to record an outcome of.
ENDED_STATES = frozenset({SessionState.ENDED, SessionState.REVOKED, SessionState.TIMED_OUT})


def can_record(user: User, session: CoBrowseSession) -> bool:
    """The session's agent, or a manager."""
    return permissions.can_manage_cobrowse_session(user, session)


def is_over(session: CoBrowseSession) -> bool:
    """The customer shared a page and the session has ended: it has an outcome and a survey."""
    return session.state in ENDED_STATES and session.started_at is not None


@transaction.atomic
def record_outcome(
    session: CoBrowseSession,
    *,
    actor: User,
    outcome: str,
    note: str = "",
    next_step: str = "",
    owner: User | None = None,
    level: str = "",
    team: Team | None = None,
) -> SessionOutcome:
    """Record the outcome, post the summary to the ticket as an internal note, and move the ticket:
    resolved → resolved; follow-up → assigned to the owner of the next step; escalated → that
    level's queue (and team). One outcome per session."""
    locked = CoBrowseSession.objects.select_for_update().get(pk=session.pk)
    if not can_record(actor, locked):
        raise PermissionDenied("Only the session's agent or a manager records its outcome.")
    if not is_over(locked):
        raise ValidationError("Record the outcome once the session has ended.", code="not_ended")
    if SessionOutcome.objects.filter(session=locked).exists():
        raise ValidationError("This session's outcome is already recorded.", code="outcome_exists")
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": f"Choose one of {', '.join(Outcome.values)}."})
    note, next_step = (note or "").strip(), (next_step or "").strip()
    errors: dict[str, str] = {}
    if outcome == Outcome.FOLLOW_UP:
        if not next_step:
            errors["next_step"] = "Say what happens next."
        if owner is None or not permissions.is_support_staff(owner):
            errors["owner"] = "Choose who owns the next step (an agent or a manager)."
    if outcome == Outcome.ESCALATED and level not in (EscalationLevel.L2, EscalationLevel.L3):
        errors["level"] = "Choose the level it goes to (L2 or L3)."
    if errors:
        raise ValidationError(errors)
    ticket = locked.ticket
    if ticket.status == Status.CLOSED:
        raise ValidationError("The ticket is closed.", code="ticket_closed")

    lines = [f"Outcome: {Outcome(outcome).label}"]
    if outcome == Outcome.FOLLOW_UP and owner is not None:
        lines.append(f"Next step: {next_step} (owner: {owner.display_name})")
    if outcome == Outcome.ESCALATED:
        lines.append(f"Escalated to: {EscalationLevel(level).label}" + (f", {team.name}" if team else ""))
    if note:
        lines.append(f"Resolution note: {note}")
    text = summary.render(locked, summary.session_facts(locked), lines)
    comment = ticket_services.add_comment(ticket, author=actor, body=text, internal=True)
    record = SessionOutcome.objects.create(
        session=locked,
        outcome=outcome,
        note=note,
        next_step=next_step if outcome == Outcome.FOLLOW_UP else "",
        follow_up_owner=owner if outcome == Outcome.FOLLOW_UP else None,
        escalated_to=level if outcome == Outcome.ESCALATED else "",
        escalated_team=team if outcome == Outcome.ESCALATED else None,
        summary=text,
        summary_comment=comment,
        recorded_by=actor,
    )
    ticket.refresh_from_db()
    if outcome == Outcome.RESOLVED and ticket.status != Status.RESOLVED:
        ticket_services.change_status(ticket, actor=actor, status=Status.RESOLVED)
    elif outcome == Outcome.FOLLOW_UP and owner is not None:
        ticket_services.assign(ticket, actor=actor, assignee=owner)
    elif outcome == Outcome.ESCALATED:
        already = (ticket.escalation_level, ticket.team_id) == (level, team.pk if team else None)
        if not already:
            ticket_services.escalate(ticket, actor=actor, level=level, team=team)
    session_services.log_event(locked, "outcome_recorded", actor=actor, outcome=outcome)
    return record
