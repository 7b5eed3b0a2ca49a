"""Services behind the live sockets: who may connect, what the customer's page is told, and the
bookkeeping that survives a reconnect (last sequence number per page, kept in the cache).

The consumers stay thin: they parse, ask :mod:`cobrowse.policy`, and call these functions.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied

from accounts import permissions
from cobrowse import policy
from cobrowse import services as session_services
from cobrowse.models import SHARING_STATES, CoBrowseSession, ParticipantRole, SessionKind
from consent import answers
from consent import grants as consent_grants
from consent import team as consent_team

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User
    from cobrowse.models import Participant

#: A staff socket's seat, as the admission re-check asks about it: (session, user, participant).
StaffSeat = tuple[int, int, int]

logger = logging.getLogger(__name__)

_SEQ_TTL = 6 * 3600


class LiveRefused(Exception):
    """A socket that may not join; ``code`` is the WebSocket close code."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class LiveSession:
    """What a consumer keeps about its session between messages (no ORM objects across awaits)."""

    id: int
    agent_id: int
    agent_name: str
    mode: str
    state: str
    recording: bool
    selectors: tuple[str, ...]
    allowed_origins: frozenset[str]
    controller_id: int | None = None
    controller_name: str = ""
    #: Everyone watching besides the customer: ({"name", "role"}, ...), role agent/viewer/team.
    watching: tuple[dict[str, str], ...] = ()
    #: The maximum duration's end (epoch seconds) as last read; an extension moves it in the
    #: database only, so a socket that finds it passed re-reads the session (:func:`enforce_timers`).
    deadline_ts: float | None = None

    def past_deadline(self) -> bool:
        """Checked on every frame at no cost: past it, the socket asks the database before acting."""
        return self.deadline_ts is not None and time.time() >= self.deadline_ts


def usable_selectors(selectors: Iterable[str] | None) -> tuple[str, ...]:
    """The account's selectors that the server redactor understands; the rest are skipped and logged.

    Accounts are validated when saved; this guards against rows written some other way, so that one
    bad selector never stops a session (the widget masks with the full list in the browser).
    """
    from cobrowse.masking import parse_selectors

    usable = []
    for selector in selectors or ():
        try:
            parse_selectors([selector])
        except ValueError:
            logger.warning("skipping a redaction selector the server cannot parse")
            continue
        usable.append(selector)
    return tuple(usable)


def _snapshot(session: CoBrowseSession) -> LiveSession:
    return _snapshot_with_holder(session)[0]


def _snapshot_with_holder(session: CoBrowseSession) -> tuple[LiveSession, User | None]:
    """The snapshot and the user holding control (already loaded for their name: no extra query)."""
    account = session.ticket.account
    allowed = (account.allowed_origins if account else None) or []
    origins = {policy.origin_of(o) or o.rstrip("/").lower() for o in allowed}
    if session.target_url:
        origins.add(policy.origin_of(session.target_url))
    controller = session_services.controller_id(session)
    holder = _user(session, controller)
    snapshot = LiveSession(
        id=session.pk,
        agent_id=session.agent_id,
        agent_name=_display_name(session, session.agent_id),
        mode=session.mode,
        state=session.state,
        recording=session.recording,
        selectors=usable_selectors(account.masking_selectors) if account else (),
        allowed_origins=frozenset(o for o in origins if o),
        controller_id=controller,
        controller_name=holder.public_name if holder else "",
        watching=tuple(session_services.watching(session)),
        deadline_ts=session.deadline_at.timestamp() if session.deadline_at else None,
    )
    return snapshot, holder


def _user(session: CoBrowseSession, user_id: int | None) -> User | None:
    from accounts.models import User

    if user_id == session.agent_id:
        return session.agent
    return User.objects.filter(pk=user_id).first() if user_id else None


def _display_name(session: CoBrowseSession, user_id: int) -> str:
    user = _user(session, user_id)
    return user.public_name if user else ""


def _load(session_id: int) -> CoBrowseSession:
    try:
        return CoBrowseSession.objects.select_related("ticket__account", "agent", "customer").get(
            pk=session_id
        )
    except CoBrowseSession.DoesNotExist:
        raise LiveRefused(4404, "No such session.") from None


def session_for_customer(session_id: int, raw_grant: str, origin: str) -> LiveSession:
    """Authenticate the customer's page: the grant must belong to this session, from an allowed origin."""
    try:
        session = consent_grants.verify_grant(raw_grant)
    except consent_grants.GrantError as exc:
        raise LiveRefused(4401, str(exc)) from None
    if session.pk != session_id:
        raise LiveRefused(4403, "The grant is for another session.")
    if session.kind != SessionKind.DOM:
        # A server-side browser session's page is Tandem's viewer: no customer page shares it.
        raise LiveRefused(4403, "This session is not shared from a page.")
    session = _load(session_id)
    live = _snapshot(session)
    if origin.rstrip("/").lower() not in live.allowed_origins:
        raise LiveRefused(4403, "This page's origin is not allowed for the session.")
    return live


def customer_connected(session_id: int) -> LiveSession:
    session = session_services.mark_active(session_id)
    return _snapshot(_load(session.pk))


