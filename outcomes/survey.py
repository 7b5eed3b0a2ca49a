"""The customer's survey about a session: who may answer, the link, one answer per session.

The link carries the session id signed with the project's secret (``django.core.signing``, its own
salt) and expires: nothing is stored for it, and it cannot be forged or pointed at another session.
The customer may also answer from the portal while signed in.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse

from cobrowse.models import CoBrowseSession
from outcomes.models import SurveyResponse
from outcomes.services import is_over
from tickets import surveys

SALT = "tandem.outcomes.survey"
LINK_MAX_AGE_S = 30 * 24 * 3600


class SurveyLinkError(Exception):
    """Unknown, tampered with or expired."""


class SurveyLinkExpired(SurveyLinkError):
    """Genuine, but older than :data:`LINK_MAX_AGE_S` (a 410 where the difference matters)."""


def survey_token(session: CoBrowseSession) -> str:
    return signing.dumps(session.pk, salt=SALT, compress=True)


def survey_path(session: CoBrowseSession) -> str:
    return reverse("outcomes:survey", args=[survey_token(session)])


def survey_url(session: CoBrowseSession) -> str:
    """The link as the customer gets it (widget, e-mail): absolute, on the public base URL."""
    base: str = settings.TANDEM_BASE_URL
    return base.rstrip("/") + survey_path(session)


def offered_url(session_id: int) -> str | None:
    """The survey link to show when a session's sockets learn it ended, or None when it may not
    be answered (never shared, not over, already answered)."""
    session = CoBrowseSession.objects.filter(pk=session_id).first()
    if session is None or not may_answer(session):
        return None
    return survey_url(session)


def session_for_token(token: str) -> CoBrowseSession:
    try:
        session_id = signing.loads(token, salt=SALT, max_age=LINK_MAX_AGE_S)
    except signing.SignatureExpired:
        raise SurveyLinkExpired("This survey link has expired.") from None
    except signing.BadSignature:
        raise SurveyLinkError("This survey link is not valid.") from None
    session = CoBrowseSession.objects.select_related("ticket").filter(pk=session_id).first()
    if session is None:
        raise SurveyLinkError("This survey link is not valid.")
    return session


def may_answer(session: CoBrowseSession) -> bool:
    """A session the customer shared, now over, not yet answered."""
    return is_over(session) and not SurveyResponse.objects.filter(session=session).exists()


def is_customer_of(user: Any, session: CoBrowseSession) -> bool:
    return bool(
        getattr(user, "is_authenticated", False)
        and user.pk in (session.customer_id, session.ticket.requester_id)
    )


def survey(session: CoBrowseSession) -> surveys.Survey[SurveyResponse]:
    return surveys.Survey(
        heading="How did the co-browse session go?",
        about=f"About {session.ticket.reference} · {session.ticket.subject}.",
        already="This session's survey has already been answered.",
        not_open="The survey opens when the session is over.",
        not_open_code="not_ended",
        is_answered=lambda: SurveyResponse.objects.filter(session=session).exists(),
        is_open=lambda: is_over(CoBrowseSession.objects.get(pk=session.pk)),
        lock=lambda: CoBrowseSession.objects.select_for_update().get(pk=session.pk),
        create=lambda stars, comment: SurveyResponse.objects.create(
            session=session, stars=stars, comment=comment
        ),
    )


def answer(session: CoBrowseSession, *, stars: Any, comment: Any = "", staff: bool = False) -> SurveyResponse:
    """Record the customer's answer. ``staff``: the caller is support staff, who may not answer for them."""
    return surveys.record(survey(session), stars=stars, comment=comment, staff=staff)
