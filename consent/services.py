"""One-time links, consent decisions and session grants.

Raw tokens exist only in memory and in what is handed to the customer; the database keeps
sha256 digests. Session state changes go through ``cobrowse.services``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit import services as audit
from cobrowse import services as cobrowse_services
from cobrowse.models import (
    SHARING_STATES,
    CoBrowseSession,
    ControlMode,
    EndReason,
    SessionKind,
    SessionState,
    TeamViewer,
)
from consent import delivery
from consent.models import (
    ConsentKind,
    ConsentRecord,
    Decision,
    DeliveryChannel,
    SessionGrant,
    SessionInvite,
)

PROMPT_VERSION = "2026-11.1"
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


class GrantError(Exception):
    """The grant is unknown, expired, revoked, or its session is not live."""


class UnknownGrant(GrantError):
    """No grant has this value."""


@dataclass(frozen=True)
class ClientInfo:
    ip: str | None = None
    user_agent: str = ""


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_token() -> str:
    """256 bits from the OS generator."""
    return secrets.token_urlsafe(32)


def join_path(raw_token: str) -> str:
    return f"/j/{raw_token}/"


def join_url(raw_token: str) -> str:
    return settings.TANDEM_BASE_URL.rstrip("/") + join_path(raw_token)


# --- client information on consent records -----------------------------------------------------

_UA_FAMILIES = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
)


def user_agent_family(user_agent: str) -> str:
    if re.search(r"HeadlessChrome/", user_agent):
        return "Chrome"
    for marker, family in _UA_FAMILIES:
        if marker in user_agent:
            return family
    return "Other" if user_agent else ""


def truncate_ip(ip: str | None) -> str | None:
    """IPv4 to its /24, IPv6 to its /48; None for anything unparsable."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def stored_client_info(client: ClientInfo | None) -> tuple[str | None, str]:
    """Apply ``CONSENT_CLIENT_INFO`` (full / truncated / none)."""
    policy = settings.CONSENT_CLIENT_INFO
    if client is None or policy == "none":
        return None, ""
    if policy == "full":
        try:
            ip = str(ipaddress.ip_address(client.ip)) if client.ip else None
        except ValueError:
            ip = None
        return ip, client.user_agent[:300]
    return truncate_ip(client.ip), user_agent_family(client.user_agent)


# --- the prompt --------------------------------------------------------------------------------


def is_third_party(session: CoBrowseSession) -> bool:
    """A server-side browser on a site that is not this deployment."""
    if session.kind != SessionKind.BROWSER or not session.target_url:
        return False
    from cobrowse.policy import origin_of

    return origin_of(session.target_url) != origin_of(settings.TANDEM_BASE_URL)


def consent_prompt(session: CoBrowseSession) -> str:
    """The exact words shown on the consent screen; stored with every decision.

    A server-side browser session shares no page of the customer's: it is a browser on support's
    side that both see, so the words say that instead of "this page".
    """
    if session.kind == SessionKind.BROWSER:
        text = (
            f"Agent {session.agent.public_name} wants to open a shared browser with you to help you with "
            f"ticket {session.ticket.reference}. It runs on our side, not on your device: you both see "
            "what it shows, and nothing else on your computer is shared. They cannot see passwords, "
            "payment details or one-time codes typed into it."
        )
    else:
        text = (
            f"Agent {session.agent.public_name} wants to see this page to help you with ticket "
            f"{session.ticket.reference}. They can see the form fields and your progress — not passwords, "
            "payment details or one-time codes."
        )
    if is_third_party(session):
        from cobrowse.policy import origin_of

        text += (
            f" The agent will open {origin_of(session.target_url)} in a secure browser run by support; "
            "whatever is shown on that site will be visible to them."
        )
    return text


def escalation_prompt(session: CoBrowseSession, to_mode: str) -> str:
    texts = {
        ControlMode.VIEW_ONLY: "The agent will only watch.",
        ControlMode.GUIDED: "The agent may highlight parts of the page and point at them.",
        ControlMode.CONTROLLED: "The agent may click and type for you; you approve each step.",
        ControlMode.FULL: (
            "The agent may click and type for you without asking each time. A manager approved this. "
            "Forms are never submitted and payments never made for you."
        ),
    }
    return (
        f"Agent {session.agent.public_name} asks for more help on ticket {session.ticket.reference}. "
        + (texts[to_mode])
    )


