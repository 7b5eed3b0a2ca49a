"""Members of the customer's team watching a session.

The sharing customer lets a colleague watch (view only). The colleague gets their own one-time
link (``/w/<token>/``), decides for themselves on a consent screen, and on Join gets a
short-lived viewer grant for the watch page (``/watch/<session>/``) and its socket. A viewer
grant is a different table from the customer's session grant, so it can never open the
customer's socket.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit import services as audit
from cobrowse import services as cobrowse_services
from cobrowse.models import (
    SHARING_STATES,
    TEAM_VIEWER_OPEN,
    CoBrowseSession,
    ControlMode,
    Participant,
    SessionKind,
    TeamViewer,
    TeamViewerState,
)
from consent import delivery
from consent.grants import GrantError, check_grant_current, extend_grant, grant_row
from consent.models import (
    ConsentKind,
    ConsentRecord,
    Decision,
    DeliveryChannel,
    TeamViewerInvite,
    ViewerGrant,
)
from consent.records import ClientInfo, record_consent
from consent.services import InviteGone, by_token, claim_once, link_usable
from consent.tokens import hash_token, new_token

#: The team member's address is all we know: e-mail, or the customer copies the link to them.
TEAM_CHANNELS: tuple[str, ...] = (DeliveryChannel.EMAIL, DeliveryChannel.COPY)
VIEWER_GRANT_TTL_SECONDS = 5 * 60
MAX_TEAM_NAME = 100


def watch_path(raw_token: str) -> str:
    return f"/w/{raw_token}/"


def watch_url(raw_token: str) -> str:
    base: str = settings.TANDEM_BASE_URL
    return base.rstrip("/") + watch_path(raw_token)


def customer_name(session: CoBrowseSession) -> str:
    customer = session.customer or session.ticket.requester
    return customer.display_name if customer else "The customer"


def team_viewer_prompt(session: CoBrowseSession, name: str, email: str) -> str:
    """What the sharing customer agrees to by inviting someone; stored with the consent record."""
    return (
        f"{name} ({email}) may watch your screen share with agent {session.agent.public_name} on ticket "
        f"{session.ticket.reference}. They see exactly what the agent sees — never passwords, payment "
        "details or one-time codes — and can only watch: they can never click, type or take control. "
        "Everyone in the session sees that they are watching. You can remove them at any time."
    )


def watch_prompt(team_viewer: TeamViewer) -> str:
    """The exact words on the team member's own consent screen."""
    session = team_viewer.session
    customer = customer_name(session)
    text = (
        f"{customer} is sharing their screen with {session.agent.public_name} from support "
        f"(ticket {session.ticket.reference}) and invited you to watch. You will see {customer}'s page "
        "live, with passwords, payment details and one-time codes hidden. You can only watch: you "
        f"cannot click, type or take control. Everyone in the session — {customer}, the agent and "
        "anyone else watching — sees your name while you watch. You can leave at any time."
    )
    if session.recording:
        text += " The session is being recorded."
    return text


def _clean_team_member(name: str, email: str) -> tuple[str, str]:
    from django.core.validators import validate_email

    name = " ".join(str(name or "").split())
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Enter their name."
    elif len(name) > MAX_TEAM_NAME or any(ord(c) < 32 or c in "<>" for c in name):
        errors["name"] = f"Enter a plain name of at most {MAX_TEAM_NAME} characters."
    email = str(email or "").strip()
    try:
        if len(email) > 254:
            raise ValidationError("too long")
        validate_email(email)
    except ValidationError:
        errors["email"] = "Enter a valid e-mail address."
    if errors:
        raise cobrowse_services.CoBrowseError(errors)
    local, _, domain = email.rpartition("@")
    return name, f"{local}@{domain.lower()}"


@dataclass(frozen=True)
class TeamInvite:
    team_viewer: TeamViewer
    #: The link, for the customer to pass on themselves (the copy channel only; '' otherwise).
    link: str = ""


def invite_team_viewer(
    session: CoBrowseSession | int,
    *,
    name: str,
    email: str,
    channel: str = DeliveryChannel.EMAIL,
    customer: User | None = None,
    client: ClientInfo | None = None,
) -> TeamInvite:
    """The sharing customer lets a member of their own team watch; a one-time link goes to them.

    Why the customer invites, rather than the agent proposing and the customer approving: the
    screen is theirs, so the decision starts with them and nobody on the support side can cause a
    link to reach someone the customer did not name; the customer also knows their colleague's
    address, which the agent usually does not. Inviting *is* the approval: a ``team_viewer``
    consent record naming the person, withdrawn at any time with :func:`remove_team_viewer`.
    The caller has authenticated the customer (logged in, or the browser that gave consent).
    """
    name, email = _clean_team_member(name, email)
    if channel not in TEAM_CHANNELS:
        raise cobrowse_services.CoBrowseError({"channel": "Send the link by e-mail, or copy it."})
    cobrowse_services.refresh_state(session)
    return _invite_team_viewer(
        session, name=name, email=email, channel=channel, customer=customer, client=client
    )


