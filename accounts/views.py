"""Sign-in pages, the throttled password reset, the role-based landing redirect and the customer's
"Your details" page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template import loader
from django.views.decorators.http import require_http_methods

from accounts import mail, permissions, services, throttle
from accounts.forms import CustomerProfileForm
from accounts.http import AuthenticatedHttpRequest
from accounts.models import CustomerProfile


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send support staff to the queue and customers to the portal."""
    if permissions.is_support_staff(request.user):
        return redirect("tickets:queue")
    return redirect("tickets:portal")


@require_http_methods(["GET", "POST"])
@login_required
def your_details(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The signed-in customer's own data on file; nobody else's is reachable here (no id in the URL).

    Support staff edit profiles in the admin, so they are sent to their landing page.
    """
    if not permissions.is_customer(request.user):
        return redirect("home")
    profile = CustomerProfile.objects.filter(user=request.user).first()
    form = CustomerProfileForm(request.POST or None, instance=profile)
    context = {"form": form, "nav": "details"}
    if request.method == "POST":
        if form.is_valid():
            try:
                services.save_customer_profile(
                    request.user, form.profile_values(), actor=request.user, source="portal"
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, "Your details are saved.")
                return redirect("your_details")
        return render(request, "accounts/your_details.html", context, status=400)
    return render(request, "accounts/your_details.html", context)


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