def extension_prompt(session: CoBrowseSession, seconds: int) -> str:
    return (
        f"Agent {session.agent.public_name} asks to continue the session on ticket "
        f"{session.ticket.reference} for {seconds // 60} more minutes."
    )


def record_consent(
    session: CoBrowseSession,
    *,
    kind: str,
    decision: str,
    prompt_text: str,
    mode: str = "",
    recording: bool = False,
    invite: SessionInvite | None = None,
    customer: Any = None,
    client: ClientInfo | None = None,
    extension_seconds: int = 0,
    team_viewer: TeamViewer | None = None,
    origin: str = "",
) -> ConsentRecord:
    """Append one consent record. The flags spell out what ``mode`` means."""
    from cobrowse.models import mode_rank
    from cobrowse.policy import origin_of

    granted = decision == Decision.GRANTED and bool(mode)
    rank = mode_rank(mode) if mode else -1
    third_party = is_third_party(session)
    ip, user_agent = stored_client_info(client)
    return ConsentRecord.objects.create(
        session=session,
        invite=invite,
        customer=customer if getattr(customer, "is_authenticated", False) else None,
        team_viewer=team_viewer,
        kind=kind,
        decision=decision,
        mode=mode if granted else "",
        view=granted,
        guidance=granted and rank >= mode_rank(ControlMode.GUIDED),
        control=granted and rank >= mode_rank(ControlMode.CONTROLLED),
        full_control=granted and rank >= mode_rank(ControlMode.FULL),
        recording=granted and recording,
        third_party_site=granted and third_party,
        third_party_origin=origin_of(session.target_url) if third_party else "",
        extension_seconds=extension_seconds,
        origin=origin,
        prompt_text=prompt_text,
        prompt_version=PROMPT_VERSION,
        decided_at=timezone.now(),
        client_ip=ip,
        user_agent=user_agent,
    )


# --- invites ---------------------------------------------------------------------------------------

#: What the agent is told after sending a link through a channel that reaches the customer directly.
SENT_BY = {
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
    session: CoBrowseSession, *, channel: str, actor: Any, send: bool = True
) -> tuple[SessionInvite, str]:
    """A fresh link for a locked, invited session; every undecided link of the session stops working
    (opened or not, so a link someone else already fetched cannot be decided later).

    ``send=False`` when the link goes straight to the customer who asked for it (the portal's Open
    button) instead of through the channel. Call inside the transaction that holds the session's
    row lock.
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
    message = delivery.InviteMessage(
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


def by_token(queryset, raw_token: str):
    """The row whose ``token_hash`` matches a raw link token, or :class:`InviteNotFound`."""
    if not raw_token or len(raw_token) > 200:
        raise InviteNotFound
    row = queryset.filter(token_hash=hash_token(raw_token)).first()
    if row is None:
        raise InviteNotFound
    return row


def link_usable(link: Any, now=None) -> bool:
    """A one-time link (the customer's or a team member's) can still be decided on."""
    now = now or timezone.now()
    return link.used_at is None and link.invalidated_at is None and link.expires_at > now


def claim_once(model, pk: int) -> None:
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
    if not link_usable(invite) or session.state != SessionState.INVITED:
        raise InviteGone(invite.session_id)
    invite.session = session
    return invite


def claim_invite(raw_token: str) -> SessionInvite:
    """The invite a link stands for, ready for :func:`grant_consent` or :func:`deny_consent`.

    The link is used (claimed) by the decision itself, in the decision's transaction, never before:
    see :func:`open_invite`.
    """
    return open_invite(raw_token)


def refuse_staff(session_id: int, user: Any, *, link: str) -> None:
    """Record that signed-in support staff opened or posted to a customer's link (ids only)."""
    audit.record(
        "consent.staff_link_refused",
        actor=user,
        object_type="cobrowse.cobrowsesession",
        object_id=session_id,
        details={"session": session_id, "user": user.pk, "link": link},
    )


def _refuse_staff_decision(invite: SessionInvite, customer: Any) -> None:
    from accounts import permissions

    if permissions.is_support_staff(customer):
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
    customer: Any = None,
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
    invite: SessionInvite, *, mode: str, recording: bool, customer: Any, client: ClientInfo | None
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
    invite: SessionInvite, *, customer: Any = None, client: ClientInfo | None = None
) -> ConsentOutcome:
    _refuse_staff_decision(invite, customer)
    cobrowse_services.refresh_state(invite.session)
    return _deny_consent(invite, customer=customer, client=client)


