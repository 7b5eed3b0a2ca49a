"""The survey by e-mail: once a session the customer shared is over, its requester gets the link.

Registered on the core's end-of-session hook (``OutcomesConfig.ready``), so it runs in the very
transaction that ends the session and is queued only once that commits. A session ends once (the
ended states have no way out), so the message goes once; a session that never started sends none.
"""

from __future__ import annotations

from datetime import datetime

from accounts import mail
from cobrowse.models import CoBrowseSession
from outcomes import survey
from outcomes.services import is_over


def subject_for(session: CoBrowseSession) -> str:
    return f"How did your session on {session.ticket.reference} go?"


def body_for(session: CoBrowseSession, link: str) -> str:
    days = survey.LINK_MAX_AGE_S // 86400
    return (
        f"Your screen-sharing session on ticket {session.ticket.reference} has ended.\n\n"
        "How did it go? One question, 1 to 5 stars and a comment if you like:\n\n"
        f"{link}\n\n"
        f"The link works for {days} days, once. If you already answered on the page, there is "
        "nothing more to do.\n"
    )


def session_ended(session: CoBrowseSession, now: datetime) -> None:
    """End-of-session hook: queue the survey e-mail to the ticket's requester, if they have an address."""
    if not is_over(session):
        return
    email = session.ticket.requester.email
    if not email:
        return
    mail.send_after_commit(subject_for(session), body_for(session, survey.survey_url(session)), [email])
