"""Asking the requester how their ticket was handled: the link, the one rule for an answer, and
one answer per ticket.

The link carries the ticket's id signed with the project's secret (its own salt) and expires;
nothing is stored for it. It is sent once, when the ticket is first resolved, unless an app above
says the customer was already asked about the same help (a co-browse session has its own survey).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from accounts import mail
from tickets import surveys
from tickets.models import SatisfactionAnswer, Status, Ticket

SALT = "tandem.tickets.satisfaction"
LINK_MAX_AGE_S = 30 * 24 * 3600

_skip_rules: list[Callable[[Ticket], bool]] = []


class LinkError(Exception):
    """Unknown or tampered with."""


class LinkExpired(LinkError):
    """Genuine, but older than :data:`LINK_MAX_AGE_S`."""


def skip_when(rule: Callable[[Ticket], bool]) -> None:
    """Register a rule that says this ticket's requester was already asked (from ``ready()``)."""
    if rule not in _skip_rules:
        _skip_rules.append(rule)


def token(ticket: Ticket) -> str:
    return signing.dumps(ticket.pk, salt=SALT, compress=True)


def path(ticket: Ticket) -> str:
    return reverse("tickets:satisfaction", args=[token(ticket)])


def url(ticket: Ticket) -> str:
    """The link as the e-mail carries it: absolute, on the public base URL."""
    return str(settings.TANDEM_BASE_URL).rstrip("/") + path(ticket)


def ticket_for_token(value: str) -> Ticket:
    try:
        ticket_id = signing.loads(value, salt=SALT, max_age=LINK_MAX_AGE_S)
    except signing.SignatureExpired:
        raise LinkExpired("This link has expired.") from None
    except signing.BadSignature:
        raise LinkError("This link is not valid.") from None
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        raise LinkError("This link is not valid.")
    return ticket


def is_resolved(ticket: Ticket) -> bool:
    return ticket.status in (Status.RESOLVED, Status.CLOSED)


def answered(ticket: Ticket) -> bool:
    return SatisfactionAnswer.objects.filter(ticket=ticket).exists()


def open_question(ticket: Ticket) -> str:
    """The survey's path while the requester was asked, has not answered, and the ticket is still
    resolved; "" otherwise."""
    if ticket.satisfaction_requested_at is None or not is_resolved(ticket) or answered(ticket):
        return ""
    return path(ticket)


def survey(ticket: Ticket) -> surveys.Survey[SatisfactionAnswer]:
    return surveys.Survey(
        heading="How did we handle your ticket?",
        about=f"About {ticket.reference} · {ticket.subject}.",
        already="This ticket's survey has already been answered.",
        not_open="The survey opens when the ticket is resolved.",
        not_open_code="not_resolved",
        is_answered=lambda: answered(ticket),
        is_open=lambda: is_resolved(Ticket.objects.get(pk=ticket.pk)),
        lock=lambda: Ticket.objects.select_for_update().get(pk=ticket.pk),
        create=lambda stars, comment: SatisfactionAnswer.objects.create(
            ticket=ticket, stars=stars, comment=comment
        ),
    )


def answer(ticket: Ticket, *, stars: Any, comment: Any = "", staff: bool = False) -> SatisfactionAnswer:
    """Record the requester's answer. ``staff``: the caller is support staff, who may not answer."""
    return surveys.record(survey(ticket), stars=stars, comment=comment, staff=staff)


def ask_after_resolution(ticket: Ticket) -> bool:
    """Called with the locked ticket as it is first resolved: e-mail the link once (after commit).
    False when not sent: asked before, no e-mail address, or another survey covered it."""
    if ticket.satisfaction_requested_at is not None or not ticket.requester.email:
        return False
    if any(rule(ticket) for rule in _skip_rules):
        return False
    ticket.satisfaction_requested_at = timezone.now()
    ticket.save(update_fields=["satisfaction_requested_at"])
    subject = f"{ticket.reference}: how did we do?"
    body = (
        f"Your ticket {ticket.reference} ({ticket.subject}) is resolved.\n\n"
        f"One question, one click: how did we handle it?\n{url(ticket)}\n\n"
        "The link works for 30 days. If something is still wrong, reply on the ticket instead."
    )
    mail.send_after_commit(subject, body, [ticket.requester.email])
    return True
