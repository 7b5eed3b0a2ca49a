"""Picking up a session whose page lost its connection: the agent's fresh link, the portal's Resume.

A customer's page that drops leaves its session ``reconnecting``. A reload or a new page of the same
tab says hello again with the tab grant it kept; a closed tab or a restarted browser took that grant
with it, and the session would wait for the inactivity timeout. Two ways back, both ending in a
*link grant* for the session's page, whose card asks the page's owner again (device confirmation,
worded "Resume sharing with <agent>?"), so nothing is shared from a page nobody confirmed:

- **a fresh link** (:func:`send_fresh_link`): the session's agent or a manager, once the page has
  been disconnected for ``COBROWSE_FRESH_LINK_AFTER_SECONDS``, sends a one-time ``/j/<token>/`` over
  the channel the session used. Its screen asks to continue on this device with the terms already
  consented to (:func:`continue_sharing`); refusing ends the session as a revocation.
- **Resume sharing** (:func:`resume_grant`): the ticket's requester, signed in to the portal.

Neither path records a disconnect: the relay alone reports those, so the dashboard counts each once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from accounts import permissions
from accounts.models import User
from audit import services as audit
from cobrowse import services as cobrowse_services
from cobrowse.models import CoBrowseSession, EndReason, SessionKind, SessionState
from consent import ratelimit
from consent.grants import issue_grant
from consent.invitations import StartedSession
from consent.models import ConsentKind, Decision, DeliveryChannel, SessionInvite
from consent.prompts import resume_prompt
from consent.records import ClientInfo, record_consent
from consent.services import (
    ConsentOutcome,
    InviteGone,
    claim_once,
    issue_invite,
    link_usable,
    shows_link_to_staff,
)
from consent.tokens import join_path, join_url
from tickets.models import EventKind, TicketEvent


class FreshLinkRefused(cobrowse_services.CoBrowseError):
    """Not now: the session is not reconnecting, not long enough, or had too many links (409/429)."""


def resumable(session: CoBrowseSession) -> bool:
    """A page session whose page lost its connection: what both ways back apply to."""
    return session.kind == SessionKind.DOM and session.state == SessionState.RECONNECTING


def reconnecting_since(session: CoBrowseSession) -> datetime | None:
    """When the session last moved to ``reconnecting``: its activity line for that step.

    ``last_activity_at`` is set by the same move but also by later activity, so it cannot say how
    long the page has been gone; the ticket's activity line is written once per move.
    """
    if session.state != SessionState.RECONNECTING:
        return None
    moved = (
        TicketEvent.objects.filter(
            ticket_id=session.ticket_id,
            kind=EventKind.COBROWSE,
            data__step=SessionState.RECONNECTING,
            data__session=session.pk,
        )
        .order_by("-created_at", "-id")
        .values_list("created_at", flat=True)
        .first()
    )
    return moved or session.last_activity_at


def fresh_link_wait(session: CoBrowseSession, now: datetime | None = None) -> int | None:
    """Seconds until a fresh link may be sent (0: now), or None when the session cannot get one."""
    if not resumable(session):
        return None
    since = reconnecting_since(session)
    if since is None:
        return None
    ready = since + timedelta(seconds=settings.COBROWSE_FRESH_LINK_AFTER_SECONDS)
    left = (ready - (now or timezone.now())).total_seconds()
    return max(0, int(left + 0.999))


def session_channel(session: CoBrowseSession) -> str:
    """The channel the session's invitation used; a session without one (a help request taken from
    the queue) has a signed-in customer, reached in the portal."""
    used = session.invites.order_by("created_at", "id").values_list("channel", flat=True).first()
    return used or DeliveryChannel.IN_APP


def send_fresh_link(session: CoBrowseSession, *, actor: User) -> StartedSession:
    """A new one-time link for a session whose page has been gone long enough; voids earlier ones."""
    current = cobrowse_services.refresh_state(session)
    return _send_fresh_link(current, actor=actor)


@transaction.atomic
def _send_fresh_link(session: CoBrowseSession, *, actor: User) -> StartedSession:
    if not permissions.can_manage_cobrowse_session(actor, session):
        raise PermissionDenied("Only the session's agent or a manager can send a fresh link.")
    locked = cobrowse_services.lock(session)
    wait = fresh_link_wait(locked)
    if wait is None:
        raise FreshLinkRefused(
            "A fresh link is only for a shared page that lost its connection.", code="not_reconnecting"
        )
    if wait > 0:
        raise FreshLinkRefused(f"The page may still come back: try again in {wait} s.", code="too_soon")
    if not ratelimit.hit_key(f"fresh_link:{locked.pk}", settings.COBROWSE_FRESH_LINK_RATE_LIMIT):
        raise FreshLinkRefused("Too many fresh links for this session: try again later.", code="rate_limited")
    channel = session_channel(locked)
    invite, raw = issue_invite(locked, channel=channel, actor=actor, resume=True)
    cobrowse_services.log_event(locked, "fresh_link_sent", actor=actor, channel=channel, internal=True)
    audit.record(
        "cobrowse.fresh_link_sent",
        actor=actor,
        obj=locked,
        details={"session": locked.pk, "invite": invite.pk, "channel": channel},
    )
    if not shows_link_to_staff(channel):
        return StartedSession(session=locked, join_url="", join_path="", channel=channel)
    return StartedSession(session=locked, join_url=join_url(raw), join_path=join_path(raw), channel=channel)


# --- the customer on the fresh link's screen ------------------------------------------------------


def continue_sharing(
    invite: SessionInvite, *, allow: bool, customer: User | None = None, client: ClientInfo | None = None
) -> ConsentOutcome:
    """The customer answered the fresh link's screen: continue (a link grant for the session's page,
    whose card asks again) or end the session (a revocation). Claims the link, records the answer."""
    cobrowse_services.refresh_state(invite.session)
    return _continue_sharing(invite, allow=allow, customer=customer, client=client)


@transaction.atomic
def _continue_sharing(
    invite: SessionInvite, *, allow: bool, customer: User | None, client: ClientInfo | None
) -> ConsentOutcome:
    session = cobrowse_services.lock(invite.session)
    invite.refresh_from_db()
    if not link_usable(invite) or not resumable(session):
        raise InviteGone(invite.session_id)
    claim_once(SessionInvite, invite.pk)
    record = record_consent(
        session,
        kind=ConsentKind.RESUME,
        decision=Decision.GRANTED if allow else Decision.REVOKED,
        prompt_text=resume_prompt(session),
        mode=session.mode if allow else "",
        recording=session.recording,
        invite=invite,
        customer=customer,
        client=client,
    )
    if not allow:
        session = cobrowse_services.transition(
            session,
            SessionState.REVOKED,
            reason=EndReason.CUSTOMER_REVOKED,
            actor=None,
            extra={"consent": record.pk, "on": "fresh_link"},
        )
        audit.record(
            "consent.resume_refused", obj=session, details={"session": session.pk, "consent": record.pk}
        )
        return ConsentOutcome(session=session, record=record)
    raw_grant = issue_grant(session)
    cobrowse_services.log_step(session, "resume_allowed", consent=record.pk, on="fresh_link")
    return ConsentOutcome(session=session, record=record, grant=raw_grant)


# --- Resume sharing in the portal -----------------------------------------------------------------


def may_resume(user: User | None, session: CoBrowseSession) -> bool:
    """The portal's Resume sharing: the ticket's requester, signed in, for a page that lost its link."""
    return (
        user is not None
        and resumable(session)
        and permissions.can_request_screen_share(user, session.ticket)
        and session.customer_id == user.pk
    )


def resume_grant(session: CoBrowseSession, *, customer: User) -> str:
    """A link grant for the session's page, for its signed-in customer; the page's card asks again.

    Returns where to send the customer's browser: the session's page with the grant in the fragment
    (:func:`page_address`)."""
    current = cobrowse_services.refresh_state(session)
    with transaction.atomic():
        locked = cobrowse_services.lock(current)
        if not may_resume(customer, locked):
            raise PermissionDenied("Only the ticket's customer can resume sharing.")
        raw_grant = issue_grant(locked)
        cobrowse_services.log_step(locked, "resume_requested", actor=customer, on="portal")
    return page_address(locked, raw_grant)


def page_address(session: CoBrowseSession, raw_grant: str) -> str:
    """The session's page with the grant in its fragment; a session of a Tandem page itself (no
    target) goes to its "You are sharing" page, which carries the widget."""
    from django.urls import reverse

    if session.target_url:
        return f"{session.target_url.split('#', 1)[0]}#tandem={raw_grant}"
    return reverse("cobrowse:sharing", args=[session.pk]) + f"#tandem={raw_grant}"
