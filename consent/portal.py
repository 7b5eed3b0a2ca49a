"""The customer portal's side of in-app invitations: the panel on the ticket page and its Open button.

The portal belongs to tickets, below consent; the panel reaches the ticket page through
:mod:`tickets.panels` (registered in :class:`consent.apps.ConsentConfig`).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedHttpRequest
from cobrowse.models import CoBrowseSession
from consent import inapp, ratelimit, resume
from consent.services import InviteGone
from tickets import selectors
from tickets.models import Ticket
from tickets.views import portal_only


def invitations_panel(request: HttpRequest, ticket: Ticket) -> str:
    """The customer's open in-app invitations for this ticket, each with its Open button."""
    invitations = list(inapp.pending_in_app_invites(request.user).filter(session__ticket=ticket))
    if not invitations:
        return ""
    return render_to_string(
        "consent/portal_invitations.html", {"ticket": ticket, "invitations": invitations}, request=request
    )


@require_POST
@portal_only
def portal_open_invitation(request: AuthenticatedHttpRequest, number: str, session_id: int) -> HttpResponse:
    """The Open button of an in-app invitation: a fresh one-time link for this customer, then to it.

    Links are stored hashed, so the invitation cannot show the one issued earlier; this one replaces
    it (and any other undecided link), like every new link.
    """
    if not ratelimit.hit(request, scope="invite_open"):  # each press writes a new link
        return render(request, "consent/rate_limited.html", status=429)
    ticket = selectors.ticket_or_404(request.user, number)
    session = CoBrowseSession.objects.filter(pk=session_id, ticket=ticket).first()
    if session is None:
        raise Http404("No such invitation.")
    try:
        path = inapp.open_in_app_invite(session, request.user)
    except PermissionDenied:
        raise Http404("No such invitation.") from None
    except InviteGone:
        messages.error(request, "This invitation can no longer be opened. Ask your agent to send a new one.")
        return redirect("tickets:portal_ticket", number=ticket.number)
    return redirect(path)


@require_POST
@portal_only
def portal_resume_sharing(request: AuthenticatedHttpRequest, number: str, session_id: int) -> HttpResponse:
    """Resume sharing: a link grant for the session's page, then to that page, whose card asks again.

    Only the ticket's requester, for their session whose page lost its connection; anything else is
    a 404 (a session of someone else's ticket is not revealed).
    """
    if not ratelimit.hit(request, scope="resume"):  # each press issues a grant
        return render(request, "consent/rate_limited.html", status=429)
    ticket = selectors.ticket_or_404(request.user, number)
    session = CoBrowseSession.objects.filter(pk=session_id, ticket=ticket).select_related("ticket").first()
    if session is None or session.customer_id != request.user.pk:
        raise Http404("No such session.")
    try:
        address = resume.resume_grant(session, customer=request.user)
    except PermissionDenied:
        # Back meanwhile, or ended: the ticket page says which.
        messages.info(request, "This session no longer needs resuming.")
        return redirect("tickets:portal_ticket", number=ticket.number)
    return redirect(address)
