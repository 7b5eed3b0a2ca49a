"""``/satisfaction/<token>/``: the requester's one answer about a resolved ticket, from the e-mail."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from accounts import permissions
from tickets import satisfaction

_THANKS = {"title": "Thank you", "text": "Your answer helps the support team do better."}
_ALREADY = {"title": "Already answered", "text": "This ticket's survey has already been answered. Thank you."}


def _message(request: HttpRequest, message: dict[str, str], status: int) -> HttpResponse:
    return render(request, "surveys/message.html", message, status=status)


@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    try:
        ticket = satisfaction.ticket_for_token(token)
    except satisfaction.LinkExpired as exc:
        return _message(request, {"title": "Survey link", "text": str(exc)}, 410)
    except satisfaction.LinkError as exc:
        return _message(request, {"title": "Survey link", "text": str(exc)}, 404)
    staff = permissions.is_support_staff(request.user)
    context: dict = {
        "heading": "How did we handle your ticket?",
        "about": f"About {ticket.reference} · {ticket.subject}.",
        "staff": staff,
        "errors": {},
        "values": {},
    }
    if request.method == "POST":
        values = {"stars": request.POST.get("stars", ""), "comment": request.POST.get("comment", "")}
        try:
            satisfaction.answer(ticket, stars=values["stars"], comment=values["comment"], staff=staff)
        except PermissionDenied as exc:
            context.update(error=str(exc))
            return render(request, "surveys/form.html", context, status=403)
        except ValidationError as exc:
            if getattr(exc, "code", None) == "answered":
                return _message(request, _ALREADY, 409)
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"form": exc.messages}
            context.update(errors={k: " ".join(v) for k, v in errors.items()}, values=values)
            return render(request, "surveys/form.html", context, status=400)
        return _message(request, _THANKS, 200)
    if satisfaction.answered(ticket):
        return _message(request, _ALREADY, 200)
    if not satisfaction.is_resolved(ticket):
        return _message(
            request, {"title": "Not yet", "text": "The survey opens when the ticket is resolved."}, 409
        )
    return render(request, "surveys/form.html", context)