@transaction.atomic
def _deny_consent(invite: SessionInvite, *, customer: Any, client: ClientInfo | None) -> ConsentOutcome:
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


# --- grants ------------------------------------------------------------------------------------
#
# The consent screen's decision reaches the page through its address (``#tandem=<grant>``), and an
# address can be copied: whoever decided on ``/j/`` may not be whoever owns the page. So the grant
# it carries is a *link grant*: it only describes the request and lets the page's owner allow or
# deny it on that page (:func:`describe_grant`, :func:`confirm_grant`). Allow issues a *tab grant*;
# only a tab grant passes :func:`verify_grant` (socket ``hello``, refresh, lower, revoke, answers).

#: What the page's own card says about each mode: the consent screen's explanations.
MODE_EXPLANATIONS = {
    ControlMode.VIEW_ONLY: "View only: the agent sees this page.",
    ControlMode.GUIDED: "Allow guidance: the agent may also highlight things and point at them.",
    ControlMode.CONTROLLED: "Allow control: the agent may click and type for you, and you approve each step.",
    ControlMode.FULL: "Full control: the agent may click and type for you without asking each time.",
}
#: The same for a server-side browser session: there is no page of the customer's, only the browser.
BROWSER_MODE_EXPLANATIONS = {
    ControlMode.VIEW_ONLY: "View only: the agent sees the shared browser.",
    ControlMode.GUIDED: "Allow guidance: the agent may also point at things in the shared browser.",
    ControlMode.CONTROLLED: (
        "Allow control: the agent may click and type in the shared browser; while you hold it, you "
        "approve each step."
    ),
    ControlMode.FULL: "Full control: the agent may click and type in the shared browser without asking.",
}
DEVICE_TITLE = "Share this page with support?"
BROWSER_DEVICE_TITLE = "Open a shared browser with support?"
DEVICE_REMINDER = (
    "You can stop sharing at any time, and the agent never submits forms or makes payments for you."
)


class UnconfirmedGrant(GrantError):
    """A link grant: nothing is shared with it until the page's owner allows it on that page."""


class PageOriginRefused(Exception):
    """The page asking is not on an origin the session may be shared from (403)."""


def issue_grant(session: CoBrowseSession, *, confirmed: bool = False, origin: str = "") -> str:
    """A bearer credential for the customer's page; call inside the session's transaction.

    Unconfirmed (a link grant) unless the page's owner confirmed on the page (``origin``): the
    customer's page, or the server-side browser's viewer.
    """
    if session.state not in SHARING_STATES:
        raise GrantError("The session is not live.")
    raw = new_token()
    now = timezone.now()
    grant = SessionGrant.objects.create(
        session=session,
        token_hash=hash_token(raw),
        expires_at=now + timedelta(seconds=settings.COBROWSE_GRANT_TTL_SECONDS),
        confirmed_at=now if confirmed else None,
        origin=origin,
    )
    audit.record(
        "consent.grant_issued",
        obj=session,
        details={"session": session.pk, "grant": grant.pk, "confirmed": confirmed},
    )
    return raw


def grant_row(queryset, raw_grant: str):
    if not raw_grant or len(raw_grant) > 200:
        raise UnknownGrant("Unknown grant.")
    grant = queryset.filter(token_hash=hash_token(raw_grant)).first()
    if grant is None:
        raise UnknownGrant("Unknown grant.")
    return grant


def _grant_for(raw_grant: str) -> SessionGrant:
    return grant_row(
        SessionGrant.objects.select_related("session__ticket__account", "session__agent"), raw_grant
    )


def _live_grant(raw_grant: str) -> tuple[SessionGrant, CoBrowseSession]:
    """Any current grant of a live session (link or tab grant)."""
    grant = _grant_for(raw_grant)
    check_grant_current(grant)
    session = cobrowse_services.refresh_state(grant.session)
    if session.state not in SHARING_STATES:
        raise GrantError("The session has ended.")
    return grant, session


def verify_grant(raw_grant: str) -> CoBrowseSession:
    """The live session a tab grant belongs to. Raises :class:`GrantError` otherwise.

    A link grant raises :class:`UnconfirmedGrant`: it never opens the socket or the customer's API.
    """
    grant, session = _live_grant(raw_grant)
    if grant.confirmed_at is None:
        raise UnconfirmedGrant("Confirm on the page that will be shared first.")
    return session


