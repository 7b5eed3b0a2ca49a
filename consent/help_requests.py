"""Help the customer asks for from the page itself: ``Get help`` in the widget, consent on the page,
a request waiting for the first capable agent (docs/widget-sdk.md, "The help flow").

Why here: a help request ends in a consented session, so it needs the core (``cobrowse``) and the
consent records, grants and words; consent is the lowest layer that has all of them.

Who asks: the site signs its user's id (``accounts.site_keys``); the id is the customer's Tandem
username in the site key's account, or, for an id with an ``@``, the e-mail address of exactly one
customer of that account. Anything else is refused: nobody gets a session as someone else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import permissions, site_keys
from accounts.models import CustomerAccount, Role, SiteKey, User
from audit import services as audit
from cobrowse import policy
from cobrowse import services as session_services
from cobrowse.models import SHARING_STATES, CoBrowseSession, ControlMode, SessionKind
from consent.grants import issue_grant
from consent.models import ConsentKind, Decision, HelpRequest, HelpRequestState
from consent.prompts import (
    DEVICE_REMINDER,
    DEVICE_TITLE,
    MODE_EXPLANATIONS,
    PROMPT_VERSION,
    RECORDING_CHOICE,
    help_prompt,
    recording_text,
)
from consent.records import ClientInfo, record_consent, stored_client_info
from consent.services import CONSENT_CHOICES
from consent.tokens import hash_token, new_token
from tickets import services as ticket_services
from tickets.models import ACTIVE, Channel, EventKind, Ticket

DEFAULT_WAIT_SECONDS = 180
#: How often the widget asks where its request stands.
POLL_MS = 4000
MAX_TITLE = 200
MAX_FIELD = 200


class HelpError(Exception):
    """A refusal with its HTTP status and code (the API renders ``{"detail", "code"}``)."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code or self.code


class Malformed(HelpError):
    code = "malformed"


class UnknownSite(HelpError):
    status = 404
    code = "unknown_site"


class UnknownUser(HelpError):
    status = 404
    code = "unknown_user"


class BadSignature(HelpError):
    status = 403
    code = "bad_signature"


class OriginRefused(HelpError):
    status = 403
    code = "origin_refused"


class UnknownHelpRequest(HelpError):
    status = 404
    code = "unknown_request"


class AlreadyTaken(HelpError):
    status = 409
    code = "already_taken"


class HelpRequestClosed(HelpError):
    """Expired or cancelled: nothing more can happen to it."""

    status = 410
    code = "closed"


def wait_seconds() -> int:
    return int(getattr(settings, "HELP_REQUEST_WAIT_SECONDS", DEFAULT_WAIT_SECONDS))


# --- the words on the card ---------------------------------------------------------------------------


def card_words(account: CustomerAccount) -> dict[str, Any]:
    """What the widget's help card shows: the consent screen's choices in the page card's words."""
    return {
        "title": DEVICE_TITLE,
        "prompt": help_prompt(),
        "modes": [
            {"mode": mode, "label": ControlMode(mode).label, "explanation": MODE_EXPLANATIONS[mode]}
            for mode in CONSENT_CHOICES
        ],
        "recording": RECORDING_CHOICE if account.recording_allowed else "",
        "details": [DEVICE_REMINDER],
        "allow": "Allow",
        "deny": "Deny",
    }


def card_text(mode: str, recording: bool) -> str:
    """Everything the card said for this answer, as the device card's record keeps it."""
    return " ".join(
        [DEVICE_TITLE, help_prompt(), MODE_EXPLANATIONS[mode], recording_text(recording), DEVICE_REMINDER]
    )


# --- parsing -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    url: str
    title: str = ""
    field: str = ""
    trigger: str = ""
    completion: int | None = None


@dataclass(frozen=True)
class Ask:
    site: str
    user_id: str
    signature: str
    page: Page
    mode: str
    recording: bool


