"""Co-browse pages: the agent's panel actions, the customer's controls, manager approvals.

Thin: parse, authorize (accounts.permissions), call a service, render or redirect. Every form
works without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts import permissions
from accounts.http import AuthenticatedHttpRequest
from cobrowse import selectors, services
from cobrowse.models import CoBrowseSession, ControlMode, ExtensionRequest, ModeRequest, SessionKind
from consent import answers, invitations
from consent.models import DeliveryChannel
from consent.views import BOUND_KEY, back_to_sharing_page, client_info, signed_in_customer
from tickets import selectors as ticket_selectors
from tickets.models import Ticket


def _message_page(request: HttpRequest, title: str, text: str, status: int) -> HttpResponse:
    return render(request, "cobrowse/message.html", {"title": title, "text": text}, status=status)


def _errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _handle_errors(view: Callable) -> Callable:
    """Refusals become clear 4xx pages, never 500s."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            return _message_page(request, "Not allowed", str(exc) or "You may not do this.", 403)
        except (CoBrowseSession.DoesNotExist, ModeRequest.DoesNotExist, ExtensionRequest.DoesNotExist):
            return _message_page(request, "Not found", "There is no such co-browse session or request.", 404)

    return wrapped


def _ticket_url(ticket: Ticket) -> str:
    return reverse("tickets:agent_ticket", args=[ticket.number])


def _portal_url(ticket: Ticket) -> str:
    return reverse("tickets:portal_ticket", args=[ticket.number])


# --- agent ---------------------------------------------------------------------------------------


