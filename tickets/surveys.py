"""The desk's one-question surveys — a resolved ticket's and a co-browse session's — share one rule
for an answer, one answer per subject, never from support staff, and one page.

Each survey says what it is about and how its answer is stored (:class:`Survey`); the app that owns
the subject builds one (``tickets.satisfaction``, ``outcomes.survey``) and calls :func:`record` or
:func:`page`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts import permissions

MAX_COMMENT = 2000
THANKS = {"title": "Thank you", "text": "Your answer helps the support team do better."}

T = TypeVar("T")


@dataclass(frozen=True)
class Survey(Generic[T]):
    heading: str  # the page's question
    about: str  # what it asks about, as the customer knows it
    already: str  # said once it is answered
    not_open: str  # said while it cannot be answered yet
    not_open_code: str
    is_answered: Callable[[], bool]
    is_open: Callable[[], bool]  # read again under the lock by record()
    lock: Callable[[], object]  # locks the subject's row for the answer's transaction
    create: Callable[[int, str], T]  # stores (stars, comment); the unique constraint refuses a second


def parse_answer(stars: Any, comment: Any) -> tuple[int, str]:
    """Stars 1 to 5 and a comment of at most 2,000 characters; anything else is a field error."""
    errors = {}
    try:
        value = int(str(stars).strip())
    except ValueError:
        value = 0
    if not 1 <= value <= 5:
        errors["stars"] = "Choose from 1 to 5 stars."
    text = str(comment or "").strip()
    if len(text) > MAX_COMMENT:
        errors["comment"] = f"Keep the comment under {MAX_COMMENT} characters."
    if errors:
        raise ValidationError(errors)
    return value, text


@transaction.atomic
def record(survey: Survey[T], *, stars: Any, comment: Any = "", staff: bool = False) -> T:
    """Store the customer's one answer. ``staff``: the caller is support staff, who may not answer."""
    if staff:
        raise PermissionDenied("Support staff cannot answer the customer's survey.")
    value, text = parse_answer(stars, comment)
    survey.lock()
    if not survey.is_open():
        raise ValidationError(survey.not_open, code=survey.not_open_code)
    try:
        with transaction.atomic():
            return survey.create(value, text)
    except IntegrityError:
        raise ValidationError(survey.already, code="answered") from None


def message(request: HttpRequest, title: str, text: str, status: int = 200) -> HttpResponse:
    return render(request, "surveys/message.html", {"title": title, "text": text}, status=status)


def page(request: HttpRequest, survey: Survey[Any]) -> HttpResponse:
    """The survey's page: the question (GET), the answer (POST), or why it cannot be answered."""
    staff = permissions.is_support_staff(request.user)
    context: dict[str, Any] = {
        "heading": survey.heading, "about": survey.about, "staff": staff, "errors": {}, "values": {},
    }  # fmt: skip
    already = survey.already + " Thank you."
    if request.method == "POST":
        values = {"stars": request.POST.get("stars", ""), "comment": request.POST.get("comment", "")}
        try:
            record(survey, stars=values["stars"], comment=values["comment"], staff=staff)
        except PermissionDenied as exc:
            context.update(error=str(exc))
            return render(request, "surveys/form.html", context, status=403)
        except ValidationError as exc:
            if getattr(exc, "code", None) == "answered":
                return message(request, "Already answered", already, 409)
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"form": exc.messages}
            context.update(errors={k: " ".join(v) for k, v in errors.items()}, values=values)
            return render(request, "surveys/form.html", context, status=400)
        return message(request, THANKS["title"], THANKS["text"])
    if survey.is_answered():
        return message(request, "Already answered", already)
    if not survey.is_open():
        return message(request, "Not yet", survey.not_open, 409)
    return render(request, "surveys/form.html", context)
