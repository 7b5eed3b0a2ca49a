"""The agent's side of help requests: **Take** on the queue's "Waiting for help" panel."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.decorators import staff_only
from accounts.http import AuthenticatedHttpRequest
from consent import help_requests


@require_POST
@staff_only
def take_help_request(request: AuthenticatedHttpRequest, pk: int) -> HttpResponseRedirect:
    """First agent wins and lands in the live console; anyone later is told who was faster."""
    try:
        session = help_requests.take(pk, agent=request.user)
    except help_requests.AlreadyTaken:
        messages.error(request, "Another agent has already taken this help request.")
    except help_requests.HelpError as exc:
        messages.error(request, str(exc))
    except (PermissionDenied, ValidationError) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        messages.error(request, text or "You cannot take this help request.")
    else:
        return HttpResponseRedirect(reverse("console:live", args=[session.pk]))
    return HttpResponseRedirect(reverse("tickets:queue"))
