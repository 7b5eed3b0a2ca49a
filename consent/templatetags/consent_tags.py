"""The sharing customer's panel for the members of their team who watch (view only)."""

from __future__ import annotations

from django import template

from cobrowse.models import TEAM_VIEWER_OPEN
from consent.models import DeliveryChannel
from consent.team import TEAM_CHANNELS

register = template.Library()


@register.inclusion_tag("consent/_team_viewers.html", takes_context=True)
def team_viewers_panel(context, session):
    """Who from the customer's team may watch, with Remove; and the form to invite someone."""
    open_viewers = [v for v in session.team_viewers.all() if v.state in TEAM_VIEWER_OPEN]
    return {
        "session": session,
        "csrf_token": context.get("csrf_token"),
        "next": getattr(context.get("request"), "path", ""),
        "team_viewers": open_viewers,
        "channels": [(c, DeliveryChannel(c).label) for c in TEAM_CHANNELS],
        "can_invite": session.is_sharing and session.kind == "dom",
    }


@register.inclusion_tag("consent/_delivery_status.html")
def invite_delivery_status(session):
    """For staff: how the session's current link went out — sent when and how, or why not.

    Never the link itself (the copy channel shows it once, on the page that issued it).
    """
    from consent.selectors import delivery_status

    return {"status": delivery_status(session)}


@register.inclusion_tag("tickets/portal/_notifications.html", takes_context=True)
def in_app_notifications(context):
    """The portal header's notices: invitations to share the screen that are waiting for the customer."""
    from consent.inapp import pending_in_app_invites

    user = context.get("user")
    invitations = list(pending_in_app_invites(user)[:10]) if user is not None else []
    return {"invitations": invitations}
