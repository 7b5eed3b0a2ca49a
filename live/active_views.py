"""The "Active sessions" page: every way into a live session's view, one click from the navigation.

Thin: the selector decides what the user may see (their own sessions, the ones they were invited to
watch, and for managers every live one); this view adds the relay's last known connection quality
and renders.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts import permissions
from accounts.decorators import staff_only
from accounts.http import AuthenticatedHttpRequest
from cobrowse import selectors
from cobrowse.models import CoBrowseSession
from live import selectors as live_selectors
from live.relay_state import Quality


@dataclass(frozen=True)
class ActiveRow:
    """One line of the page: the session, where to watch it, and its quality if the relay stored one."""

    session: CoBrowseSession
    watch_url: str
    quality: Quality | None


@require_GET
@staff_only
def active_sessions(request: AuthenticatedHttpRequest) -> HttpResponse:
    lists = selectors.active_sessions(request.user)
    qualities = live_selectors.relay_qualities([s.pk for rows in lists.values() for s in rows])

    def rows(sessions: list[CoBrowseSession]) -> list[ActiveRow]:
        return [ActiveRow(s, selectors.watch_url(s), qualities.get(s.pk)) for s in sessions]

    context = {
        "own": rows(lists["own"]),
        "invited": rows(lists["invited"]),
        "everyone": rows(lists["all"]),
        "is_manager": permissions.is_manager(request.user),
        "nav": "active_sessions",
    }
    return render(request, "cobrowse/active_sessions.html", context)
