"""Template hooks through which ticket pages show co-browse controls."""

from __future__ import annotations

from django import template

register = template.Library()


@register.inclusion_tag("cobrowse/_ticket_panel.html", takes_context=True)
def ticket_cobrowse_panel(context, ticket):
    """The co-browse panel on the agent's ticket page."""
    return {"ticket": ticket, "request": context.get("request"), "user": context.get("user")}


@register.inclusion_tag("cobrowse/_portal_panel.html", takes_context=True)
def portal_cobrowse_panel(context, ticket):
    """The screen-share controls on the customer's ticket page in the portal."""
    return {"ticket": ticket, "request": context.get("request"), "user": context.get("user")}
