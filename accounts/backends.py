"""Login throttling (django-axes) that lets request-less authentication through to the next backend.

django-axes' backend refuses any ``authenticate()`` call without a request. Every login over HTTP
(the login form, the API token view, DRF authentication) passes its request; calls without one come
from code: ``Client.login()`` in test suites, management commands and integration scripts. There is
no client address to throttle for them, so this backend steps aside (returns None) and the next
backend checks the password as usual. With a request, django-axes decides exactly as its own backend.

Use it first in ``AUTHENTICATION_BACKENDS``, before ``django.contrib.auth.backends.ModelBackend``.
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class RequestOptionalAxesBackend(AxesStandaloneBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
