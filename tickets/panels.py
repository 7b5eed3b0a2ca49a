"""Panels that apps above tickets add to the customer portal's ticket page.

Why a registry: tickets sits below cobrowse and consent in the layers, so its views may not import
them to ask what a ticket page should show (an invitation to share the screen, say). Instead an app
above registers a provider here from its ``AppConfig.ready()``; the page renders, in registration
order, the HTML each provider returns for the request and ticket. tickets knows nothing of what the
panels are, and an app that is not installed adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest

from tickets.models import Ticket

#: Given the request and a ticket its user may see, the panel's HTML (safe), or "" to show nothing.
PortalPanel = Callable[[HttpRequest, Ticket], str]

_portal_panels: list[PortalPanel] = []


def register_portal_panel(provider: PortalPanel) -> None:
    """Add a panel to the portal ticket page; registering the same provider again changes nothing."""
    if provider not in _portal_panels:
        _portal_panels.append(provider)


def portal_panels(request: HttpRequest, ticket: Ticket) -> list[str]:
    """The HTML of every registered panel that has something to show for this ticket."""
    return [html for provider in _portal_panels if (html := provider(request, ticket))]
