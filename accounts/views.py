"""Sign-in pages, the throttled password reset and the role-based landing redirect."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect

from accounts import permissions, throttle


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send support staff to the queue and customers to the portal."""
    if permissions.is_support_staff(request.user):
        return redirect("tickets:queue")
    return redirect("tickets:portal")


class ThrottledPasswordResetView(auth_views.PasswordResetView):
    """Reset requests are counted per e-mail address and per client address: neither a mailbox nor
    the mail server can be flooded from here. Unknown addresses count too (nothing is revealed)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        email = str(request.POST.get("email", ""))[:254]
        if not throttle.allow_password_reset(request, email):
            throttle.record_lockout(request, email, kind="password_reset")
            return throttle.throttled_response(
                request, throttle.RESET_THROTTLED_MESSAGE.format(minutes=throttle.lockout_minutes())
            )
        return super().post(request, *args, **kwargs)


class ThrottledPasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Invalid reset links are counted per client address, so tokens cannot be guessed at speed."""

    def dispatch(self, *args: Any, **kwargs: Any) -> HttpResponseBase:
        request = self.request
        response = super().dispatch(*args, **kwargs)
        context = getattr(response, "context_data", None) or {}
        if context.get("validlink") is False and not throttle.allow_reset_link(request):
            throttle.record_lockout(request, None, kind="password_reset_link")
            return throttle.throttled_response(
                request, throttle.RESET_THROTTLED_MESSAGE.format(minutes=throttle.lockout_minutes())
            )
        return response