def verify_grant_or_ended(raw_grant: str) -> CoBrowseSession:
    """:func:`verify_grant`, or the ended session whose end revoked this tab grant.

    Stop sharing reaches the server twice (the socket's ``stop``, then the page's revoke call), and
    whichever comes second finds the grant revoked. The session's own tab grant, current when the
    session ended, may still confirm that end, and nothing else: it opens no socket and no other
    call. A link grant, one revoked or expired before the end, or another session's stays refused.
    """
    try:
        return verify_grant(raw_grant)
    except UnconfirmedGrant:
        raise
    except GrantError:
        grant = grant_row(SessionGrant.objects.select_related("session"), raw_grant)
        session = grant.session
        ended_at = session.ended_at
        if (
            not session.is_terminal
            or ended_at is None
            or grant.confirmed_at is None
            or grant.revoked_at is None
            or grant.revoked_at < ended_at
            or grant.expires_at <= ended_at
        ):
            raise
        return session


def check_grant_current(grant: SessionGrant | Any) -> None:
    """A grant row (the customer's or a team member's) still works: not revoked, not expired."""
    if grant.revoked_at is not None:
        raise GrantError("The grant was revoked.")
    if grant.expires_at <= timezone.now():
        raise GrantError("The grant has expired.")


def extend_grant(model: Any, raw_grant: str, seconds: int) -> Any:
    """Push a verified grant's expiry out by ``seconds`` (inside the caller's transaction)."""
    grant = model.objects.select_for_update().get(token_hash=hash_token(raw_grant))
    grant.expires_at = timezone.now() + timedelta(seconds=seconds)
    grant.save(update_fields=["expires_at"])
    return grant


@transaction.atomic
def refresh_grant(raw_grant: str) -> SessionGrant:
    """Push a live tab grant's expiry out by another TTL (the customer's page calls this)."""
    verify_grant(raw_grant)
    return extend_grant(SessionGrant, raw_grant, settings.COBROWSE_GRANT_TTL_SECONDS)


def revoke_grants(session: CoBrowseSession) -> int:
    return SessionGrant.objects.filter(session=session, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def session_ended(session: CoBrowseSession, now: datetime) -> None:
    """End-of-session hook (registered in ``ConsentConfig.ready``): in the transaction that ends the
    session, its undecided links stop working and its grants are revoked."""
    SessionInvite.objects.filter(session=session, used_at__isnull=True, invalidated_at__isnull=True).update(
        invalidated_at=now
    )
    revoke_grants(session)


# --- the page's owner confirms (or refuses) on the page itself -----------------------------------


def tandem_origins(own_origin: str = "") -> set[str]:
    """Tandem's own origins: the public base URL's and the one the request was addressed to.

    ``own_origin`` is the scheme and host of the request itself (its host already checked against
    ``ALLOWED_HOSTS``), so the viewer works on whichever address of this deployment it was opened.
    """
    from cobrowse.policy import origin_of

    return {o for o in (origin_of(settings.TANDEM_BASE_URL), origin_of(own_origin or "")) if o}


def page_origin(session: CoBrowseSession, origin: str, *, own_origin: str = "") -> str:
    """The asking page's origin, if the session may be shared from it (the socket's own rule).

    A server-side browser session is answered on Tandem's viewer page and nowhere else: only
    Tandem's own origin, never the target site's or the account's (the browser runs here, so a
    card on the customer's site would vouch for nothing).
    """
    from cobrowse import policy

    normalized = policy.origin_of(origin or "")
    if session.kind == SessionKind.BROWSER:
        allowed = tandem_origins(own_origin)
    else:
        allowed = policy._allowed_origins(session)
    if not normalized or normalized not in allowed:
        raise PageOriginRefused("This page's origin is not allowed for the session.")
    return normalized


def recording_notice(session: CoBrowseSession) -> str:
    if session.recording:
        return "Recording: this session is recorded and kept encrypted; you can ask for it to be deleted."
    return "This session is not recorded."


@dataclass(frozen=True)
class DeviceRequest:
    """What the page's card shows: who, which mode, recorded or not, in the consent screen's words."""

    session: CoBrowseSession
    agent: str
    mode: str
    recording: bool
    third_party: bool
    title: str
    prompt: str
    details: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "mode": self.mode,
            "mode_label": ControlMode(self.mode).label,
            "recording": self.recording,
            "third_party": self.third_party,
            "title": self.title,
            "prompt": self.prompt,
            "details": list(self.details),
            "allow": "Allow",
            "deny": "Deny",
        }

    @property
    def text(self) -> str:
        """Everything the card says, as stored with the decision."""
        return " ".join([self.title, self.prompt, *self.details])