@transaction.atomic
def _invite_team_viewer(
    session: CoBrowseSession | int,
    *,
    name: str,
    email: str,
    channel: str,
    customer: User | None,
    client: ClientInfo | None,
) -> TeamInvite:
    locked = cobrowse_services.lock(session)
    if locked.state not in SHARING_STATES:
        raise cobrowse_services.CoBrowseError("You are not sharing your screen any more.", code="not_live")
    if locked.kind != SessionKind.DOM:
        raise cobrowse_services.CoBrowseError(
            "Only a page shared from your own browser can be watched by your team.", code="not_supported"
        )
    open_viewers = TeamViewer.objects.filter(session=locked, state__in=TEAM_VIEWER_OPEN)
    if open_viewers.filter(email__iexact=email).exists():
        raise cobrowse_services.CoBrowseError({"email": "This person is already invited."})
    if open_viewers.count() >= settings.COBROWSE_MAX_VIEWERS - 1:
        raise cobrowse_services.CoBrowseError(
            "At most two more people can watch, and you have invited two already.", code="viewer_limit"
        )
    actor = customer if getattr(customer, "is_authenticated", False) else None
    viewer = TeamViewer.objects.create(session=locked, name=name, email=email, invited_by=actor)
    record = record_consent(
        locked,
        kind=ConsentKind.TEAM_VIEWER,
        decision=Decision.GRANTED,
        prompt_text=team_viewer_prompt(locked, name, email),
        mode=ControlMode.VIEW_ONLY,
        customer=customer,
        client=client,
        team_viewer=viewer,
    )
    cobrowse_services.log_step(
        locked, "team_viewer_approved", actor=actor, team_viewer=viewer.pk, consent=record.pk
    )
    raw = _issue_watch_link(viewer, locked, channel=channel)
    cobrowse_services.log_step(
        locked, "team_viewer_invited", actor=actor, team_viewer=viewer.pk, channel=channel
    )
    return TeamInvite(team_viewer=viewer, link=watch_url(raw) if channel == DeliveryChannel.COPY else "")


def _issue_watch_link(viewer: TeamViewer, session: CoBrowseSession, *, channel: str) -> str:
    """A fresh one-time link for a team member (earlier ones stop working); inside the transaction."""
    now = timezone.now()
    TeamViewerInvite.objects.filter(
        team_viewer=viewer, used_at__isnull=True, invalidated_at__isnull=True
    ).update(invalidated_at=now)
    raw = new_token()
    TeamViewerInvite.objects.create(
        team_viewer=viewer,
        token_hash=hash_token(raw),
        channel=channel,
        expires_at=now + timedelta(seconds=settings.COBROWSE_INVITE_TTL_SECONDS),
    )
    message = delivery.WatchInviteMessage(
        channel=channel,
        session_id=session.pk,
        ticket_reference=session.ticket.reference,
        agent_name=session.agent.public_name,
        link=watch_url(raw),
        recipient_email=viewer.email,
        customer_name=customer_name(session),
    )
    transaction.on_commit(lambda: delivery.deliver(message))
    return raw


def _watch_link_for(raw_token: str) -> TeamViewerInvite:
    return by_token(
        TeamViewerInvite.objects.select_related(
            "team_viewer__session__ticket__requester",
            "team_viewer__session__agent",
            "team_viewer__session__customer",
        ),
        raw_token,
    )


def watch_link_session_id(raw_token: str) -> int:
    """The session a team member's link belongs to, whatever its state (404 if none)."""
    return _watch_link_for(raw_token).team_viewer.session_id


def open_watch_link(raw_token: str) -> TeamViewerInvite:
    """The link behind ``/w/<token>/`` while it can still be decided on; claims nothing.

    404 unknown, 410 used, replaced or expired. Opening (a GET, a mail scanner's preview) must not
    use the link up: the claim happens with Join or Decline (:func:`decide_watch`).
    """
    link = _watch_link_for(raw_token)
    session = cobrowse_services.refresh_state(link.team_viewer.session_id)
    viewer_waiting = link.team_viewer.state in (TeamViewerState.INVITED, TeamViewerState.OPENED)
    if session.state not in SHARING_STATES or not viewer_waiting or not link_usable(link):
        raise InviteGone(session.pk)
    return link


