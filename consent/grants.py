"""Session grants: issuing, verifying, refreshing, confirming on the page and revoking them.

The consent screen's decision reaches the page through its address (``#tandem=<grant>``), and an
address can be copied: whoever decided on ``/j/`` may not be whoever owns the page. So the grant
it carries is a *link grant*: it only describes the request and lets the page's owner allow or
deny it on that page (:func:`describe_grant`, :func:`confirm_grant`). Allow issues a *tab grant*;
only a tab grant passes :func:`verify_grant` (socket ``hello``, refresh, lower, revoke, answers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from audit import services as audit
from cobrowse import services as cobrowse_services
from cobrowse.models import SHARING_STATES, CoBrowseSession, ControlMode, EndReason, SessionKind, SessionState
from consent.models import ConsentKind, ConsentRecord, Decision, SessionGrant, ViewerGrant
from consent.prompts import (
    BROWSER_DEVICE_TITLE,
    BROWSER_MODE_EXPLANATIONS,
    DEVICE_REMINDER,
    DEVICE_TITLE,
    MODE_EXPLANATIONS,
    RESUME_TITLE,
    consent_prompt,
    is_third_party,
    recording_notice,
)
from consent.records import ClientInfo, record_consent
from consent.tokens import hash_token, new_token


class GrantError(Exception):
    """The grant is unknown, expired, revoked, or its session is not live."""


class UnknownGrant(GrantError):
    """No grant has this value."""


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


#: A bearer grant: the customer's (:class:`SessionGrant`) or a team member's (:class:`ViewerGrant`).
Grant = TypeVar("Grant", SessionGrant, ViewerGrant)


def grant_row(queryset: QuerySet[Grant], raw_grant: str) -> Grant:
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


def check_grant_current(grant: SessionGrant | ViewerGrant) -> None:
    """A grant row (the customer's or a team member's) still works: not revoked, not expired."""
    if grant.revoked_at is not None:
        raise GrantError("The grant was revoked.")
    if grant.expires_at <= timezone.now():
        raise GrantError("The grant has expired.")


def extend_grant(model: type[Grant], raw_grant: str, seconds: int) -> Grant:
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
    resume: bool = False  # the session runs and lost its page: the card asks to resume it

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
            "resume": self.resume,
            "allow": "Allow",
            "deny": "Deny",
        }

    @property
    def text(self) -> str:
        """Everything the card says, as stored with the decision."""
        return " ".join([self.title, self.prompt, *self.details])


def _device_request(session: CoBrowseSession) -> DeviceRequest:
    """The card's words; a page session that lost its page (``reconnecting``) is asked to resume,
    with the same terms (``consent.resume``)."""
    browser = session.kind == SessionKind.BROWSER
    resume = not browser and session.state == SessionState.RECONNECTING
    if resume:
        title = RESUME_TITLE.format(agent=session.agent.public_name)
    else:
        title = BROWSER_DEVICE_TITLE if browser else DEVICE_TITLE
    return DeviceRequest(
        session=session,
        agent=session.agent.public_name,
        mode=session.mode,
        recording=session.recording,
        third_party=is_third_party(session),
        title=title,
        prompt=consent_prompt(session),
        details=(
            (BROWSER_MODE_EXPLANATIONS if browser else MODE_EXPLANATIONS)[session.mode],
            recording_notice(session),
            DEVICE_REMINDER,
        ),
        resume=resume,
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
    expires_at: datetime | None = None


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
