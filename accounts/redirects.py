"""Where a form may send the browser next: only this host, and only HTTPS when the request is."""

from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request: HttpRequest, fallback: str, *, field: str = "next") -> str:
    """The ``next`` target of a form post (or query) if Django's host check allows it, else ``fallback``.

    ``fallback`` may be a URL or a URL pattern name. An absolute URL to another host, a
    scheme-relative ``//host`` path or a downgrade to plain HTTP from an HTTPS page is never
    followed: it would make Tandem an open redirect for phishing links.
    """
    target = (request.POST if request.method == "POST" else request.GET).get(field, "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return resolve_url(fallback)