def customer_disconnected(session_id: int) -> None:
    session = session_services.refresh_state(session_id)
    if session.state in SHARING_STATES:
        session_services.mark_reconnecting(session.pk)


def customer_moved_tab(session_id: int) -> None:
    """The customer shares another tab of their browser instead: one line in the activity."""
    log_activity(session_id, None, "seat_moved")


@contextlib.contextmanager
def _admission() -> Iterator[None]:
    """Joining a session's seats (staff or team member): refusals as socket close codes."""
    try:
        yield
    except session_services.ViewerLimitReached:
        raise LiveRefused(4409, "This session already has the maximum number of viewers.") from None
    except session_services.CoBrowseError as exc:
        raise LiveRefused(4410, "; ".join(exc.messages)) from None
    except PermissionDenied as exc:
        raise LiveRefused(4403, str(exc)) from None


def session_for_staff(session_id: int, user: User | AnonymousUser | None) -> tuple[LiveSession, int, str]:
    """Admit an agent or viewer: returns the session, the participant id and the role."""
    if not (user and user.is_authenticated):
        raise LiveRefused(4401, "Sign in first.")
    session = _load(session_id)
    if not permissions.can_view_cobrowse_session(user, session):
        raise LiveRefused(4403, "You may not view this session.")
    role = ParticipantRole.AGENT if session.agent_id == user.pk else ParticipantRole.VIEWER
    with _admission():
        participant = session_services.join(session, user=user, role=role)
    return _snapshot(_load(session_id)), participant.pk, role


def staff_left(participant_id: int) -> None:
    session_services.leave(participant_id)


# --- members of the customer's team (view only, by viewer grant) ---------------------------------


@dataclass(frozen=True)
class TeamSeat:
    """A team member admitted to the watch socket."""

    session: LiveSession
    participant_id: int
    team_viewer_id: int
    name: str
    customer_name: str


def session_for_team(session_id: int, raw_grant: str) -> TeamSeat:
    """Admit a member of the customer's team: a live viewer grant for this session, within the cap."""
    try:
        viewer = consent_team.verify_viewer_grant(raw_grant)
    except consent_grants.GrantError as exc:
        raise LiveRefused(4401, str(exc)) from None
    if viewer.session_id != session_id:
        raise LiveRefused(4403, "The grant is for another session.")
    with _admission():
        participant = session_services.join_team_viewer(viewer.pk)
    session = _load(session_id)
    return TeamSeat(
        _snapshot(session), participant.pk, viewer.pk, viewer.name, consent_team.customer_name(session)
    )


def team_still_admitted(participant_id: int) -> bool:
    """Re-checked once the socket has joined its groups, so a removal in between is not missed."""
    from cobrowse.models import Participant, TeamViewerState

    return Participant.objects.filter(
        pk=participant_id,
        left_at__isnull=True,
        team_viewer__state=TeamViewerState.ACCEPTED,
        session__state__in=SHARING_STATES,
    ).exists()


def admissions(staff: Sequence[StaffSeat], team: Sequence[int]) -> tuple[list[tuple[str, int]], list[str]]:
    """The periodic re-check of every staff and team socket of a process, in a few queries.

    ``staff``: (session, user, participant) of each staff socket; the answer for each is (``""`` or
    why not, the participant id to keep). ``team``: the participant id of each team member's watch
    socket; the answer for each is ``""`` or why not (:func:`consent.team.team_admissions`).
    """
    from cobrowse.models import Participant

    seats = Participant.objects.select_related("session", "user").in_bulk([seat[2] for seat in staff])
    staff_answers = [_staff_admission(seats.get(pid), sid, uid, pid) for sid, uid, pid in staff]
    team_answers = consent_team.team_admissions(team) if team else {}
    return staff_answers, [team_answers[pid] for pid in team]


def _staff_admission(
    seat: Participant | None, session_id: int, user_id: int, participant_id: int
) -> tuple[str, int]:
    """A staff member is admitted while the session is live and ``accounts.permissions`` still lets
    them view it (an invitation withdrawn, an account deactivated or demoted: refused). One person
    is one seat shared by their tabs; when another tab's close cleared that seat, this socket takes
    it again (within the viewer cap) instead of watching unlisted.
    """
    from cobrowse.models import LIVE_STATES

    if seat is None or seat.session_id != session_id or seat.session.state not in LIVE_STATES:
        return "ended", participant_id
    session, user = seat.session, seat.user
    if user is None or user.pk != user_id or not permissions.can_view_cobrowse_session(user, session):
        return "removed", participant_id
    if seat.left_at is None:
        return "", participant_id
    role = ParticipantRole.AGENT if session.agent_id == user_id else ParticipantRole.VIEWER
    try:
        with _admission():
            participant = session_services.join(session_id, user=user, role=role)
    except LiveRefused as exc:
        return ("viewer_limit" if exc.code == 4409 else "removed"), participant_id
    return "", participant.pk


def team_left(participant_id: int) -> None:
    session_services.team_viewer_disconnected(participant_id)


def current(session_id: int) -> LiveSession:
    return _snapshot(_load(session_id))