def claim_watch_link(raw_token: str) -> TeamViewerInvite:
    """The link, ready for :func:`decide_watch` (which claims it, in the decision's transaction)."""
    return open_watch_link(raw_token)


@dataclass(frozen=True)
class WatchOutcome:
    team_viewer: TeamViewer
    record: ConsentRecord
    grant: str = ""

    @property
    def redirect_url(self) -> str:
        """The watch page, with the grant in the fragment (never sent to a server or a log)."""
        return f"/watch/{self.team_viewer.session_id}/#tandem={self.grant}" if self.grant else ""


def decide_watch(link: TeamViewerInvite, *, join: bool, client: ClientInfo | None = None) -> WatchOutcome:
    """The team member's own answer on their consent screen: Join (a viewer grant) or Decline.

    The link is claimed here (one conditional UPDATE) in the same transaction as the decision, so
    of two browsers that opened it only the first to decide wins; the other gets 410.
    """
    cobrowse_services.refresh_state(link.team_viewer.session_id)
    with transaction.atomic():
        session = cobrowse_services.lock(link.team_viewer.session_id)
        viewer = TeamViewer.objects.select_for_update().get(pk=link.team_viewer_id)
        link.refresh_from_db()
        if not link_usable(link) or session.state not in SHARING_STATES:
            raise InviteGone(session.pk)
        if viewer.state not in (TeamViewerState.INVITED, TeamViewerState.OPENED):
            raise InviteGone(session.pk)
        claim_once(TeamViewerInvite, link.pk)
        if viewer.state == TeamViewerState.INVITED:
            cobrowse_services.log_step(session, "team_viewer_opened", team_viewer=viewer.pk)
        record = record_consent(
            session,
            kind=ConsentKind.VIEWER_JOIN,
            decision=Decision.GRANTED if join else Decision.DENIED,
            prompt_text=watch_prompt(viewer),
            mode=ControlMode.VIEW_ONLY if join else "",
            client=client,
            team_viewer=viewer,
        )
        viewer.state = TeamViewerState.ACCEPTED if join else TeamViewerState.DECLINED
        viewer.decided_at = timezone.now()
        fields = ["state", "decided_at"]
        if not join:
            viewer.closed_at = viewer.decided_at
            fields.append("closed_at")
        viewer.save(update_fields=fields)
        step = "team_viewer_accepted" if join else "team_viewer_declined"
        cobrowse_services.log_step(session, step, team_viewer=viewer.pk, consent=record.pk)
        grant = _issue_viewer_grant(viewer) if join else ""
        return WatchOutcome(team_viewer=viewer, record=record, grant=grant)


def _issue_viewer_grant(viewer: TeamViewer) -> str:
    raw = new_token()
    grant = ViewerGrant.objects.create(
        team_viewer=viewer,
        token_hash=hash_token(raw),
        expires_at=timezone.now() + timedelta(seconds=VIEWER_GRANT_TTL_SECONDS),
    )
    audit.record(
        "consent.viewer_grant_issued",
        obj=viewer.session,
        details={"session": viewer.session_id, "team_viewer": viewer.pk, "grant": grant.pk},
    )
    return raw


def _viewer_grant_for(raw_grant: str) -> ViewerGrant:
    return grant_row(
        ViewerGrant.objects.select_related("team_viewer__session__ticket", "team_viewer__session__agent"),
        raw_grant,
    )


def verify_viewer_grant(raw_grant: str) -> TeamViewer:
    """The team member a viewer grant belongs to, while they may watch. Raises :class:`GrantError`."""
    grant = _viewer_grant_for(raw_grant)
    check_grant_current(grant)
    session = cobrowse_services.refresh_state(grant.team_viewer.session_id)
    if session.state not in SHARING_STATES:
        raise GrantError("The session has ended.")
    viewer = TeamViewer.objects.select_related("session__ticket", "session__agent").get(
        pk=grant.team_viewer_id
    )
    if viewer.state != TeamViewerState.ACCEPTED:
        raise GrantError("You no longer have access to this session.")
    return viewer


@transaction.atomic
def refresh_viewer_grant(raw_grant: str) -> ViewerGrant:
    """Push a live viewer grant's expiry out by another TTL (the watch page calls this)."""
    verify_viewer_grant(raw_grant)
    return extend_grant(ViewerGrant, raw_grant, VIEWER_GRANT_TTL_SECONDS)


