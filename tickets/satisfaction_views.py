"""``/satisfaction/<token>/``: the requester's one answer about a resolved ticket, from the e-mail."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from tickets import satisfaction, surveys


@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    try:
        ticket = satisfaction.ticket_for_token(token)
    except satisfaction.LinkExpired as exc:
        return surveys.message(request, "Survey link", str(exc), 410)
    except satisfaction.LinkError as exc:
        return surveys.message(request, "Survey link", str(exc), 404)
    return surveys.page(request, satisfaction.survey(ticket))