@login_required
@require_POST
@_handle_errors
def start(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    ticket = ticket_selectors.ticket_or_404(request.user, number)
    if not permissions.can_start_cobrowse(request.user, ticket):
        raise PermissionDenied(permissions.cobrowse_start_refusal(request.user, ticket))
    channel = request.POST.get("channel", DeliveryChannel.COPY)
    kind = request.POST.get("kind", SessionKind.DOM)
    try:
        started = invitations.start_session(
            ticket,
            agent=request.user,
            channel=channel,
            target_url=request.POST.get("target_url", ""),
            kind=kind,
        )
    except ValidationError as exc:
        return _message_page(request, "Co-browse not started", _errors(exc), 400)
    return render(
        request, "cobrowse/started.html", {"started": started, "ticket": ticket, "channel": channel}
    )


def _agent_session(request: AuthenticatedHttpRequest, pk: int) -> CoBrowseSession:
    session = CoBrowseSession.objects.select_related("ticket").get(pk=pk)
    if not permissions.can_view_cobrowse_session(request.user, session):
        raise CoBrowseSession.DoesNotExist
    return session


@login_required
@require_POST
@_handle_errors
def agent_action(request: AuthenticatedHttpRequest, pk: int, action: str) -> HttpResponse:
    """end / resend / mode / extend, posted from the agent's ticket panel."""
    session = _agent_session(request, pk)
    try:
        if action == "end":
            services.end_session(session, actor=request.user)
            messages.success(request, "The co-browse session has ended.")
        elif action == "resend":
            channel = request.POST.get("channel", DeliveryChannel.COPY)
            started = invitations.resend_invite(session, actor=request.user, channel=channel)
            return render(
                request,
                "cobrowse/started.html",
                {"started": started, "ticket": session.ticket, "channel": channel},
            )
        elif action == "mode":
            result = services.request_mode(session, actor=request.user, mode=request.POST.get("mode", ""))
            if isinstance(result, ModeRequest):
                who = "a manager" if result.state == "pending_manager" else "the customer"
                messages.info(request, f"Asked {who} for {result.get_to_mode_display()}.")
            else:
                messages.success(request, f"Mode lowered to {result.get_mode_display()}.")
        elif action == "extend":
            services.request_extension(session, actor=request.user)
            messages.info(request, "Asked the customer for more time.")
        else:
            raise Http404
    except ValidationError as exc:
        messages.error(request, _errors(exc))
        return HttpResponseRedirect(_ticket_url(session.ticket), status=303)
    return HttpResponseRedirect(_ticket_url(session.ticket), status=303)


# --- customer ------------------------------------------------------------------------------------


def customer_may_act(request: HttpRequest, session: CoBrowseSession) -> bool:
    """The logged-in customer of the session, or the browser that gave consent for it."""
    if permissions.is_cobrowse_customer(request.user, session):
        return True
    return session.pk in request.session.get(BOUND_KEY, [])


def _customer_session(request: HttpRequest, pk: int) -> CoBrowseSession:
    session = CoBrowseSession.objects.select_related("ticket", "agent").get(pk=pk)
    if not customer_may_act(request, session):
        raise CoBrowseSession.DoesNotExist  # 404: do not reveal other people's sessions
    return session


@require_POST
@_handle_errors
def stop_sharing(request: HttpRequest, pk: int) -> HttpResponse:
    session = _customer_session(request, pk)
    try:
        answers.revoke_session(session, customer=signed_in_customer(request), client=client_info(request))
    except ValidationError as exc:
        return _message_page(request, "Nothing to stop", _errors(exc), 409)
    messages.success(request, "You stopped sharing. The agent can no longer see your screen.")
    return back_to_sharing_page(request, session)


def _answer(
    request: HttpRequest,
    model: type[ModeRequest] | type[ExtensionRequest],
    pk: int,
    respond: Callable[..., object],
) -> HttpResponse:
    """The customer accepts or declines a mode request or an extension, from the portal panel."""
    pending = model.objects.select_related("session").get(pk=pk)
    session = _customer_session(request, pending.session_id)
    try:
        respond(
            pending,
            accept=request.POST.get("answer") == "accept",
            customer=signed_in_customer(request),
            client=client_info(request),
        )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    return back_to_sharing_page(request, session)


@require_POST
@_handle_errors
def answer_mode_request(request: HttpRequest, pk: int) -> HttpResponse:
    return _answer(request, ModeRequest, pk, answers.respond_to_mode_request)


@require_POST
@_handle_errors
def answer_extension(request: HttpRequest, pk: int) -> HttpResponse:
    return _answer(request, ExtensionRequest, pk, answers.respond_to_extension)


@require_POST
@_handle_errors
def lower_mode(request: HttpRequest, pk: int) -> HttpResponse:
    session = _customer_session(request, pk)
    try:
        answers.customer_lower_mode(
            session,
            mode=request.POST.get("mode", ""),
            customer=signed_in_customer(request),
            client=client_info(request),
        )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    return back_to_sharing_page(request, session)


@require_GET
@_handle_errors
def sharing(request: HttpRequest, pk: int) -> HttpResponse:
    """ "You are sharing": the session's page on Tandem itself, with Stop sharing."""
    session = services.refresh_state(_customer_session(request, pk))
    return render(
        request,
        "cobrowse/sharing.html",
        {
            "session": session,
            "mode_request": selectors.customer_mode_request(session),
            "extension": selectors.pending_extension(session),
            "lower_modes": _lower_modes(session),
        },
    )


def _lower_modes(session: CoBrowseSession) -> list[tuple[str, str]]:
    from cobrowse.models import MODE_ORDER, mode_rank

    return [(m, ControlMode(m).label) for m in MODE_ORDER if mode_rank(m) < mode_rank(session.mode)]


@login_required
@require_POST
@_handle_errors
def request_screen_share(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    ticket = ticket_selectors.ticket_or_404(request.user, number)
    try:
        services.request_screen_share(ticket, customer=request.user)
        messages.success(request, "Your agent has been asked to start a screen share.")
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    return HttpResponseRedirect(_portal_url(ticket), status=303)


# --- managers ------------------------------------------------------------------------------------


@login_required
@_handle_errors
def approvals(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not permissions.can_approve_full_control(request.user):
        raise PermissionDenied("Only managers approve full control.")
    pending = list(selectors.pending_full_control_requests())
    for req in pending:  # the page says why, and offers no Approve button, for one's own
        reason = services.own_request_reason(req, req.session, request.user)
        req.own_reason = reason  # type: ignore[attr-defined]  # read by the template only
    return render(request, "cobrowse/approvals.html", {"requests": pending, "nav": "approvals"})


@login_required
@require_POST
@_handle_errors
def decide_approval(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    if not permissions.can_approve_full_control(request.user):
        raise PermissionDenied("Only managers approve full control.")
    approve = request.POST.get("decision") == "approve"
    try:
        services.decide_full_control(pk, manager=request.user, approve=approve)
        messages.success(request, "Approved: the customer is now asked." if approve else "Declined.")
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    except services.OwnFullControlRequest as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(reverse("cobrowse:approvals"), status=303)
    return HttpResponseRedirect(reverse("cobrowse:approvals"), status=303)
