"""Authentication backends: the lockout check in front of Django's model backend."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class LoginThrottleBackend(AxesStandaloneBackend):
    """django-axes' lockout check, for sign-ins that come with a request.

    Every web entry point (``/login/``, ``/admin/login/``, ``/api/auth/token/``) passes its request.
    Calls without one — ``Client.login()`` in tests, scripts, the shell — have no client to throttle;
    axes' own backend raises on them, this one steps aside and lets the next backend decide.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
