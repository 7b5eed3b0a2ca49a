"""Template hooks through which ticket pages show co-browse controls."""

from __future__ import annotations

from django import template

from accounts import permissions
from cobrowse import selectors, services
from cobrowse.models import MODE_ORDER, ControlMode, SessionKind, SessionState, mode_rank
from consent import inapp, resume
from consent.models import DeliveryChannel

register = template.Library()


def _live(ticket):
    """The ticket's live session, with any overdue timer applied first."""
    session = selectors.live_session_for_ticket(ticket)
    if session is not None:
        session = services.refresh_state(session)
        if not session.is_live:
            return None
    return session


@register.inclusion_tag("cobrowse/_ticket_panel.html", takes_context=True)
def ticket_cobrowse_panel(context, ticket):
    """The co-browse panel on the agent's ticket page."""
    user = context.get("user")
    live = _live(ticket)
    can_manage = bool(live and permissions.can_manage_cobrowse_session(user, live))
    # Who may open the live view: the session's agent, managers, colleagues invited to watch.
    can_watch = bool(live and permissions.can_view_cobrowse_session(user, live))
    return {
        "ticket": ticket,
        "request": context.get("request"),
        "user": user,
        "csrf_token": context.get("csrf_token"),
        "live": live,
        "can_start": permissions.can_start_cobrowse(user, ticket) and ticket.is_open and live is None,
        "may_start": permissions.can_start_cobrowse(user, ticket),
        "start_refusal": permissions.cobrowse_start_refusal(user, ticket),
        "takes_ticket": permissions.takes_ticket_to_start_cobrowse(user, ticket),
        "can_manage": can_manage,
        "can_watch": can_watch,
        # A page that lost its connection: seconds until a fresh link may be sent (0: now).
        "fresh_link_wait": resume.fresh_link_wait(live) if can_manage and live else None,
        "watch_url": selectors.watch_url(live) if can_watch else "",
        "channels": DeliveryChannel.choices,
        "kinds": SessionKind.choices,
        "default_target": ticket.account.site_url if ticket.account else "",
        "open_request": selectors.open_mode_request(live) if live else None,
        "extension": selectors.pending_extension(live) if live else None,
        "higher_modes": [
            (m, ControlMode(m).label) for m in MODE_ORDER if live and mode_rank(m) > mode_rank(live.mode)
        ],
        "lower_modes": [
            (m, ControlMode(m).label) for m in MODE_ORDER if live and mode_rank(m) < mode_rank(live.mode)
        ],
        "recent": [s for s in selectors.sessions_for_ticket(ticket) if not s.is_live],
    }


@register.inclusion_tag("cobrowse/_portal_panel.html", takes_context=True)
def portal_cobrowse_panel(context, ticket):
    """The screen-share controls on the customer's ticket page in the portal.

    While the customer is invited, the panel says how the invitation reached them, so it names what
    they can do: press Open on the in-app invitation the page shows (consent's portal panel), or
    open the link that came by e-mail, SMS or chat, or that the agent pastes.
    """
    user = context.get("user")
    live = _live(ticket)
    recent = [s for s in selectors.sessions_for_ticket(ticket, limit=1) if not s.is_live]
    invited = live is not None and live.state == SessionState.INVITED
    return {
        "ticket": ticket,
        "request": context.get("request"),
        "user": user,
        "csrf_token": context.get("csrf_token"),
        "live": live,
        "invited_channel": live.invites.values_list("channel", flat=True).first() if invited else "",
        "open_invitation": invited and inapp.pending_in_app_invites(user).filter(session=live).exists(),
        "last": recent[0] if recent else None,
        "can_request": permissions.can_request_screen_share(user, ticket) and ticket.is_open and live is None,
        "mode_request": selectors.customer_mode_request(live) if live else None,
        "extension": selectors.pending_extension(live) if live else None,
        "lower_modes": [
            (m, ControlMode(m).label) for m in MODE_ORDER if live and mode_rank(m) < mode_rank(live.mode)
        ],
    }


@register.inclusion_tag("cobrowse/_resume_sharing.html", takes_context=True)
def resume_sharing(context, session):
    """For a page session in ``reconnecting``: the notice, and Resume sharing for its customer."""
    user = context.get("user")
    return {
        "session": session,
        "reconnecting": resume.resumable(session),
        "can_resume": bool(user and user.is_authenticated and resume.may_resume(user, session)),
        "csrf_token": context.get("csrf_token"),
    }
