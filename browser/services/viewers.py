"""Admission to the viewer socket of a server-side browser session, and what each viewer may do.

Staff are known by their Django session (the agent, or a manager as a viewer); the customer by a
tab grant. Admitting a viewer also makes sure the session's runner is running.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from browser.services.control import control_state, input_refusal, needs_approval
from browser.services.lifecycle import ensure_runner
from cobrowse import services as session_services
from cobrowse.models import SHARING_STATES, CoBrowseSession, ParticipantRole, SessionKind
from live.services import LiveRefused

if TYPE_CHECKING:
    from accounts.models import User


@dataclass(frozen=True)
class ViewerAdmission:
    session_id: int
    role: str  # agent, viewer or customer
    participant_id: int | None
    state: str
    mode: str
    input_refusal: str


def _browser_session(session_id: int) -> CoBrowseSession:
    from live.services import LiveRefused

    session = CoBrowseSession.objects.select_related("ticket").filter(pk=session_id).first()
    if session is None or session.kind != SessionKind.BROWSER:
        raise LiveRefused(4404, "No such browser session.")
    return session


def admit_staff(session_id: int, user: User) -> ViewerAdmission:
    """The session's agent or a manager (as a viewer, within the viewer limit); starts the runner."""
    from live import services as live

    _browser_session(session_id)
    _live, participant_id, role = live.session_for_staff(session_id, user)
    return _admission(session_id, role, participant_id)


class UnconfirmedViewer(LiveRefused):
    """A link grant on the viewer socket: its owner has not answered the viewer's card yet (4401)."""

    error = "unconfirmed"

    def __init__(self) -> None:
        super().__init__(4401, "Allow on the viewer's card first: this grant only asks.")


def admit_customer(session_id: int, raw_grant: str) -> ViewerAdmission:
    """The customer's viewer page, by a tab grant (the page is on Tandem's own origin).

    A link grant (the consent screen's, whose address anyone could have pasted) is refused with
    :class:`UnconfirmedViewer`: the viewer's card turns it into a tab grant first.
    """
    from consent import grants as consent_grants

    try:
        granted = consent_grants.verify_grant(raw_grant)
    except consent_grants.UnconfirmedGrant:
        raise UnconfirmedViewer from None
    except consent_grants.GrantError as exc:
        raise LiveRefused(4401, str(exc)) from None
    if granted.pk != session_id:
        raise LiveRefused(4403, "The grant is for another session.")
    _browser_session(session_id)
    return _admission(session_id, ParticipantRole.CUSTOMER, None)


def _admission(session_id: int, role: str, participant_id: int | None) -> ViewerAdmission:
    from live.services import LiveRefused

    session = session_services.refresh_state(session_id)
    if session.state not in SHARING_STATES:
        raise LiveRefused(4410, "The session is not live.")
    ensure_runner(session_id)
    return ViewerAdmission(
        session_id=session.pk,
        role=role,
        participant_id=participant_id,
        state=session.state,
        mode=session.mode,
        input_refusal=input_refusal(session, role),
    )


def viewer_control(session_id: int, role: str) -> dict[str, Any]:
    """What a viewer socket needs after a change: state, mode, its input refusal, who holds the browser."""
    session = CoBrowseSession.objects.get(pk=session_id)
    refusal = input_refusal(session, role)
    approval = role == ParticipantRole.AGENT and not refusal and needs_approval(session)
    return {
        "state": session.state,
        "mode": session.mode,
        "input_refusal": refusal,
        "needs_approval": approval,
        **control_state(session_id),
    }
