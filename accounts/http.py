"""Requests that only signed-in users reach, typed as such.

Django and DRF type ``request.user`` as ``User | AnonymousUser``. Behind ``login_required`` (or DRF's
``IsAuthenticated``) it is always a ``User``; these say so, so views can hand it to services that
act on behalf of a user without an unchecked cast.
"""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

from accounts.models import User


class AuthenticatedHttpRequest(HttpRequest):
    """The request of a view behind ``login_required``: an annotation only, never instantiated."""

    user: User


def signed_in_user(request: Request) -> User:
    """The DRF request's user. The view's permissions already require one; should they ever not,
    the client gets DRF's 401/403, never an anonymous user in a service."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated
    return user
