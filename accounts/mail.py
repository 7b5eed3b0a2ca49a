"""Outgoing e-mail: every message goes through one Celery task, sent by the worker (``-Q default``).

Why a task: a slow or unreachable mail server would otherwise hold the web request (or the socket's
thread) that caused the message, for as long as the SMTP timeout, and its failure would surface in
that request. The worker sends it instead, with its own time limit.

Why after the commit: senders queue with :func:`send_after_commit`, so a rolled-back change sends
nothing and the worker never acts on rows it cannot see yet. Code that already runs after its commit
(an ``on_commit`` callback) or writes nothing calls :func:`queue` directly.

Why outcomes go through a hook: a sender above this app (an invitation, say) may need to record
whether its message went out. The worker is the only one that knows, so the sender names an outcome
registered with :func:`on_outcome` (in its ``AppConfig.ready``) and passes ids to it; the task calls
it after sending. Lower apps never import the higher ones that way.

The queued message (subject, body, recipients) sits in the broker until a worker takes it, links in
the body included: the broker is as private as the database. Logs name neither recipients nor bodies.
Attachments travel the same way, base64 in the message: meant for a report of a few hundred KB, not
for bulk files.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from celery import shared_task
from django.core.mail import EmailMessage
from django.db import transaction

logger = logging.getLogger(__name__)

#: What a sender does once its message was sent (``error`` None) or failed: ``(context, error)``.
OutcomeHandler = Callable[[dict[str, Any], Exception | None], None]

#: A file attached to a message: ``(filename, content as base64, MIME type)`` (JSON for the broker).
Attachment = tuple[str, str, str]

_outcome_handlers: dict[str, OutcomeHandler] = {}


def on_outcome(name: str, handler: OutcomeHandler) -> None:
    """Register what happens after a message queued with ``outcome=name`` was sent or failed."""
    _outcome_handlers[name] = handler


@shared_task(name="accounts.mail.send_email", ignore_result=True, time_limit=60, soft_time_limit=50)
def send_email(
    subject: str,
    body: str,
    recipients: list[str],
    outcome: str = "",
    context: dict[str, Any] | None = None,
    from_email: str | None = None,
    attachments: list[Attachment] | None = None,
) -> bool:
    """Send one message through Django's mail framework; True when the mail server took it.

    A failure is not retried: the outcome hook records it and the sender decides (an agent sends a
    new link). Only the exception's type is logged: SMTP errors quote the recipients.
    """
    error: Exception | None = None
    try:
        message = EmailMessage(subject, body, from_email, recipients)
        for filename, content, mimetype in attachments or []:
            message.attach(filename, base64.b64decode(content), mimetype)
        message.send()
    except Exception as exc:
        error = exc
        logger.warning("e-mail not sent (%s): %s", outcome or "no outcome", type(exc).__name__)
    if outcome:
        handler = _outcome_handlers.get(outcome)
        if handler is None:
            logger.error("e-mail outcome %r has no handler", outcome)
        else:
            try:
                handler(dict(context or {}), error)
            except Exception as exc:  # the message went (or not) either way; a retry would resend it
                logger.warning("e-mail outcome %s not recorded: %s", outcome, type(exc).__name__)
    return error is None


def queue(
    subject: str,
    body: str,
    recipients: Sequence[str],
    *,
    outcome: str = "",
    context: dict[str, Any] | None = None,
    from_email: str | None = None,
    attachments: Sequence[Attachment] = (),
) -> bool:
    """Hand the message to the worker now; False (logged) when the broker could not take it.

    Never raises: a message that cannot be queued must not fail the change that caused it. The
    task's shown arguments (worker events, monitoring) leave out the addresses and the text.
    """
    args = [subject, body, list(recipients), outcome, dict(context or {}), from_email, list(attachments)]
    try:
        send_email.apply_async(
            args=args,
            argsrepr=f"(outcome={outcome!r}, recipients={len(recipients)})",
            kwargsrepr="{}",
        )
    except Exception as exc:
        logger.warning("e-mail not queued (%s): %s", outcome or "no outcome", type(exc).__name__)
        return False
    return True


def send_after_commit(
    subject: str,
    body: str,
    recipients: Sequence[str],
    *,
    outcome: str = "",
    context: dict[str, Any] | None = None,
    from_email: str | None = None,
) -> None:
    """Queue the message once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(
        partial(
            queue, subject, body, list(recipients), outcome=outcome, context=context, from_email=from_email
        )
    )
