"""The queue's "Waiting for help" panel: help requests from the widget, for agents who may co-browse."""

from __future__ import annotations

from typing import Any

from django import template

from consent.selectors import waiting_help_requests

register = template.Library()


@register.inclusion_tag("consent/_help_queue.html", takes_context=True)
def help_queue_panel(context: Any) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    return {
        "help_requests": waiting_help_requests(user) if user is not None else [],
        "csrf_token": context.get("csrf_token"),
    }
