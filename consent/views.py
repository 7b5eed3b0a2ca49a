"""The join link (``/j/<token>/``) and the consent screen; the customer's team members: the
customer invites or removes them, their own link (``/w/<token>/``) and consent screen, and the
watch page (``/watch/<session>/``). Everything but the watch page itself works without JavaScript."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import permissions
from accounts.redirects import safe_next
from cobrowse.models import CoBrowseSession, SessionKind, TeamViewer
from consent import ratelimit, services, team
from consent.models import DeliveryChannel, SessionInvite, TeamViewerInvite

CLAIMS_KEY = "consent_claims"
WATCH_CLAIMS_KEY = "watch_claims"
BOUND_KEY = "cobrowse_bound"
GRANT_HEADER = "HTTP_X_TANDEM_GRANT"


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


# --- the sharing customer invites (or removes) a member of their team ----------------------------


def _sharing_customer_session(request: HttpRequest, pk: int) -> CoBrowseSession | None:
    """The session, if this is its customer (logged in) or the browser that consented; else None."""
    session = CoBrowseSession.objects.select_related("ticket", "agent", "customer").filter(pk=pk).first()
    if session is None:
        return None
    if permissions.is_cobrowse_customer(request.user, session) or session.pk in request.session.get(
        BOUND_KEY, []
    ):
        return session
    return None


def back_to_sharing_page(request: HttpRequest, session: CoBrowseSession) -> HttpResponseRedirect:
    """After a customer's form post: back where they came from (same host only), else the sharing page."""
    target = safe_next(request, reverse("cobrowse:sharing", args=[session.pk]))
    return HttpResponseRedirect(target, status=303)


def signed_in_customer(request: HttpRequest):
    """The customer as a user, or None for the browser that consented without signing in."""
    return request.user if request.user.is_authenticated else None


@require_POST
def invite_team_member(request: HttpRequest, pk: int) -> HttpResponse:
    session = _sharing_customer_session(request, pk)
    if session is None:
        return _not_found(request)
    if not ratelimit.hit(request, scope="team_invite"):
        return render(request, "consent/rate_limited.html", status=429)
    try:
        invite = team.invite_team_viewer(
            session,
            name=request.POST.get("name", ""),
            email=request.POST.get("email", ""),
            channel=request.POST.get("channel", DeliveryChannel.EMAIL),
            customer=signed_in_customer(request),
            client=client_info(request),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return back_to_sharing_page(request, session)
    back = safe_next(request, reverse("cobrowse:sharing", args=[session.pk]))
    context = {
        "session": session,
        "invite": invite,
        "back": back,
        "ttl_minutes": settings.COBROWSE_INVITE_TTL_SECONDS // 60,
    }
    return render(request, "consent/team_invited.html", context)


@require_POST
def remove_team_member(request: HttpRequest, pk: int, viewer_pk: int) -> HttpResponse:
    session = _sharing_customer_session(request, pk)
    if session is None or not TeamViewer.objects.filter(pk=viewer_pk, session=session).exists():
        return _not_found(request)
    viewer = team.remove_team_viewer(
        session, viewer_pk, customer=signed_in_customer(request), client=client_info(request)
    )
    messages.success(request, f"{viewer.name} can no longer watch.")
    return back_to_sharing_page(request, session)


# --- the team member's own link, consent screen and watch page -----------------------------------


def _watch_consent_page(request: HttpRequest, link: TeamViewerInvite, *, status: int = 200) -> HttpResponse:
    viewer = link.team_viewer
    return render(
        request,
        "consent/watch_consent.html",
        {
            "viewer": viewer,
            "session": viewer.session,
            "customer_name": team.customer_name(viewer.session),
            "prompt": team.watch_prompt(viewer),
        },
        status=status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def watch_join(request: HttpRequest, token: str) -> HttpResponse:
    """``/w/<token>/``: claimed once by one browser; Join or Decline, recorded as their own consent."""
    if not ratelimit.hit(request, scope="watch"):
        return render(request, "consent/rate_limited.html", status=429)
    try:
        if request.method == "GET":
            try:
                link = team.claimed_watch_link(token, request.session.get(WATCH_CLAIMS_KEY, []))
            except services.InviteGone:
                link = team.claim_watch_link(token)
                claims = list(request.session.get(WATCH_CLAIMS_KEY, []))
                request.session[WATCH_CLAIMS_KEY] = [*claims[-9:], link.token_hash]
            if link.team_viewer.state != "opened":
                return _gone(request)
            return _watch_consent_page(request, link)
        link = team.claimed_watch_link(token, request.session.get(WATCH_CLAIMS_KEY, []))
        decision = request.POST.get("decision", "")
        if decision not in ("join", "decline"):
            return _watch_consent_page(request, link, status=400)
        outcome = team.decide_watch(link, join=decision == "join", client=client_info(request))
    except services.InviteNotFound:
        return _not_found(request)
    except services.InviteGone:
        return _gone(request)
    if outcome.grant:
        return HttpResponseRedirect(outcome.redirect_url, status=303)
    return render(request, "consent/watch_declined.html", {"session": outcome.team_viewer.session})


@never_cache
@require_GET
def watch(request: HttpRequest, pk: int) -> HttpResponse:
    """The team member's live view. The same page for any id: the grant in the fragment decides."""
    return render(
        request,
        "consent/watch.html",
        {
            "watch_config": {
                "session": pk,
                "socket_path": f"/ws/cobrowse/{pk}/watch/",
                "refresh_url": reverse("consent:watch_grant", args=[pk]),
                "leave_url": reverse("consent:watch_leave", args=[pk]),
                "refresh_every_ms": team.VIEWER_GRANT_TTL_SECONDS * 1000 // 3,
            }
        },
    )


def _grant_call(request: HttpRequest, pk: int, action) -> JsonResponse:
    if not ratelimit.hit(request, scope="watch"):
        return JsonResponse({"detail": "Too many requests."}, status=429)
    raw = request.META.get(GRANT_HEADER, "")
    try:
        viewer = team.verify_viewer_grant(raw)
        if viewer.session_id != pk:
            raise services.UnknownGrant("Unknown grant.")
        return action(raw)
    except services.UnknownGrant:
        return JsonResponse({"detail": "Unknown grant."}, status=404)
    except services.GrantError as exc:
        return JsonResponse({"detail": str(exc)}, status=410)


# A bearer grant in a header, never a cookie: no cross-site request can carry it, so no CSRF token.
@csrf_exempt
@require_POST
def watch_grant(request: HttpRequest, pk: int) -> JsonResponse:
    def refresh(raw: str) -> JsonResponse:
        grant = team.refresh_viewer_grant(raw)
        return JsonResponse({"expires_at": grant.expires_at.isoformat()})

    return _grant_call(request, pk, refresh)


@csrf_exempt
@require_POST
def watch_leave(request: HttpRequest, pk: int) -> JsonResponse:
    def leave(raw: str) -> JsonResponse:
        team.leave_watching(raw)
        return JsonResponse({"left": True})

    return _grant_call(request, pk, leave)
