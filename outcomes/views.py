"""The outcome page an agent fills in when a session is over: parse, check, call the service."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.decorators import staff_only
from accounts.http import AuthenticatedHttpRequest
from cobrowse.models import CoBrowseSession
from outcomes import services, summary
from outcomes.forms import OutcomeForm
from outcomes.models import SessionOutcome


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
        "ended": session.state in services.ENDED_STATES and session.started_at is not None,
        "nav": "queue",
    }
    return render(request, "outcomes/record.html", context, status=status)
