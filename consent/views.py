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
from accounts.models import User
from accounts.redirects import safe_next
from cobrowse.models import CoBrowseSession, SessionKind, TeamViewer
from consent import grants, prompts, ratelimit, records, resume, services, team
from consent.models import DeliveryChannel, SessionInvite, TeamViewerInvite

WATCH_JOINED_KEY = "watch_joined"
BOUND_KEY = "cobrowse_bound"
GRANT_HEADER = "HTTP_X_TANDEM_GRANT"


def client_info(request: HttpRequest) -> records.ClientInfo:
    return records.ClientInfo(
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


def _recording_offered(session: CoBrowseSession) -> bool:
    account = session.ticket.account
    return account is None or account.recording_allowed


def _asks_recording_separately(session: CoBrowseSession) -> bool:
    """A server-side browser on a third-party site: recording would keep what that site shows, so
    it is its own question (record / do not record), never a box next to the sharing choice."""
    browser = session.kind == SessionKind.BROWSER
    return browser and prompts.is_third_party(session) and _recording_offered(session)


def _consent_page(request: HttpRequest, invite: SessionInvite, *, error: str = "", status: int = 200):
    session = invite.session
    return render(
        request,
        "consent/consent.html",
        {
            "session": session,
            "prompt": prompts.consent_prompt(session),
            "recording_offered": _recording_offered(session),
            "third_party": prompts.is_third_party(session),
            "browser_session": session.kind == SessionKind.BROWSER,
            "recording_asked_separately": _asks_recording_separately(session),
            "error": error,
        },
        status=status,
    )


def _staff_refused(request: HttpRequest, staff: User, session_id: int, *, link: str) -> HttpResponse:
    """Signed-in support staff never decide on a customer's (or team member's) link: 403, recorded."""
    services.refuse_staff(session_id, staff, link=link)
    return render(request, "consent/staff_refused.html", status=403)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def join(request: HttpRequest, token: str) -> HttpResponse:
    """``/j/<token>/``: GET (or HEAD) shows the consent screen and uses nothing, so a mail scanner
    that fetches the link leaves it working; the POST with the decision claims it."""
    if not ratelimit.hit(request):
        return render(request, "consent/rate_limited.html", status=429)
    try:
        if request.user.is_authenticated and permissions.is_support_staff(request.user):
            return _staff_refused(request, request.user, services.invite_session_id(token), link="join")
        invite = services.open_invite(token)
        if resume.resumable(invite.session):
            return (
                _resume_decide(request, invite) if request.method == "POST" else _resume_page(request, invite)
            )
        if request.method == "POST":
            return _decide(request, invite)
        return _consent_page(request, invite)
    except services.InviteNotFound:
        return _not_found(request)
    except services.InviteGone as exc:
        return _after_decision(request, exc.session_id)


def _after_decision(request: HttpRequest, session_id: int | None) -> HttpResponse:
    """A link that can no longer be decided: 410, except for a reload by the browser that decided
    while it is sharing (its "You are sharing" page)."""
    if (
        request.method == "GET"
        and session_id is not None
        and session_id in request.session.get(BOUND_KEY, [])
    ):
        session = CoBrowseSession.objects.filter(pk=session_id).first()
        if session is not None and session.is_sharing:
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
    if _asks_recording_separately(invite.session) and request.POST.get("recording") not in ("on", "off"):
        return _consent_page(
            request, invite, error="Choose whether what the secure browser shows may be recorded.", status=400
        )
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


def _resume_page(request: HttpRequest, invite: SessionInvite, *, status: int = 200) -> HttpResponse:
    """A fresh link's screen: the session runs; continue on this device with the same terms."""
    session = invite.session
    return render(
        request,
        "consent/resume.html",
        {
            "session": session,
            "intro": prompts.resume_intro(session),
            "terms": prompts.resume_terms(session),
        },
        status=status,
    )


def _resume_decide(request: HttpRequest, invite: SessionInvite) -> HttpResponse:
    decision = request.POST.get("decision", "")
    if decision not in ("continue", "deny"):
        return _resume_page(request, invite, status=400)
    outcome = resume.continue_sharing(
        invite,
        allow=decision == "continue",
        customer=signed_in_customer(request),
        client=client_info(request),
    )
    if not outcome.grant:
        text = (
            f"You ended the screen sharing for ticket {outcome.session.ticket.reference}: nothing more is "
            "shared. Your agent has been told and will keep helping you on the ticket."
        )
        return render(request, "cobrowse/message.html", {"title": "Sharing has ended", "text": text})
    bind_session(request, outcome.session.pk)
    return HttpResponseRedirect(resume.page_address(outcome.session, outcome.grant))


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


def signed_in_customer(request: HttpRequest) -> User | None:
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
@require_http_methods(["GET", "HEAD", "POST"])
def watch_join(request: HttpRequest, token: str) -> HttpResponse:
    """``/w/<token>/``: GET shows the team member's consent screen and uses nothing; Join or Decline
    (POST) claims the link and is recorded as their own consent."""
    if not ratelimit.hit(request, scope="watch"):
        return render(request, "consent/rate_limited.html", status=429)
    try:
        if request.user.is_authenticated and permissions.is_support_staff(request.user):
            return _staff_refused(request, request.user, team.watch_link_session_id(token), link="watch")
        link = team.open_watch_link(token)
        if request.method != "POST":
            return _watch_consent_page(request, link)
        decision = request.POST.get("decision", "")
        if decision not in ("join", "decline"):
            return _watch_consent_page(request, link, status=400)
        outcome = team.decide_watch(link, join=decision == "join", client=client_info(request))
    except services.InviteNotFound:
        return _not_found(request)
    except services.InviteGone:
        return _gone(request)
    if outcome.grant:
        joined = list(request.session.get(WATCH_JOINED_KEY, []))
        request.session[WATCH_JOINED_KEY] = [*joined[-9:], outcome.team_viewer.session_id]
        return HttpResponseRedirect(outcome.redirect_url, status=303)
    return render(request, "consent/watch_declined.html", {"session": outcome.team_viewer.session})


@never_cache
@require_GET
def watch(request: HttpRequest, pk: int) -> HttpResponse:
    """The team member's live view. The same page for any id: the grant in the fragment decides.

    The browser that joined this session is told before anything appears whether it is recorded
    (any other browser learns nothing about the session from this page).
    """
    recorded = (
        pk in request.session.get(WATCH_JOINED_KEY, [])
        and CoBrowseSession.objects.filter(pk=pk, recording=True).exists()
    )
    return render(
        request,
        "consent/watch.html",
        {
            "recorded": recorded,
            "watch_config": {
                "session": pk,
                "socket_path": f"/ws/cobrowse/{pk}/watch/",
                "refresh_url": reverse("consent:watch_grant", args=[pk]),
                "leave_url": reverse("consent:watch_leave", args=[pk]),
                "refresh_every_ms": team.VIEWER_GRANT_TTL_SECONDS * 1000 // 3,
            },
        },
    )


def _grant_call(request: HttpRequest, pk: int, action) -> JsonResponse:
    if not ratelimit.hit(request, scope="watch"):
        return JsonResponse({"detail": "Too many requests."}, status=429)
    raw = request.META.get(GRANT_HEADER, "")
    try:
        viewer = team.verify_viewer_grant(raw)
        if viewer.session_id != pk:
            raise grants.UnknownGrant("Unknown grant.")
        return action(raw)
    except grants.UnknownGrant:
        return JsonResponse({"detail": "Unknown grant."}, status=404)
    except grants.GrantError as exc:
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
