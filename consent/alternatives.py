"""When the customer's connection keeps dropping: the console offers a server-side browser session
or a call-back instead of another wait.

The relay reports each lost customer socket with its close code's cause (``cobrowse.page_signals``);
this module counts a session's *drops* among them: a navigation, a reload, a closed tab or the
session's own end close the socket normally and are not drops, exactly as the managers' disconnect
rate counts them (``analytics.selectors.NORMAL_CLOSES``). The count lives in the cache for the
session's longest possible life; the durable rows stay analytics' ``Disconnect``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction

from accounts import permissions
from accounts.models import User
from cobrowse import page_signals
from cobrowse import services as cobrowse_services
from cobrowse.models import LIVE_STATES, CoBrowseSession, EndReason, SessionKind
from consent.invitations import StartedSession, start_session
from consent.resume import session_channel
from tickets.models import EventKind, TicketEvent

#: Causes of a normal close: never a drop (the same list as the dashboard's disconnect rate).
NORMAL_CLOSES = frozenset({"closed", "page_left", "ended"})
#: From this many drops on, the console suggests the alternatives.
DROPS_BEFORE_ALTERNATIVES = 2


def _key(session_id: int) -> str:
    return f"cobrowse:drops:{session_id}"


def note_disconnect(report: page_signals.Disconnect) -> None:
    """The relay's disconnect report (registered in ``ConsentConfig.ready``): count it if a drop."""
    if report.cause in NORMAL_CLOSES:
        return
    key = _key(report.session_id)
    lifetime = settings.COBROWSE_MAX_DURATION_SECONDS + settings.COBROWSE_INACTIVITY_TIMEOUT_SECONDS
    cache.add(key, 0, timeout=lifetime)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=lifetime)


def drops(session: CoBrowseSession) -> int:
    return int(cache.get(_key(session.pk)) or 0)


def alternatives_due(session: CoBrowseSession) -> bool:
    """A live page session whose connection dropped at least twice."""
    return (
        session.kind == SessionKind.DOM
        and session.state in LIVE_STATES
        and drops(session) >= DROPS_BEFORE_ALTERNATIVES
    )


def _require_manager_of(actor: User, session: CoBrowseSession, what: str) -> None:
    if not permissions.can_manage_cobrowse_session(actor, session):
        raise PermissionDenied(f"Only the session's agent or a manager can {what}.")


def callback_requested(session: CoBrowseSession) -> bool:
    return TicketEvent.objects.filter(
        ticket_id=session.ticket_id,
        kind=EventKind.COBROWSE,
        data__step="callback_requested",
        data__session=session.pk,
    ).exists()


def request_callback(session: CoBrowseSession, *, actor: User) -> bool:
    """A call-back requested on the session's ticket (an activity line the customer sees, and an
    audit event); once per session. Returns False when it was already requested."""
    _require_manager_of(actor, session, "request a call-back")
    if not session.ticket.is_open:
        raise cobrowse_services.CoBrowseError("The ticket is closed.", code="ticket_closed")
    if callback_requested(session):
        return False
    cobrowse_services.log_step(session, "callback_requested", actor=actor, after="drops")
    return True


def switch_to_browser(session: CoBrowseSession, *, actor: User) -> StartedSession:
    """End the dropping session and invite the customer to a server-side browser on the same page,
    over the same channel: the ticket panel's own start, with the session's page and channel.

    Everything that could refuse the new session is checked before the old one ends, and the two
    happen in one transaction.
    """
    from cobrowse.browser.urlguard import UrlRefused, check_url
    from cobrowse.models import SessionKind as Kind

    _require_manager_of(actor, session, "start a server-side browser session")
    if session.kind != SessionKind.DOM or session.state not in LIVE_STATES:
        raise cobrowse_services.CoBrowseError("This session is not a live shared page.", code="not_live")
    if not session.target_url:
        raise cobrowse_services.CoBrowseError(
            "The session has no page address to open in a server-side browser.", code="no_target"
        )
    cobrowse_services.check_can_start(session.ticket, agent=actor, kind=Kind.BROWSER)
    target = cobrowse_services.validate_target_url(session.ticket, session.target_url)
    try:
        check_url(target)
    except UrlRefused as refused:
        raise cobrowse_services.CoBrowseError(
            f"This address may not be opened: {refused.reason}.", code="url_refused"
        ) from None
    channel = session_channel(session)
    with transaction.atomic():  # both or neither: a refused start leaves the page session as it was
        cobrowse_services.log_step(session, "switched_to_browser", actor=actor, channel=channel)
        cobrowse_services.end_session(session, actor=actor, reason=EndReason.AGENT_ENDED)
        return start_session(
            session.ticket, agent=actor, channel=channel, target_url=target, kind=Kind.BROWSER
        )
