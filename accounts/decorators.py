"""Access decorators for the staff pages: one rule for "support staff only" across the apps."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render

from accounts import permissions

View = Callable[..., HttpResponseBase]


def _only(allowed: Callable[[Any], bool], hide: tuple[str, str] | None = None) -> Callable[[View], View]:
    """Signed-in users for whom ``allowed`` holds; anyone else signed in gets the 403 page."""

    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not allowed(request.user):
                if hide is not None and hide[0] in kwargs:
                    raise Http404(hide[1])
                return render(request, "tickets/forbidden.html", status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def staff_only(view: View | None = None, *, hide: tuple[str, str] | None = None) -> Any:
    """Agents and managers; anyone else signed in gets the support-team-only page (403) and no data.

    ``hide=(url kwarg, message)``: for a URL naming an object (a recording), a customer gets a 404
    with ``message`` instead, so the URL never says whether the object exists.
    """
    decorate = _only(permissions.is_support_staff, hide)
    return decorate(view) if view is not None else decorate


#: Managers; agents and customers signed in get the 403 page.
manager_only = _only(permissions.can_view_dashboards)
