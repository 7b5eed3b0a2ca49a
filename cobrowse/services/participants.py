"""Who is in a live session: staff and team members joining and leaving (within the viewer cap),
who watches, and who holds control."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction

from accounts import permissions
from accounts.models import User
from audit import services as audit
from cobrowse.groups import agents_group, customer_group, team_viewer_group
from cobrowse.models import (
    LIVE_STATES,
    SHARING_STATES,
    CoBrowseSession,
    Participant,
    ParticipantRole,
    TeamViewer,
    TeamViewerState,
    ViewerInvitation,
)
from cobrowse.services import modes
from cobrowse.services.base import (
    CoBrowseError,
    ViewerLimitReached,
    _now,
    controller_id,
    lock,
    log_event,
    log_step,
    require_sharing,
)
from cobrowse.services.lifecycle import refresh_state
from cobrowse.signals import broadcast_on_commit

# --- participants ------------------------------------------------------------------------------


def _viewer_slots_taken(session: CoBrowseSession) -> int:
    """Who watches besides the agent: staff viewers and members of the customer's team.

    The agent counts towards the cap: "up to three viewers" is the agent plus two others.
    """
    return (
        session.participants.filter(left_at__isnull=True)
        .exclude(user_id=session.agent_id)
        .exclude(role=ParticipantRole.CUSTOMER)
        .count()
    )


def join(session: CoBrowseSession | int, *, user: User, role: str = ParticipantRole.VIEWER) -> Participant:
    """A staff member joins a live session; viewers are capped at COBROWSE_MAX_VIEWERS."""
    if role not in (ParticipantRole.VIEWER, ParticipantRole.AGENT):
        raise CoBrowseError({"role": "Customers join through consent."})
    refresh_state(session)
    with transaction.atomic():
        locked = lock(session)
        if not permissions.can_view_cobrowse_session(user, locked):
            raise PermissionDenied("You may not join this session.")
        if locked.state not in LIVE_STATES:
            raise CoBrowseError("The session has ended.", code="not_live")
        present = locked.participants.filter(user=user, left_at__isnull=True).first()
        if present is not None:
            return present
        if (
            role == ParticipantRole.VIEWER
            and _viewer_slots_taken(locked) >= settings.COBROWSE_MAX_VIEWERS - 1
        ):
            raise ViewerLimitReached
        participant = Participant.objects.create(session=locked, user=user, role=role)
        log_event(locked, "joined", actor=user, role=role)
        announce_participants(locked)
        return participant


def join_team_viewer(team_viewer_id: int) -> Participant:
    """A member of the customer's team opens the watch socket: view only, within the viewer cap."""
    session_id = TeamViewer.objects.values_list("session_id", flat=True).get(pk=team_viewer_id)
    refresh_state(session_id)
    with transaction.atomic():
        locked = lock(session_id)
        viewer = TeamViewer.objects.select_for_update().get(pk=team_viewer_id)
        if locked.state not in SHARING_STATES:
            raise CoBrowseError("The session has ended.", code="not_live")
        if viewer.state != TeamViewerState.ACCEPTED:
            raise PermissionDenied("You no longer have access to this session.")
        present = locked.participants.filter(team_viewer=viewer, left_at__isnull=True).first()
        if present is not None:
            # The same person again — a reconnect before the old socket timed out, a second tab, a
            # forwarded link: the newest socket takes the seat and the older one is closed, so one
            # person is one seat, counted and shown once, and no socket watches unlisted.
            present.left_at = _now()
            present.save(update_fields=["left_at"])
            announce_team_viewer_closed(locked, viewer.pk, reason="superseded", participant_id=present.pk)
            participant = Participant.objects.create(
                session=locked, user=None, role=ParticipantRole.TEAM, team_viewer=viewer
            )
            log_step(locked, "team_viewer_rejoined", team_viewer=viewer.pk)
            return participant
        if _viewer_slots_taken(locked) >= settings.COBROWSE_MAX_VIEWERS - 1:
            raise ViewerLimitReached
        participant = Participant.objects.create(
            session=locked, user=None, role=ParticipantRole.TEAM, team_viewer=viewer
        )
        log_step(locked, "team_viewer_joined", team_viewer=viewer.pk)
        announce_participants(locked)
        return participant


def watching(session: CoBrowseSession) -> list[dict[str, str]]:
    """Everyone watching besides the customer, by name (the badge and the watch page list them).

    Presence: a participant row is open exactly while its socket is (``join`` / ``leave``), so an
    agent who has not opened the console is not listed, and the badge says it waits for them.
    """
    people: list[dict[str, str]] = []
    seen: set[tuple[str, int | None]] = set()
    present = (
        session.participants.filter(left_at__isnull=True)
        .exclude(role=ParticipantRole.CUSTOMER)
        .select_related("user", "team_viewer")
    )
    for participant in present:
        if participant.team_viewer is not None:
            key, name = ("team", participant.team_viewer_id), participant.team_viewer.name
            role = ParticipantRole.TEAM
        elif participant.user is not None:
            key = ("user", participant.user_id)
            name = participant.user.public_name
            role = (
                ParticipantRole.AGENT if participant.user_id == session.agent_id else ParticipantRole.VIEWER
            )
        else:
            continue
        if key not in seen:
            seen.add(key)
            people.append({"name": name, "role": str(role)})
    return people