def _only(data: Any, allowed: set[str], what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise Malformed(f"{what}: a JSON object is required.")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise Malformed(f"{what}: unknown field(s): {', '.join(unknown)}.")
    return data


def _text(value: Any, name: str, limit: int, *, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value) or len(value) > limit:
        raise Malformed(f"{name}: a string of {'1' if required else '0'} to {limit} characters is required.")
    return value.strip()


def parse_ask(data: Any) -> Ask:
    """``{site, user: {id, signature}, page: {url, title?, field?, trigger?, completion?},
    consent: {mode, recording}}``, every part checked; :class:`Malformed` otherwise."""
    body = _only(data, {"site", "user", "page", "consent"}, "body")
    site = _text(body.get("site"), "site", 64, required=True)
    user = _only(body.get("user"), {"id", "signature"}, "user")
    user_id = user.get("id")
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        user_id = str(user_id)
    user_id = _text(user_id, "user.id", site_keys.MAX_USER_ID, required=True)
    signature = user.get("signature")
    if not isinstance(signature, str) or not site_keys.SIGNATURE_RE.match(signature):
        raise Malformed("user.signature: the hex HMAC-SHA256 of user.id (64 hex digits) is required.")
    page = _only(body.get("page"), {"url", "title", "field", "trigger", "completion"}, "page")
    completion = page.get("completion")
    if completion is not None and (
        isinstance(completion, bool) or not isinstance(completion, int | float) or not 0 <= completion <= 100
    ):
        raise Malformed("page.completion: a number from 0 to 100 is required.")
    consent = _only(body.get("consent"), {"mode", "recording"}, "consent")
    mode, recording = consent.get("mode"), consent.get("recording", False)
    if mode not in CONSENT_CHOICES:
        raise Malformed("consent.mode: choose view_only, guided or controlled.")
    if not isinstance(recording, bool):
        raise Malformed("consent.recording: true or false.")
    return Ask(
        site=site.lower(),
        user_id=user_id,
        signature=signature.lower(),
        page=Page(
            url=_page_url(page.get("url")),
            title=_text(page.get("title"), "page.title", 500)[:MAX_TITLE],
            field=_text(page.get("field"), "page.field", MAX_FIELD),
            trigger=_text(page.get("trigger"), "page.trigger", 20),
            completion=None if completion is None else round(completion),
        ),
        mode=mode,
        recording=recording,
    )


def _page_url(value: Any) -> str:
    """The page's address without query string or fragment (they may carry personal data)."""
    url = _text(value, "page.url", 2000, required=True)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Malformed("page.url: the page's full http(s) address is required.")
    bare = urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))
    if len(bare) > 500:
        raise Malformed("page.url: the address is too long.")
    return bare


# --- who asks ----------------------------------------------------------------------------------------


def site_key(site: str) -> SiteKey:
    if not site_keys.is_site_id(site):
        raise UnknownSite("No such site.")
    key = SiteKey.objects.select_related("account").filter(site=site).first()
    if key is None:
        raise UnknownSite("No such site.")
    return key


def site_user(account: CustomerAccount, user_id: str) -> User:
    """The customer the site's signed user id stands for (module docstring), or :class:`UnknownUser`."""
    if not site_keys.is_user_id(user_id):
        raise UnknownUser("This site has no customer with that user id.")
    customers = User.objects.filter(account=account, role=Role.CUSTOMER, is_active=True)
    user = customers.filter(username=user_id).first()
    if user is None and "@" in user_id:
        matches = list(customers.filter(email__iexact=user_id)[:2])
        user = matches[0] if len(matches) == 1 else None
    if user is None:
        raise UnknownUser("This site has no customer with that user id.")
    return user


def check_origin(account: CustomerAccount, origin: str, page_url: str) -> str:
    """The asking page is on one of the account's origins, and is the page it says it is."""
    normalized = policy.origin_of(origin or "")
    allowed = {policy.origin_of(o) or o.rstrip("/").lower() for o in account.allowed_origins or []}
    if not normalized or normalized not in allowed:
        raise OriginRefused("This page's origin is not allowed for the site.")
    if policy.origin_of(page_url) != normalized:
        raise OriginRefused("page.url is not on the page's own origin.")
    return normalized


# --- writes ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Created:
    help_request: HelpRequest
    token: str


def _ticket_for(customer: User, page: Page) -> Ticket:
    """The customer's most recently updated open ticket, else a new "web" ticket about the page."""
    ticket = Ticket.objects.filter(ACTIVE, requester=customer).order_by("-updated_at", "-id").first()
    if ticket is not None:
        return ticket
    where = page.title or urlsplit(page.url).netloc
    return ticket_services.create_ticket(
        requester=customer,
        subject=f"Help with {where}"[:MAX_TITLE],
        description="\n".join(context_lines(page)),
        channel=Channel.WEB,
    )


def context_lines(page: Page) -> list[str]:
    """The page context in words (a new ticket's description, the queue's panel)."""
    lines = [f"Asked for help from {page.url}" + (f" ({page.title})" if page.title else "") + "."]
    if page.field:
        lines.append(f"Stuck on the field '{page.field}'" + (f" ({page.trigger})." if page.trigger else "."))
    elif page.trigger:
        lines.append(f"Offered help after: {page.trigger}.")
    if page.completion is not None:
        lines.append(f"Form completion: {page.completion} %.")
    return lines


