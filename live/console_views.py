"""The agent's live console for one co-browse session.

Thin: authorize through ``accounts.permissions`` (anyone else gets a 404, so a session's existence
is not revealed), read through ``cobrowse.selectors``, render. Everything live happens in the page
over the agent socket.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts import permissions
from accounts.http import AuthenticatedHttpRequest
from cobrowse import selectors
from cobrowse import services as session_services
from cobrowse.models import MODE_ORDER, CoBrowseSession, ControlMode, EndReason
from consent import alternatives, resume
from consent.invitations import StartedSession

REQUESTABLE_MODES: tuple[str, ...] = (ControlMode.GUIDED, ControlMode.CONTROLLED, ControlMode.FULL)


def _session_for_console(request: HttpRequest, pk: int) -> CoBrowseSession:
    try:
        session = selectors.visible_sessions(request.user).select_related("ticket__account").get(pk=pk)
    except CoBrowseSession.DoesNotExist:
        raise Http404("No such co-browse session.") from None
    if not permissions.can_view_cobrowse_session(request.user, session):
        raise Http404("No such co-browse session.")
    if session_services.overdue_reason(session) is not None:  # with the beat stopped too: ended, then shown
        session = session_services.refresh_state(session)
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
            "connection_url": reverse("console:connection", args=[session.pk]),
            "fresh_link_url": reverse("console:fresh_link", args=[session.pk]),
            "callback_url": reverse("console:callback", args=[session.pk]),
            "browser_url": reverse("console:browser", args=[session.pk]),
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


# --- a page that lost its connection: a fresh link, or another way to help ---------------------


def connection_state(session: CoBrowseSession) -> dict[str, Any]:
    """What the console offers for the customer's connection (``GET …/connection/``)."""
    return {
        "state": session.state,
        "fresh_link_in": resume.fresh_link_wait(session),
        "drops": alternatives.drops(session),
        "alternatives": alternatives.alternatives_due(session),
        "callback_requested": alternatives.callback_requested(session),
        "browser_possible": bool(session.target_url),
    }


@login_required
@never_cache
@require_GET
def connection(request: HttpRequest, pk: int) -> HttpResponse:
    session = session_services.refresh_state(_session_for_console(request, pk))
    return JsonResponse(connection_state(session))


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


#: Refusal codes that mean "not in this state" (409) or "too often" (429); any other is 400.
_CONFLICTS = {"not_reconnecting", "too_soon", "not_live", "session_exists", "ticket_closed"}


def _refusals(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The console's buttons (JSON) and the ticket panel's forms (pages) share these views: a
    refusal is ``{"detail", "code"}`` with 403/409/429/400, or a message on the ticket page."""

    @wraps(view)
    def wrapped(request: HttpRequest, pk: int) -> HttpResponse:
        session = _session_for_console(request, pk)
        try:
            return view(request, session)
        except PermissionDenied as exc:
            detail, code, status = str(exc) or "You may not do this.", "forbidden", 403
        except ValidationError as exc:
            detail, code = " ".join(exc.messages), exc.code or "invalid"
            status = 429 if code == "rate_limited" else 409 if code in _CONFLICTS else 400
        if _wants_json(request):
            return JsonResponse({"detail": detail, "code": code}, status=status)
        messages.error(request, detail)
        return HttpResponseRedirect(reverse("tickets:agent_ticket", args=[session.ticket.number]), status=303)

    return wrapped


def _invitation_sent(request: HttpRequest, started: StartedSession) -> HttpResponse:
    if _wants_json(request):
        body = {"notice": started.notice, "join_url": started.join_url, "session": started.session.pk}
        if started.session.pk:
            body["watch_url"] = selectors.watch_url(started.session)
        return JsonResponse(body)
    return render(
        request,
        "cobrowse/started.html",
        {"started": started, "ticket": started.session.ticket, "channel": started.channel},
    )


@login_required
@require_POST
@_refusals
def fresh_link(request: AuthenticatedHttpRequest, session: CoBrowseSession) -> HttpResponse:
    """Send a fresh link over the session's channel (its page lost the connection long enough)."""
    return _invitation_sent(request, resume.send_fresh_link(session, actor=request.user))


@login_required
@require_POST
@_refusals
def callback(request: AuthenticatedHttpRequest, session: CoBrowseSession) -> HttpResponse:
    """The connection keeps dropping: ask for a call-back on the ticket."""
    created = alternatives.request_callback(session, actor=request.user)
    text = "A call-back is requested on the ticket." if created else "A call-back was already requested."
    if _wants_json(request):
        return JsonResponse({"notice": text})
    messages.success(request, text)
    return HttpResponseRedirect(reverse("tickets:agent_ticket", args=[session.ticket.number]), status=303)


@login_required
@require_POST
@_refusals
def browser(request: AuthenticatedHttpRequest, session: CoBrowseSession) -> HttpResponse:
    """The connection keeps dropping: end this session, invite to a server-side browser instead."""
    return _invitation_sent(request, alternatives.switch_to_browser(session, actor=request.user))