def announce_participants(session: CoBrowseSession) -> None:
    """After the transaction: the customer's badge and everyone watching learn who watches now."""
    people = watching(session)
    broadcast_on_commit(agents_group(session.pk), {"type": "to.agent.participants", "watching": people})
    broadcast_on_commit(
        customer_group(session.pk),
        {"type": "customer.frame", "msg_type": "participants", "data": {"watching": people}},
    )


def announce_team_viewer_closed(
    session: CoBrowseSession, team_viewer_id: int, *, reason: str, participant_id: int | None = None
) -> None:
    """After the transaction: the team member's watch socket closes (only the socket holding
    ``participant_id`` when given: the others of that person stay)."""
    event: dict[str, Any] = {"type": "team.closed", "reason": reason}
    if participant_id is not None:
        event["participant"] = participant_id
    broadcast_on_commit(team_viewer_group(session.pk, team_viewer_id), event)


def team_viewer_disconnected(participant_id: int) -> None:
    """A team member's watch socket went away (closed tab, lost network); their grant still works."""
    with transaction.atomic():
        session = lock(Participant.objects.values_list("session_id", flat=True).get(pk=participant_id))
        participant = Participant.objects.select_for_update().get(pk=participant_id)
        if participant.left_at is not None:  # removed, left or ended: already written down
            return
        participant.left_at = _now()
        participant.save(update_fields=["left_at"])
        log_step(session, "team_viewer_disconnected", team_viewer=participant.team_viewer_id)
        announce_participants(session)


@transaction.atomic
def invite_viewer(session: CoBrowseSession | int, *, actor: User, user: User) -> ViewerInvitation:
    """Let a colleague (another agent) watch this session; the viewer cap applies when they join."""
    locked = lock(session)
    if not permissions.can_manage_cobrowse_session(actor, locked):
        raise PermissionDenied("Only the session's agent or a manager can invite viewers.")
    if locked.state not in LIVE_STATES:
        raise CoBrowseError("The session has ended.", code="not_live")
    if not permissions.is_support_staff(user) or user.pk == locked.agent_id:
        raise CoBrowseError({"username": "Invite another agent or a manager."})
    invitation, created = ViewerInvitation.objects.get_or_create(
        session=locked, user=user, defaults={"invited_by": actor}
    )
    if created:
        log_event(locked, "viewer_invited", actor=actor, viewer=user.pk)
        audit.record(
            "cobrowse.viewer_invited",
            actor=actor,
            obj=locked,
            details={"session": locked.pk, "viewer": user.pk},
        )
    return invitation


@dataclass(frozen=True)
class HandedOver:
    holder_id: int
    holder_name: str
    mode: str


def hand_over(session: CoBrowseSession | int, *, actor: User, to_user_id: int) -> HandedOver:
    """Give control to another staff participant who is watching and may co-browse themselves.

    In Full Control the session drops to Controlled until Full Control is approved for the new
    holder (a new request, which they or the session's agent make and another manager approves).
    """
    refresh_state(session)
    with transaction.atomic():
        locked = lock(session)
        require_sharing(locked)
        current = controller_id(locked)
        if actor.pk != current and not permissions.is_manager(actor):
            raise PermissionDenied("Only the participant holding control (or a manager) can hand it over.")
        target = (
            locked.participants.filter(user_id=to_user_id, left_at__isnull=True)
            .exclude(role__in=[ParticipantRole.CUSTOMER, ParticipantRole.TEAM])
            .first()
        )
        if target is None:
            raise CoBrowseError("That person is not watching this session.", code="not_watching")
        target_user = User.objects.get(pk=to_user_id)
        if not permissions.can_start_cobrowse(target_user):
            raise PermissionDenied(
                "They cannot take control: control needs co-browse rights "
                "(L2 or above, a certified L1, or a manager)."
            )
        if to_user_id != current:
            locked.participants.filter(holds_control=True).update(holds_control=False)
            target.holds_control = True
            target.save(update_fields=["holds_control"])
            log_event(locked, "control_handed_over", actor=actor, internal=True, to=to_user_id)
            audit.record(
                "cobrowse.control_handed_over",
                actor=actor,
                obj=locked,
                details={"session": locked.pk, "from": current, "to": to_user_id},
            )
            modes.control_moved(locked, actor=actor, to_user_id=to_user_id, by="handover")
        return HandedOver(to_user_id, target_user.public_name, locked.mode)


def leave(participant: Participant | int) -> Participant:
    pk = participant if isinstance(participant, int) else participant.pk
    with transaction.atomic():
        session_id = Participant.objects.values_list("session_id", flat=True).get(pk=pk)
        session = lock(session_id)
        locked = Participant.objects.select_for_update().get(pk=pk)
        if locked.left_at is None:
            before = controller_id(session)
            locked.left_at = _now()
            locked.holds_control = False
            locked.save(update_fields=["left_at", "holds_control"])
            after = controller_id(session)
            if after != before and locked.role != ParticipantRole.CUSTOMER:
                # Control falls back to the session's agent: nobody approved Full Control for them.
                modes.control_moved(session, actor=None, to_user_id=after, by="holder_left")
            announce_participants(session)
        return locked
