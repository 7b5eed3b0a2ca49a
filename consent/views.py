"""The join link (``/j/<token>/``) and the consent screen. Works without JavaScript."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from cobrowse.models import SessionKind
from consent import ratelimit, services
from consent.models import SessionInvite

CLAIMS_KEY = "consent_claims"
BOUND_KEY = "cobrowse_bound"


def client_info(request: HttpRequest) -> services.ClientInfo:
    return services.ClientInfo(
        ip=ratelimit.client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")[:500]
    )


def bind_session(request: HttpRequest, session_id: int) -> None:
    """This browser may now stop sharing (and answer requests) for the session without a login."""
    bound = list(request.session.get(BOUND_KEY, []))
    if session_id not in bound:
        request.session[BOUND_KEY] = [*bound[-9:], session_id]


def _gone(request: HttpRequest) -> HttpResponse:
    return render(request, "consent/gone.html", status=410)


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "consent/not_found.html", status=404)


def _consent_page(request: HttpRequest, invite: SessionInvite, *, error: str = "", status: int = 200):
    session = invite.session
    account = session.ticket.account
    return render(
        request,
        "consent/consent.html",
        {
            "session": session,
            "prompt": services.consent_prompt(session),
            "recording_offered": account is None or account.recording_allowed,
            "third_party": services.is_third_party(session),
            "browser_session": session.kind == SessionKind.BROWSER,
            "error": error,
        },
        status=status,
    )


def _claimed(request: HttpRequest, token: str) -> SessionInvite:
    return services.claimed_invite(token, request.session.get(CLAIMS_KEY, []))


@never_cache
@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, token: str) -> HttpResponse:
    if not ratelimit.hit(request):
        return render(request, "consent/rate_limited.html", status=429)
    try:
        if request.method == "GET":
            try:
                invite = _claimed(request, token)  # a reload by the browser that claimed it
            except services.InviteGone:
                invite = services.claim_invite(token)
                claims = list(request.session.get(CLAIMS_KEY, []))
                request.session[CLAIMS_KEY] = [*claims[-9:], invite.token_hash]
            if invite.session.state != "invited":
                return _after_decision(request, invite)
            return _consent_page(request, invite)
        invite = _claimed(request, token)
        return _decide(request, invite)
    except services.InviteNotFound:
        return _not_found(request)
    except services.InviteGone:
        return _gone(request)


def _after_decision(request: HttpRequest, invite: SessionInvite) -> HttpResponse:
    session = invite.session
    if session.is_sharing and session.pk in request.session.get(BOUND_KEY, []):
        return HttpResponseRedirect(reverse("cobrowse:sharing", args=[session.pk]))
    return _gone(request)


def _decide(request: HttpRequest, invite: SessionInvite) -> HttpResponse:
    decision = request.POST.get("decision", "")
    customer = request.user if request.user.is_authenticated else None
    if decision == "deny":
        services.deny_consent(invite, customer=customer, client=client_info(request))
        return render(request, "consent/denied.html", {"session": invite.session})
    if decision not in services.CONSENT_CHOICES:
        return _consent_page(request, invite, error="Choose one of the options below.", status=400)
    try:
        outcome = services.grant_consent(
            invite,
            mode=decision,
            recording=request.POST.get("recording") == "on",
            customer=customer,
            client=client_info(request),
        )
    except ValidationError as exc:
        return _consent_page(request, invite, error=" ".join(exc.messages), status=400)
    bind_session(request, outcome.session.pk)
    if outcome.redirect_url:
        return HttpResponseRedirect(outcome.redirect_url)
    return HttpResponseRedirect(
        reverse("cobrowse:sharing", args=[outcome.session.pk]) + f"#tandem={outcome.grant}"
    )