def _device_request(session: CoBrowseSession) -> DeviceRequest:
    browser = session.kind == SessionKind.BROWSER
    return DeviceRequest(
        session=session,
        agent=session.agent.public_name,
        mode=session.mode,
        recording=session.recording,
        third_party=is_third_party(session),
        title=BROWSER_DEVICE_TITLE if browser else DEVICE_TITLE,
        prompt=consent_prompt(session),
        details=(
            (BROWSER_MODE_EXPLANATIONS if browser else MODE_EXPLANATIONS)[session.mode],
            recording_notice(session),
            DEVICE_REMINDER,
        ),
    )


def describe_grant(raw_grant: str, *, origin: str, own_origin: str = "") -> DeviceRequest:
    """What a grant asks for, for the card on the page it arrived on (link or tab grant alike).

    ``own_origin``: the origin the request was addressed to (see :func:`tandem_origins`).
    """
    _grant, session = _live_grant(raw_grant)
    page_origin(session, origin, own_origin=own_origin)
    return _device_request(session)


@dataclass(frozen=True)
class DeviceDecision:
    session: CoBrowseSession
    record: ConsentRecord
    grant: str = ""
    expires_at: Any = None


def confirm_grant(
    raw_grant: str,
    *,
    allow: bool,
    origin: str,
    client: ClientInfo | None = None,
    own_origin: str = "",
) -> DeviceDecision:
    """The page's owner answered the card: Allow issues a tab grant, Deny ends the session.

    Either answer is a ``device_confirmation`` consent record with the page's origin. Any current
    grant of the session may ask (an agent could paste a tab grant; the card still asks). For a
    server-side browser session the page is Tandem's viewer (``own_origin``: :func:`tandem_origins`).
    """
    _grant, session = _live_grant(raw_grant)
    page_origin(session, origin, own_origin=own_origin)
    return _confirm_grant(
        raw_grant, session.pk, allow=allow, origin=origin, client=client, own_origin=own_origin
    )


@transaction.atomic
def _confirm_grant(
    raw_grant: str,
    session_id: int,
    *,
    allow: bool,
    origin: str,
    client: ClientInfo | None,
    own_origin: str,
) -> DeviceDecision:
    session = cobrowse_services.lock(session_id)
    grant = SessionGrant.objects.select_for_update().get(token_hash=hash_token(raw_grant))
    check_grant_current(grant)
    if session.state not in SHARING_STATES:
        raise GrantError("The session has ended.")
    normalized = page_origin(session, origin, own_origin=own_origin)
    request = _device_request(session)
    invite = session.invites.filter(used_at__isnull=False).order_by("-used_at").first()
    record = record_consent(
        session,
        kind=ConsentKind.DEVICE_CONFIRMATION,
        decision=Decision.GRANTED if allow else Decision.DENIED,
        prompt_text=request.text,
        mode=session.mode if allow else "",
        recording=session.recording,
        invite=invite,
        client=client,
        origin=normalized,
    )
    if not allow:
        session = cobrowse_services.transition(
            session,
            SessionState.REVOKED,
            reason=EndReason.CUSTOMER_DENIED,
            actor=None,
            extra={"consent": record.pk, "on": "device"},
        )
        audit.record(
            "consent.device_denied",
            obj=session,
            details={"session": session.pk, "consent": record.pk, "grant": grant.pk},
        )
        return DeviceDecision(session=session, record=record)
    raw_tab = issue_grant(session, confirmed=True, origin=normalized)
    browser = session.kind == SessionKind.BROWSER
    where = "in the shared browser's viewer" if browser else "on the customer's page"
    cobrowse_services.log_step(session, "device_confirmed", summary=f"allowed {where}", consent=record.pk)
    tab = SessionGrant.objects.get(token_hash=hash_token(raw_tab))
    return DeviceDecision(session=session, record=record, grant=raw_tab, expires_at=tab.expires_at)
