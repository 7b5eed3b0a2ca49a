"""The outcome page an agent fills in when a session is over: parse, check, call the service."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts import permissions
from accounts.decorators import staff_only
from accounts.http import AuthenticatedHttpRequest
from cobrowse.models import CoBrowseSession
from outcomes import services, summary
from outcomes import survey as survey_answers
from outcomes.forms import OutcomeForm
from outcomes.models import SessionOutcome
from tickets import surveys


@require_http_methods(["GET", "POST"])
@staff_only
def record(request: AuthenticatedHttpRequest, session_id: int) -> HttpResponse:
    session = CoBrowseSession.objects.select_related("ticket", "customer").filter(pk=session_id).first()
    if session is None:
        raise Http404("No such session.")
    if not services.can_record(request.user, session):
        raise PermissionDenied("Only the session's agent or a manager records its outcome.")
    existing = SessionOutcome.objects.filter(session=session).first()
    form = OutcomeForm(request.POST or None)
    status = 200
    if request.method == "POST" and existing is None:
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.record_outcome(
                    session,
                    actor=request.user,
                    outcome=data["outcome"],
                    note=data["note"],
                    next_step=data["next_step"],
                    owner=data["owner"],
                    level=data["level"],
                    team=data["team"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(
                    request, "Outcome recorded; the summary is on the ticket as an internal note."
                )
                return redirect("tickets:agent_ticket", number=session.ticket.number)
        status = 400
    facts = summary.session_facts(session)
    context = {
        "session": session,
        "existing": existing,
        "form": form,
        "facts": facts,
        # Counters are dicts: a template would read .items as a missing key, so pass plain lists.
        "annotations": sorted(facts.annotations.items()),
        "approved": facts.actions.get("approved", 0),
        "denied": facts.actions.get("denied", 0),
        "ended": services.is_over(session),
        "nav": "queue",
    }
    return render(request, "outcomes/record.html", context, status=status)


# --- the customer's survey ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def survey(request: HttpRequest, token: str) -> HttpResponse:
    """``/survey/<token>/``: one question, answered once, by whoever holds the link (not staff)."""
    try:
        session = survey_answers.session_for_token(token)
    except survey_answers.SurveyLinkError as exc:
        return surveys.message(request, "Survey link", str(exc), 404)
    return surveys.page(request, survey_answers.survey(session))


# The token in the URL is the capability (as from the e-mail): no cookie is needed or used, so no
# CSRF token either. The widget calls this cross-origin (CORS registered in OutcomesConfig.ready).
@csrf_exempt
@require_POST
def survey_answer(request: HttpRequest, token: str) -> JsonResponse:
    """``POST /survey/<token>/answer/`` with ``{"stars": 1-5, "comment": "..."}``: the end card's answer."""
    if request.content_type != "application/json":
        return _refused("Send the answer as application/json.", "unsupported_media_type", 415)
    try:
        session = survey_answers.session_for_token(token)
    except survey_answers.SurveyLinkExpired as exc:
        return _refused(str(exc), "expired", 410)
    except survey_answers.SurveyLinkError as exc:
        return _refused(str(exc), "not_found", 404)
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        return _refused('Send a JSON object: {"stars": 1-5, "comment": "..."}.', "invalid_json", 400)
    comment = body.get("comment") or ""
    if not isinstance(comment, str):
        return JsonResponse({"comment": ["The comment must be text."]}, status=400)
    try:
        survey_answers.answer(
            session,
            stars=body.get("stars"),
            comment=comment,
            staff=permissions.is_support_staff(request.user),
        )
    except PermissionDenied as exc:
        return _refused(str(exc), "staff", 403)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            return JsonResponse(exc.message_dict, status=400)
        code = exc.code or "invalid"
        return _refused(" ".join(exc.messages), code, 409 if code in ("answered", "not_ended") else 400)
    return JsonResponse({"detail": surveys.THANKS["text"]}, status=201)


def _refused(detail: str, code: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code}, status=status)


def survey_panel(request: HttpRequest, ticket: Any) -> str:
    """The portal ticket page: the customer's sessions on this ticket still waiting for an answer."""
    sessions = [
        s
        for s in CoBrowseSession.objects.filter(ticket=ticket, started_at__isnull=False).order_by(
            "-ended_at"
        )[:3]
        if survey_answers.may_answer(s) and survey_answers.is_customer_of(request.user, s)
    ]
    if not sessions:
        return ""
    links = [(s, survey_answers.survey_path(s)) for s in sessions]
    return render_to_string("outcomes/survey_panel.html", {"links": links}, request=request)
