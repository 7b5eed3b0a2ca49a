"""One-time links and the customer's decision on them (grant or deny).

Raw tokens exist only in memory and in what is handed to the customer; the database keeps
sha256 digests (``consent.tokens``). Grants live in ``consent.grants``, the words shown in
``consent.prompts``, consent records in ``consent.records``. Session state changes go through
``cobrowse.services``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from audit import services as audit
from cobrowse import services as cobrowse_services
from cobrowse.models import CoBrowseSession, ControlMode, EndReason, SessionKind, SessionState
from consent import delivery
from consent.grants import issue_grant, revoke_grants
from consent.models import (
    ConsentKind,
    ConsentRecord,
    Decision,
    DeliveryChannel,
    SessionInvite,
    TeamViewerInvite,
)
from consent.prompts import PROMPT_VERSION, consent_prompt
from consent.records import ClientInfo, record_consent
from consent.tokens import hash_token, join_url, new_token

#: What the customer may choose on the consent screen (``full`` only ever through escalation).
CONSENT_CHOICES = (ControlMode.VIEW_ONLY, ControlMode.GUIDED, ControlMode.CONTROLLED)


class InviteNotFound(Exception):
    """No invite has this token (404)."""


class InviteGone(Exception):
    """The invite was used, replaced or has expired (410). Which one is not said.

    ``session_id`` names the link's session when it is known, so that the browser that decided
    can be sent back to its "You are sharing" page on a reload.
    """

    def __init__(self, session_id: int | None = None) -> None:
        super().__init__("This link can no longer be used.")
        self.session_id = session_id


class StaffCannotDecide(Exception):
    """Support staff signed in to Tandem tried to decide on a customer's or team member's link."""


# --- invites ---------------------------------------------------------------------------------------

#: What the agent is told after sending a link through a channel that reaches the customer directly.
SENT_BY: dict[str, str] = {
    DeliveryChannel.EMAIL: "e-mail",
    DeliveryChannel.SMS: "SMS",
    DeliveryChannel.CHAT: "chat",
    DeliveryChannel.IN_APP: "an in-app notice",
}


def shows_link_to_staff(channel: str) -> bool:
    """Only the copy channel hands the link to the agent (to paste into the customer's chat).

    Every other channel delivers it to the customer alone: were it shown to staff, someone on the
    support side could open it and decide in the customer's place.
    """
    return channel == DeliveryChannel.COPY


def sent_notice(channel: str) -> str:
    """What staff see instead of the link for a channel that delivers it to the customer."""
    return f"Link sent by {SENT_BY.get(channel, channel)} to the customer."


def issue_invite(
    session: CoBrowseSession, *, channel: str, actor: User, send: bool = True, resume: bool = False
) -> tuple[SessionInvite, str]:
    """A fresh link for a locked, invited session; every undecided link of the session stops working
    (opened or not, so a link someone else already fetched cannot be decided later).

    ``send=False`` when the link goes straight to the customer who asked for it (the portal's Open
    button) instead of through the channel. Call inside the transaction that holds the session's
    row lock. ``resume``: a fresh link for a running session whose page lost its connection
    (``consent.resume``): the message says so.
    """
    if channel not in DeliveryChannel.values:
        raise ValidationError({"channel": f"Unknown delivery channel '{channel}'."})
    now = timezone.now()
    voided = SessionInvite.objects.filter(session=session, invalidated_at__isnull=True).update(
        invalidated_at=now
    )
    raw = new_token()
    expires_at = now + timedelta(seconds=settings.COBROWSE_INVITE_TTL_SECONDS)
    invite = SessionInvite.objects.create(
        session=session,
        token_hash=hash_token(raw),
        channel=channel,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        expires_at=expires_at,
    )
    session.invite_expires_at = expires_at
    session.save(update_fields=["invite_expires_at"])
    customer = session.customer
    message_class = delivery.ResumeInviteMessage if resume else delivery.InviteMessage
    message = message_class(
        channel=channel,
        session_id=session.pk,
        ticket_reference=session.ticket.reference,
        agent_name=session.agent.public_name,
        link=join_url(raw),
        recipient_email=getattr(customer, "email", "") or "",
        recipient_phone=getattr(customer, "phone", "") or "",
        recipient_user_id=getattr(customer, "pk", None),
        invite_id=invite.pk,
    )
    if send:
        transaction.on_commit(lambda: delivery.deliver(message))
    audit.record(
        "cobrowse.invite_issued",
        actor=actor,
        obj=session,
        details={"session": session.pk, "invite": invite.pk, "channel": channel, "voided": voided},
    )
    return invite, raw


#: A one-time link: the customer's (:class:`SessionInvite`) or a team member's (:class:`TeamViewerInvite`).
Link = TypeVar("Link", SessionInvite, TeamViewerInvite)


def by_token(queryset: QuerySet[Link], raw_token: str) -> Link:
    """The row whose ``token_hash`` matches a raw link token, or :class:`InviteNotFound`."""
    if not raw_token or len(raw_token) > 200:
        raise InviteNotFound
    row = queryset.filter(token_hash=hash_token(raw_token)).first()
    if row is None:
        raise InviteNotFound
    return row


def link_usable(link: SessionInvite | TeamViewerInvite, now: datetime | None = None) -> bool:
    """A one-time link (the customer's or a team member's) can still be decided on."""
    now = now or timezone.now()
    return link.used_at is None and link.invalidated_at is None and link.expires_at > now


def claim_once(model: type[SessionInvite] | type[TeamViewerInvite], pk: int) -> None:
    """Mark a one-time link used; of two simultaneous claims exactly one wins, the other sees 410.

    The claim is one conditional UPDATE, so the database decides the winner. Only the link's own
    columns are in the WHERE clause: PostgreSQL re-checks them on the locked row, so the loser of a
    race sees ``used_at`` set and updates nothing. Called with the decision, in its transaction.
    """
    now = timezone.now()
    won = model.objects.filter(
        pk=pk, used_at__isnull=True, invalidated_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    if won != 1:
        raise InviteGone


def _invite_for(raw_token: str) -> SessionInvite:
    return by_token(
        SessionInvite.objects.select_related("session__ticket__account", "session__agent"), raw_token
    )


def invite_session_id(raw_token: str) -> int:
    """The session a link belongs to, whatever its state (:class:`InviteNotFound` if none)."""
    return _invite_for(raw_token).session_id


def open_invite(raw_token: str) -> SessionInvite:
    """The invite behind a link that can still be decided on; claims nothing.

    Opening a link (a GET, a mail scanner's preview, a reload) must not use it up: the claim
    happens with the decision (:func:`grant_consent`, :func:`deny_consent`).
    """
    invite = _invite_for(raw_token)
    session = cobrowse_services.refresh_state(invite.session)
    # A reconnecting session's usable link is a fresh link (``consent.resume``): its own screen.
    if not link_usable(invite) or session.state not in (SessionState.INVITED, SessionState.RECONNECTING):
        raise InviteGone(invite.session_id)
    invite.session = session
    return invite


def claim_invite(raw_token: str) -> SessionInvite:
    """The invite a link stands for, ready for :func:`grant_consent` or :func:`deny_consent`.

    The link is used (claimed) by the decision itself, in the decision's transaction, never before:
    see :func:`open_invite`.
    """
    return open_invite(raw_token)


def refuse_staff(session_id: int, user: User, *, link: str) -> None:
    """Record that signed-in support staff opened or posted to a customer's link (ids only)."""
    audit.record(
        "consent.staff_link_refused",
        actor=user,
        object_type="cobrowse.cobrowsesession",
        object_id=session_id,
        details={"session": session_id, "user": user.pk, "link": link},
    )


def _refuse_staff_decision(invite: SessionInvite, customer: User | None) -> None:
    from accounts import permissions

    if customer is not None and permissions.is_support_staff(customer):
        refuse_staff(invite.session_id, customer, link="join")
        raise StaffCannotDecide


# --- decisions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentOutcome:
    session: CoBrowseSession
    record: ConsentRecord
    grant: str = ""

    @property
    def redirect_url(self) -> str:
        """Where the customer goes next: the target page with the grant in the fragment, or ''."""
        if self.grant and self.session.kind == SessionKind.DOM and self.session.target_url:
            base = self.session.target_url.split("#", 1)[0]
            return f"{base}#tandem={self.grant}"
        if self.grant and self.session.kind == SessionKind.BROWSER:
            # The screencast viewer on Tandem itself; it moves the grant out of the address bar and
            # asks its owner (the card) before it opens a socket.
            return f"/browser/{self.session.pk}/#tandem={self.grant}"
        return ""


def grant_consent(
    invite: SessionInvite,
    *,
    mode: str,
    recording: bool = False,
    customer: User | None = None,
    client: ClientInfo | None = None,
) -> ConsentOutcome:
    """The customer said yes on the consent screen: the link is claimed (one conditional UPDATE)
    and the decision recorded in one transaction, so of two browsers only the first to decide wins."""
    if mode not in CONSENT_CHOICES:
        raise ValidationError({"mode": "Choose view only, guidance or control."})
    _refuse_staff_decision(invite, customer)
    cobrowse_services.refresh_state(invite.session)
    return _grant_consent(invite, mode=mode, recording=recording, customer=customer, client=client)


@transaction.atomic
def _grant_consent(
    invite: SessionInvite, *, mode: str, recording: bool, customer: User | None, client: ClientInfo | None
) -> ConsentOutcome:
    session = cobrowse_services.lock(invite.session)
    _check_invite_current(invite, session)
    account = session.ticket.account
    if recording and not (account is None or account.recording_allowed):
        raise ValidationError({"recording": "Recording is not available for this account."})
    claim_once(SessionInvite, invite.pk)
    prompt = consent_prompt(session)
    record = record_consent(
        session,
        kind=ConsentKind.INITIAL,
        decision=Decision.GRANTED,
        prompt_text=prompt,
        mode=mode,
        recording=recording,
        invite=invite,
        customer=customer,
        client=client,
    )
    session = cobrowse_services.apply_consent(session, mode=mode, recording=recording, record=record)
    # A link grant for every kind: the customer's page, or the server-side browser's viewer, asks
    # its owner before anything is shared or shown, since whoever decided here may not be the owner.
    raw_grant = issue_grant(session)
    return ConsentOutcome(session=session, record=record, grant=raw_grant)


def deny_consent(
    invite: SessionInvite, *, customer: User | None = None, client: ClientInfo | None = None
) -> ConsentOutcome:
    _refuse_staff_decision(invite, customer)
    cobrowse_services.refresh_state(invite.session)
    return _deny_consent(invite, customer=customer, client=client)


@transaction.atomic
def _deny_consent(
    invite: SessionInvite, *, customer: User | None, client: ClientInfo | None
) -> ConsentOutcome:
    session = cobrowse_services.lock(invite.session)
    _check_invite_current(invite, session)
    claim_once(SessionInvite, invite.pk)
    record = record_consent(
        session,
        kind=ConsentKind.INITIAL,
        decision=Decision.DENIED,
        prompt_text=consent_prompt(session),
        invite=invite,
        customer=customer,
        client=client,
    )
    session = cobrowse_services.transition(
        session,
        SessionState.DENIED,
        reason=EndReason.CUSTOMER_DENIED,
        actor=None,
        extra={"consent": record.pk},
    )
    audit.record(
        "consent.denied",
        obj=session,
        details={"session": session.pk, "consent": record.pk, "prompt_version": PROMPT_VERSION},
    )
    return ConsentOutcome(session=session, record=record)


def _check_invite_current(invite: SessionInvite, session: CoBrowseSession) -> None:
    """Under the session's row lock: the link is unused, not replaced, not expired, and its session
    still waits for an answer. The claim that follows (:func:`claim_once`) re-checks the link."""
    invite.refresh_from_db()
    if not link_usable(invite) or session.state != SessionState.INVITED:
        raise InviteGone(invite.session_id)


def session_ended(session: CoBrowseSession, now: datetime) -> None:
    """End-of-session hook (registered in ``ConsentConfig.ready``): in the transaction that ends the
    session, its undecided links stop working and its grants are revoked."""
    SessionInvite.objects.filter(session=session, used_at__isnull=True, invalidated_at__isnull=True).update(
        invalidated_at=now
    )
    revoke_grants(session)
