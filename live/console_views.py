"""The agent's live console for one co-browse session.

Thin: authorize through ``accounts.permissions`` (anyone else gets a 404, so a session's existence
is not revealed), read through ``cobrowse.selectors``, render. Everything live happens in the page
over the agent socket.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts import permissions
from cobrowse import selectors, services
from cobrowse.models import MODE_ORDER, CoBrowseSession, ControlMode, EndReason

REQUESTABLE_MODES: tuple[str, ...] = (ControlMode.GUIDED, ControlMode.CONTROLLED, ControlMode.FULL)


def _session_for_console(request: HttpRequest, pk: int) -> CoBrowseSession:
    try:
        session = selectors.visible_sessions(request.user).select_related("ticket__account").get(pk=pk)
    except CoBrowseSession.DoesNotExist:
        raise Http404("No such co-browse session.") from None
    if not permissions.can_view_cobrowse_session(request.user, session):
        raise Http404("No such co-browse session.")
    if services.overdue_reason(session) is not None:  # with the beat stopped too: ended, then shown
        session = services.refresh_state(session)
    return session


@login_required
@require_GET
def live_console(request: HttpRequest, pk: int) -> HttpResponse:
    session = _session_for_console(request, pk)
    labels = dict(ControlMode.choices)
    socket_path = f"/ws/cobrowse/{session.pk}/agent/"
    end_url = reverse("api-cobrowse-end", args=[session.pk])
    context = {
        "session": session,
        "ticket": session.ticket,
        "socket_path": socket_path,
        "ticket_url": reverse("tickets:agent_ticket", args=[session.ticket.number]),
        "can_manage": permissions.can_manage_cobrowse_session(request.user, session),
        "is_agent": session.agent_id == request.user.pk,
        "requestable_modes": [(mode, labels[mode]) for mode in REQUESTABLE_MODES],
        "console_config": {
            "session": session.pk,
            "socket_path": socket_path,
            "end_url": end_url,
            "viewers_url": reverse("api-cobrowse-viewers", args=[session.pk]),
            "state": session.state,
            "live": session.is_live,
            "mode": session.mode,
            "mode_labels": labels,
            "mode_order": list(MODE_ORDER),
            "started_at": session.started_at.isoformat() if session.started_at else None,
            "deadline_at": session.deadline_at.isoformat() if session.deadline_at else None,
            "end_reason": session.get_end_reason_display() if session.end_reason else "",
            "end_reasons": dict(EndReason.choices),
        },
    }
    return render(request, "cobrowse/console.html", context)
