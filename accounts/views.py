"""Sign-in pages and the role-based landing redirect."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts import permissions


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send support staff to the queue and customers to the portal."""
    if permissions.is_support_staff(request.user):
        return redirect("tickets:queue")
    return redirect("tickets:portal")
