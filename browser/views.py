"""The screencast viewer page. Staff are recognised by their login; the customer's page carries the
session grant in the URL fragment (``#tandem=<grant>``, never sent to the server) and hands it to
the socket in its first message, as the DOM relay's widget does."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from accounts import permissions
from cobrowse.models import CoBrowseSession, SessionKind


@never_cache
def viewer(request: HttpRequest, pk: int) -> HttpResponse:
    session = (
        CoBrowseSession.objects.select_related("ticket", "agent")
        .filter(pk=pk, kind=SessionKind.BROWSER)
        .first()
    )
    if session is None:
        raise Http404("No such browser session.")
    staff = permissions.can_view_cobrowse_session(request.user, session)
    context = {
        "session_id": session.pk,
        "role": ("agent" if session.agent_id == request.user.pk else "viewer") if staff else "customer",
        # Staff see the ticket; an anonymous visitor learns nothing before the socket accepts the grant.
        "ticket": session.ticket.reference if staff else "",
        # The session's agent and managers may end it for everyone (the API checks again).
        "can_end": staff and permissions.can_manage_cobrowse_session(request.user, session),
    }
    return render(request, "cobrowse/browser_viewer.html", context)