def leave_watching(raw_grant: str) -> TeamViewer:
    """The team member pressed Leave: their grant stops working and their socket closes."""
    viewer = verify_viewer_grant(raw_grant)
    with transaction.atomic():
        session = cobrowse_services.lock(viewer.session_id)
        locked = TeamViewer.objects.select_for_update().get(pk=viewer.pk)
        if locked.state == TeamViewerState.ACCEPTED:
            _close_team_viewer(session, locked, TeamViewerState.LEFT, step="team_viewer_left")
        return locked


def remove_team_viewer(
    session: CoBrowseSession | int,
    team_viewer_id: int,
    *,
    customer: User | None = None,
    client: ClientInfo | None = None,
) -> TeamViewer:
    """The sharing customer withdraws their approval: a revocation record, links and grant void,
    and the team member's socket closes. Removing someone already gone changes nothing."""
    with transaction.atomic():
        locked_session = cobrowse_services.lock(session)
        viewer = TeamViewer.objects.select_for_update().get(pk=team_viewer_id, session=locked_session)
        if not viewer.is_open:
            return viewer
        record = record_consent(
            locked_session,
            kind=ConsentKind.TEAM_VIEWER,
            decision=Decision.REVOKED,
            prompt_text=f"Remove {viewer.name} ({viewer.email}) from the screen share",
            customer=customer,
            client=client,
            team_viewer=viewer,
        )
        actor = customer if getattr(customer, "is_authenticated", False) else None
        _close_team_viewer(
            locked_session,
            viewer,
            TeamViewerState.REMOVED,
            step="team_viewer_removed",
            actor=actor,
            consent=record.pk,
        )
        return viewer


def _close_team_viewer(
    session: CoBrowseSession,
    viewer: TeamViewer,
    state: str,
    *,
    step: str,
    actor: User | None = None,
    **data: Any,
) -> None:
    """Inside the session's transaction: the team member may no longer watch, and is told so."""
    now = timezone.now()
    viewer.state = state
    viewer.closed_at = now
    viewer.save(update_fields=["state", "closed_at"])
    TeamViewerInvite.objects.filter(
        team_viewer=viewer, used_at__isnull=True, invalidated_at__isnull=True
    ).update(invalidated_at=now)
    ViewerGrant.objects.filter(team_viewer=viewer, revoked_at__isnull=True).update(revoked_at=now)
    Participant.objects.filter(team_viewer=viewer, left_at__isnull=True).update(left_at=now)
    cobrowse_services.log_step(session, step, actor=actor, team_viewer=viewer.pk, **data)
    cobrowse_services.announce_team_viewer_closed(session, viewer.pk, reason=state)
    cobrowse_services.announce_participants(session)


def team_admissions(participant_ids: Sequence[int]) -> dict[int, str]:
    """Why each team member's watch socket may no longer stay open, or ``""`` while it may.

    Asked for every watch socket of a process on a short interval, so that a removal, an expired
    grant or the end of the session closes it even when the broadcast saying so was lost. One query
    for all of them.
    """
    from django.db.models import Exists, OuterRef

    live_grant = ViewerGrant.objects.filter(
        team_viewer_id=OuterRef("team_viewer_id"), revoked_at__isnull=True, expires_at__gt=timezone.now()
    )
    rows = (
        Participant.objects.filter(pk__in=list(participant_ids))
        .annotate(granted=Exists(live_grant))
        .values_list("pk", "left_at", "session__state", "team_viewer__state", "granted")
    )
    found = {
        pk: _team_reason(left_at, session_state, viewer_state, granted)
        for pk, left_at, session_state, viewer_state, granted in rows
    }
    return {pk: found.get(pk, "removed") for pk in participant_ids}


def _team_reason(
    left_at: datetime | None, session_state: str, viewer_state: str | None, granted: bool
) -> str:
    if session_state not in SHARING_STATES:
        return "ended"
    if left_at is not None or viewer_state != TeamViewerState.ACCEPTED:
        return "removed"
    if not granted:
        return "grant_expired"
    return ""


def close_team_viewers(session: CoBrowseSession, now: datetime) -> None:
    """The session is over: every team member's link and grant stop working (no socket notices:
    the session's own end reaches every socket)."""
    viewers = TeamViewer.objects.filter(session=session, state__in=TEAM_VIEWER_OPEN)
    TeamViewerInvite.objects.filter(
        team_viewer__session=session, used_at__isnull=True, invalidated_at__isnull=True
    ).update(invalidated_at=now)
    ViewerGrant.objects.filter(team_viewer__session=session, revoked_at__isnull=True).update(revoked_at=now)
    viewers.update(state=TeamViewerState.ENDED, closed_at=now)
