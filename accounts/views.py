"""Sign-in pages, the throttled password reset and the role-based landing redirect."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.template import loader

from accounts import mail, permissions, throttle


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send support staff to the queue and customers to the portal."""
    if permissions.is_support_staff(request.user):
        return redirect("tickets:queue")
    return redirect("tickets:portal")


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's reset form, its message sent by the mail worker (:mod:`accounts.mail`), so a slow or
    unreachable mail server does not hold the request.

    Queued at once: the reset writes nothing, so there is no commit to wait for. Text only (the view
    configures no HTML template).
    """

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        mail.queue(subject, body, [to_email], from_email=from_email)


class ThrottledPasswordResetView(auth_views.PasswordResetView):
    """Reset requests are counted per e-mail address and per client address: neither a mailbox nor
    the mail server can be flooded from here. Unknown addresses count too (nothing is revealed)."""

    form_class = QueuedPasswordResetForm

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
