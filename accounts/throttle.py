"""Sign-in lockouts (django-axes) and the password-reset throttle: responses, records, counters.

Axes counts failed sign-ins in the cache per account name and, separately, per client address
(``accounts.client_ip``) and refuses both for ``LOGIN_LOCKOUT_MINUTES`` once either reaches
``LOGIN_FAILURE_LIMIT``. What it logs and what the audit trail keeps carry no login names and no
addresses: a keyed pseudonym (``audit.crypto.pseudonym``) and, where the account exists, its id.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from accounts.client_ip import client_ip

LOCKOUT_MESSAGE = (
    "Too many failed attempts. For your security, sign-in is paused for {minutes} minutes for this "
    "account and from this network. Try again later, or reset your password."
)
RESET_THROTTLED_MESSAGE = "Too many password reset requests. Please wait {minutes} minutes and try again."

#: Which sign-in surface a request came through (audit details name it, never the path's input).
_SURFACES = {
    "login": "login",
    "admin:login": "admin",
    "api-token": "api_token",
    "password_reset": "password_reset",
    "password_reset_confirm": "password_reset",
}


def cool_off(request: HttpRequest | None = None) -> timedelta:
    """How long a lockout lasts (``AXES_COOLOFF_TIME``; also the password-reset window)."""
    return timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)


def lockout_minutes() -> int:
    return int(settings.LOGIN_LOCKOUT_MINUTES)


def surface(request: HttpRequest | None) -> str:
    match = getattr(request, "resolver_match", None)
    return _SURFACES.get(getattr(match, "view_name", ""), "other")


def _address_pseudonym(address: str | None) -> str:
    """Keyed: a plain hash of an IPv4 address is reversed by trying all four billion."""
    from audit.crypto import pseudonym

    return pseudonym(f"address:{address or ''}")


def _address_digest(request: HttpRequest | None) -> str:
    return _address_pseudonym(client_ip(request) if request is not None else "")


def client_str(
    username: str | None, ip_address: str | None, user_agent: Any, path_info: Any, request: Any
) -> str:
    """What axes writes to the log about a client: pseudonyms only (``AXES_CLIENT_STR_CALLABLE``)."""
    from audit.crypto import pseudonym

    account = pseudonym(username) if username else "-"
    return f"{{account: {account}, address: {_address_pseudonym(ip_address)}, surface: {surface(request)}}}"


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """A clear 429 (``AXES_LOCKOUT_CALLABLE``): JSON on the API, the sign-in layout elsewhere."""
    return throttled_response(request, LOCKOUT_MESSAGE.format(minutes=lockout_minutes()))


def throttled_response(request: HttpRequest, message: str) -> HttpResponse:
    retry_after = str(lockout_minutes() * 60)
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message}, status=429)
    else:
        response = render(request, "registration/locked_out.html", {"message": message}, status=429)
    response["Retry-After"] = retry_after
    return response


def record_lockout(request: HttpRequest | None, username: str | None, kind: str = "login") -> bool:
    """Audit one lockout (ids and pseudonyms only), once per lockout of an account or an address.

    Attempts while locked signal again; an entry is written only when neither the account nor the
    address has one for the current cool-off, so a botnet against one account, or one address trying
    many names, adds a single entry. Returns whether an entry was written.
    """
    from accounts.models import User
    from audit import services as audit
    from audit.crypto import pseudonym

    account = pseudonym(username) if username else ""
    keys = [f"lockout-audited:{kind}:address:{_address_digest(request)}"]
    if account:
        keys.append(f"lockout-audited:{kind}:account:{account}")
    timeout = int(cool_off().total_seconds())
    fresh = [cache.add(key, 1, timeout=timeout) for key in keys]  # every key set, none skipped
    if not all(fresh):
        return False
    user = User.objects.filter(username=username).first() if username else None
    if user is None and username and "@" in username:
        user = User.objects.filter(email__iexact=username).first()
    audit.record(
        f"accounts.{kind}_locked_out",
        object_type="accounts.user" if user else "",
        object_id=user.pk if user else "",
        details={
            "surface": surface(request),
            "account": account,
            "user": user.pk if user else None,
            "minutes": lockout_minutes(),
        },
    )
    return True


def on_user_locked_out(
    sender: Any, request: HttpRequest | None = None, username: str | None = None, **kwargs: Any
) -> None:
    """``axes.signals.user_locked_out`` receiver."""
    record_lockout(request, username)


# --- password reset --------------------------------------------------------------------------------


def _count(key: str) -> int:
    period = int(cool_off().total_seconds())
    cache.add(key, 0, timeout=period)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=period)
        return 1


def allow_password_reset(request: HttpRequest, email: str) -> bool:
    """Count one reset request per e-mail address and per client address; False over the limit.

    Both counters are always incremented, so a client spraying many addresses is stopped by its own
    counter and a single address targeted from many clients by the account's.
    """
    from audit.crypto import pseudonym

    limit = settings.PASSWORD_RESET_LIMIT
    per_account = _count(f"pwreset:account:{pseudonym(email or '-')}")
    per_address = _count(f"pwreset:address:{_address_digest(request)}")
    return per_account <= limit and per_address <= limit


def allow_reset_link(request: HttpRequest) -> bool:
    """Count one invalid reset link per client address (guessing tokens); False over the limit."""
    return _count(f"pwreset:badlink:{_address_digest(request)}") <= settings.PASSWORD_RESET_LIMIT * 2