def current_with_holder(session_id: int) -> tuple[LiveSession, User | None]:
    """The session as now, and the user holding control (whose rights guidance and actions need).

    A timer that ran out (maximum, inactivity) is applied first: with the beat stopped, an agent's
    action on an overdue session ends it instead of reaching the page.
    """
    session = _load(session_id)
    if session_services.overdue_reason(session) is not None:
        session_services.refresh_state(session_id)
        session = _load(session_id)
    return _snapshot_with_holder(session)


def enforce_timers(session_id: int) -> LiveSession:
    """Apply any timer that ran out and re-read the session (no activity recorded: a staff frame)."""
    session_services.refresh_state(session_id)
    return _snapshot(_load(session_id))


def record_activity(session_id: int) -> bool:
    """The customer's page is active; False once the session no longer shares (a timer ran out)."""
    return session_services.record_activity(session_id)


def touch(session_id: int) -> LiveSession:
    """Record activity (inactivity timer) and re-read state, ending an overdue session on the way."""
    session = session_services.touch(session_id)
    return _snapshot(_load(session.pk))


# --- customer decisions and agent notes ----------------------------------------------------------


def request_pk(request_id: str, kind: str) -> int | None:
    """The primary key in a request id ``<kind>:<pk>`` the server issued; ``None`` for anything else.

    ``str.isdigit`` alone also accepts digits ``int`` cannot read (``²``) and numbers past any key
    (which the database answers with an error): an id from a page is checked before it is used.
    """
    prefix, _, pk = request_id.partition(":")
    if prefix != kind or not (pk.isascii() and pk.isdigit()) or len(pk) > 18:
        return None
    return int(pk)


def decide_for_customer(session_id: int, request_id: str, approved: bool) -> None:
    """Record the customer's answer to a mode or action request of *this* session.

    ``request_id`` is ``mode:<pk>`` or ``action:<pk>``; a request of another session is unknown here.
    """
    from cobrowse.models import ActionRequest, ModeRequest

    mode_pk, action_pk = request_pk(request_id, "mode"), request_pk(request_id, "action")
    if mode_pk is not None and ModeRequest.objects.filter(pk=mode_pk, session_id=session_id).exists():
        answers.respond_to_mode_request(mode_pk, accept=approved)
    elif action_pk is not None and ActionRequest.objects.filter(pk=action_pk, session_id=session_id).exists():
        decided = session_services.decide_action(action_pk, approve=approved)
        # The activity (and a recording's timeline) shows the answer, not only the request.
        log_activity(session_id, None, f"action_{decided.state}", action=decided.action, request=decided.pk)
    else:
        raise LiveRefused(4400, "Unknown request id.")


def action_result(session_id: int, request_id: str, ok: bool) -> None:
    """The customer's page reports an approved action done (or not): one line in the activity.

    Only for a request of this session that the customer approved; anything else the page says
    (a refusal it reported before asking, an unknown id) adds nothing. Full Control's actions are
    logged when sent.
    """
    from cobrowse.models import ActionRequest, ActionRequestState

    pk = request_pk(request_id, "action")
    if pk is None:
        return
    request = ActionRequest.objects.filter(
        pk=pk, session_id=session_id, state=ActionRequestState.APPROVED
    ).first()
    if request is None:
        return
    step = "action_performed" if ok else "action_failed"
    log_activity(session_id, None, step, action=request.action, request=request.pk)


def add_note(session_id: int, user: User, text: str) -> None:
    """A note taken during the session goes on the ticket as an internal note."""
    from tickets import services as ticket_services

    session = _load(session_id)
    ticket_services.add_comment(
        session.ticket, author=user, body=f"Co-browse note: {text.strip()}", internal=True
    )


# --- control, actions and the activity feed ------------------------------------------------------


def controller_id(session_id: int) -> int:
    return session_services.controller_id(_load(session_id))


def hand_over(session_id: int, actor: User, to_user_id: int) -> session_services.HandedOver:
    """Give control to another participant who is watching (see ``services.hand_over``)."""
    try:
        return session_services.hand_over(session_id, actor=actor, to_user_id=to_user_id)
    except PermissionDenied as exc:
        raise LiveRefused(4403, str(exc)) from None
    except session_services.CoBrowseError as exc:
        raise LiveRefused(4400, "; ".join(exc.messages)) from None


def request_action(session_id: int, user_id: int, action: dict[str, Any]) -> int | None:
    """Ask the service for one action (already enriched with what the server knows of the node).

    Returns the ActionRequest id to put to the customer (``controlled``), or None (``full``).
    """
    from accounts.models import User

    actor = User.objects.get(pk=user_id)
    if controller_id(session_id) != user_id:
        raise LiveRefused(4403, "Another participant holds control.")
    request = session_services.request_action(session_id, actor=actor, action=action)
    return request.pk if request is not None else None


def log_activity(session_id: int, actor: User | int | None, step: str, **data: Any) -> None:
    """One line in the session's activity (ticket events, staff only) and in the audit trail.

    ``actor``: a user, a user id (what a socket keeps) or None (the customer's page).
    """
    session_services.log_step(_load(session_id), step, actor=actor, internal=True, **data)