def create(ask: Ask, *, origin: str, client: ClientInfo | None = None) -> Created:
    """A waiting request with the consent the customer gave on the page; the signature is checked
    first, with both of the site's secrets, so an unsigned or forged id reaches nothing."""
    key = site_key(ask.site)
    if not site_keys.verify(key, ask.user_id, ask.signature):
        raise BadSignature("The signature does not match this user id.")
    account = key.account
    page_origin = check_origin(account, origin, ask.page.url)
    customer = site_user(account, ask.user_id)
    if ask.recording and not account.recording_allowed:
        raise ValidationError({"recording": "Recording is not available for this account."})
    ip, user_agent = stored_client_info(client)
    raw = new_token()
    with transaction.atomic():
        # One request waits per customer: a reload or a second Get help replaces the earlier one.
        superseded = list(
            HelpRequest.objects.select_for_update()
            .filter(customer=customer, state=HelpRequestState.WAITING)
            .values_list("pk", flat=True)
        )
        HelpRequest.objects.filter(pk__in=superseded).update(
            state=HelpRequestState.CANCELLED, closed_at=timezone.now()
        )
        ticket = _ticket_for(customer, ask.page)
        help_request = HelpRequest.objects.create(
            token_hash=hash_token(raw),
            account=account,
            site_user_id=ask.user_id,
            customer=customer,
            ticket=ticket,
            page_url=ask.page.url,
            page_title=ask.page.title,
            trigger=ask.page.trigger,
            stall_field=ask.page.field,
            completion=ask.page.completion,
            origin=page_origin,
            mode=ask.mode,
            recording=ask.recording,
            prompt_text=card_text(ask.mode, ask.recording),
            prompt_version=PROMPT_VERSION,
            client_ip=ip,
            user_agent=user_agent,
            expires_at=timezone.now() + timedelta(seconds=wait_seconds()),
        )
        ticket_services.record_event(
            ticket,
            EventKind.HELP_REQUESTED,
            actor=customer,
            data={"help_request": help_request.pk},
            internal=True,
        )
        audit.record(
            "consent.help_requested",
            actor=customer,
            obj=help_request,
            details={
                "help_request": help_request.pk,
                "ticket": ticket.pk,
                "mode": ask.mode,
                "recording": ask.recording,
                "superseded": superseded,
            },
        )
    return Created(help_request, raw)


def by_token(raw: str) -> HelpRequest:
    if not raw or len(raw) > 200:
        raise UnknownHelpRequest("Unknown help request.")
    found = HelpRequest.objects.select_related("ticket", "session", "taken_by").filter(
        token_hash=hash_token(raw)
    )
    help_request = found.first()
    if help_request is None:
        raise UnknownHelpRequest("Unknown help request.")
    return help_request


def expire_if_overdue(help_request: HelpRequest, now: datetime | None = None) -> HelpRequest:
    """Close a waiting request whose time ran out and ask for a call-back on its ticket."""
    now = now or timezone.now()
    if help_request.state != HelpRequestState.WAITING or help_request.expires_at > now:
        return help_request
    with transaction.atomic():
        locked = HelpRequest.objects.select_for_update().select_related("ticket").get(pk=help_request.pk)
        if locked.state != HelpRequestState.WAITING or locked.expires_at > now:
            return locked
        locked.state = HelpRequestState.EXPIRED
        locked.closed_at = now
        ticket = locked.ticket
        if ticket.is_open:
            # The portal's own "ask for a screen share": the ticket shows it and its assignee is told.
            session_services.request_screen_share(ticket, customer=locked.customer)
            locked.callback_requested = True
        locked.save(update_fields=["state", "closed_at", "callback_requested"])
        audit.record(
            "consent.help_expired",
            obj=locked,
            details={
                "help_request": locked.pk,
                "ticket": locked.ticket_id,
                "callback": locked.callback_requested,
            },
        )
    return locked


def expire_overdue() -> int:
    """The sweep's pass (registered with ``cobrowse.tasks.on_sweep``): every overdue waiting request."""
    overdue = HelpRequest.objects.filter(state=HelpRequestState.WAITING, expires_at__lte=timezone.now())
    count = 0
    for help_request in overdue.order_by("expires_at")[:500]:
        expire_if_overdue(help_request)
        count += 1
    return count


def cancel(raw: str) -> HelpRequest:
    """The customer pressed Cancel while waiting. Cancelling twice is fine; a taken one is not."""
    help_request = expire_if_overdue(by_token(raw))
    with transaction.atomic():
        locked = HelpRequest.objects.select_for_update().get(pk=help_request.pk)
        if locked.state == HelpRequestState.TAKEN:
            raise AlreadyTaken("An agent has taken this request: stop sharing from the badge instead.")
        if locked.state == HelpRequestState.EXPIRED:
            raise HelpRequestClosed("This help request has expired.")
        if locked.state == HelpRequestState.WAITING:
            locked.state = HelpRequestState.CANCELLED
            locked.closed_at = timezone.now()
            locked.save(update_fields=["state", "closed_at"])
            audit.record("consent.help_cancelled", obj=locked, details={"help_request": locked.pk})
    return locked


def take(help_request: HelpRequest | int, *, agent: User) -> CoBrowseSession:
    """The first capable agent takes a waiting request: the ticket is assigned to them (an
    assignment event), and the session opens already consented with what the customer allowed on
    the page. Of two agents the first wins (row lock); the second gets :class:`AlreadyTaken`."""
    if not permissions.can_use_cobrowse(agent):
        raise PermissionDenied(permissions.cobrowse_start_refusal(agent))
    pk = help_request if isinstance(help_request, int) else help_request.pk
    try:
        current = HelpRequest.objects.get(pk=pk)
    except HelpRequest.DoesNotExist as exc:
        raise UnknownHelpRequest("Unknown help request.") from exc
    current = expire_if_overdue(current)
    if current.state == HelpRequestState.WAITING:
        session_services.close_overdue(current.ticket)
    try:
        return _take(pk, agent=agent)
    except IntegrityError as exc:
        raise session_services.SessionAlreadyLive from exc


@transaction.atomic
def _take(pk: int, *, agent: User) -> CoBrowseSession:
    locked = HelpRequest.objects.select_for_update().select_related("ticket", "customer").get(pk=pk)
    if locked.state == HelpRequestState.TAKEN:
        raise AlreadyTaken("Another agent has already taken this request.")
    if locked.state != HelpRequestState.WAITING:
        raise HelpRequestClosed(f"This help request was {locked.state}.")
    ticket = locked.ticket
    if not ticket.is_open:
        raise HelpRequestClosed("The request's ticket is closed.")
    if ticket.assignee_id != agent.pk:
        ticket = ticket_services.assign(ticket, actor=agent, assignee=agent)
    target = session_services.validate_target_url(ticket, locked.page_url)
    session = session_services.open_session(ticket, agent=agent, target_url=target, kind=SessionKind.DOM)
    session_services.log_event(session, "help_taken", actor=agent, help_request=locked.pk)
    record = record_consent(
        session,
        kind=ConsentKind.INITIAL,
        decision=Decision.GRANTED,
        prompt_text=locked.prompt_text,
        mode=locked.mode,
        recording=locked.recording,
        customer=locked.customer,
        origin=locked.origin,
        decided_at=locked.created_at,
        kept_client=(locked.client_ip, locked.user_agent),
    )
    session = session_services.apply_consent(
        session, mode=locked.mode, recording=locked.recording, record=record
    )
    locked.state = HelpRequestState.TAKEN
    locked.taken_by = agent
    locked.taken_at = timezone.now()
    locked.session = session
    locked.save(update_fields=["state", "taken_by", "taken_at", "session"])
    audit.record(
        "consent.help_taken",
        actor=agent,
        obj=locked,
        details={"help_request": locked.pk, "session": session.pk, "ticket": ticket.pk, "consent": record.pk},
    )
    return session


# --- where it stands ---------------------------------------------------------------------------------


def status(raw: str, *, origin: str) -> dict[str, Any]:
    """What the waiting page is told. Once taken, the page that asked gets a tab grant (it allowed
    sharing on its own card, as a device confirmation does), so the recorder starts as usual."""
    help_request = expire_if_overdue(by_token(raw))
    answer: dict[str, Any] = {"state": help_request.state}
    if help_request.state == HelpRequestState.WAITING:
        answer["expires_at"] = help_request.expires_at.isoformat()
    elif help_request.state == HelpRequestState.EXPIRED:
        answer["message"] = expired_message(help_request)
    elif help_request.state == HelpRequestState.TAKEN:
        answer.update(_joined(help_request, origin))
    return answer


def expired_message(help_request: HelpRequest) -> str:
    if help_request.callback_requested:
        return (
            "No agent was free in time. We asked for a call-back on ticket "
            f"{help_request.ticket.reference}: support will get back to you."
        )
    return "No agent was free in time."


def _joined(help_request: HelpRequest, origin: str) -> dict[str, Any]:
    if policy.origin_of(origin or "") != help_request.origin:
        raise OriginRefused("Only the page that asked for help can join.")
    session = help_request.session
    if session is None:
        return {"ended": True}
    with transaction.atomic():
        session = session_services.lock(session)
        if session.state not in SHARING_STATES:
            return {"ended": True}
        grant = issue_grant(session, confirmed=True, origin=help_request.origin)
    agent = help_request.taken_by
    return {
        "session": session.pk,
        "grant": grant,
        "agent": agent.public_name if agent else "",
        "mode": session.mode,
        "recording": session.recording,
    }
