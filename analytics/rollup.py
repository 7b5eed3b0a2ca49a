"""The manager pages' derived tables, kept from the raw rows: ``SessionFact`` and ``TicketFact``.

Every row is recomputed from the source tables by the same function, whoever asks: a write that
changes a session, its ticket, outcome, survey answer or comments (``post_save`` receivers connected
in ``AnalyticsConfig.ready()``, in the writer's own transaction, so the facts commit or roll back with
it); a timer that refreshes the last days (catching writes that bypass ``save()``, such as
``QuerySet.update``); and :func:`rebuild` after a bulk import. A failing refresh is logged and never
breaks the write that triggered it; the timer repairs it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import (
    Avg,
    Case,
    Count,
    Exists,
    FloatField,
    IntegerField,
    OuterRef,
    Subquery,
    When,
)
from django.db.models.functions import Cast, Coalesce
from django.db.models.signals import post_save
from django.utils import timezone

from accounts.models import Role
from analytics.models import SessionFact, TicketFact
from cobrowse.models import CoBrowseSession
from outcomes.models import SessionOutcome, SurveyResponse
from tickets.models import SatisfactionAnswer, Ticket, TicketComment

logger = logging.getLogger(__name__)

CHUNK = 2000
#: The timer's window: rows whose sources may have changed without a ``save()``.
RECENT = timedelta(days=3)

_SESSION_FIELDS = frozenset({"state", "mode", "started_at", "ended_at", "recording", "initiated_by", "agent"})
_TICKET_FIELDS = frozenset({"status", "resolved_at", "closed_at", "category", "account", "assignee"})


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    batch: list[int] = []
    for pk in ids:
        batch.append(pk)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


# --- sessions --------------------------------------------------------------------------------------


def refresh_sessions(ids: Iterable[int]) -> int:
    """Recompute the facts of these sessions (those that never started have none)."""
    done = 0
    for batch in _chunks(ids):
        rows = CoBrowseSession.objects.filter(pk__in=batch, started_at__isnull=False).values(
            "pk", "started_at", "ended_at", "agent_id", "mode", "initiated_by", "recording",
            "ticket__category", "ticket__account_id", "outcome__outcome", "survey_response__stars",
        )  # fmt: skip
        facts = [
            SessionFact(
                session_id=row["pk"],
                started_at=row["started_at"] or timezone.now(),  # never None: filtered above
                ended_at=row["ended_at"],
                agent_id=row["agent_id"],
                mode=row["mode"],
                initiated_by=row["initiated_by"],
                recording=row["recording"],
                category=row["ticket__category"],
                account_id=row["ticket__account_id"],
                outcome=row["outcome__outcome"] or "",
                stars=row["survey_response__stars"],
            )
            for row in rows
        ]
        SessionFact.objects.bulk_create(
            facts,
            update_conflicts=True,
            unique_fields=["session"],
            update_fields=[f.name for f in SessionFact._meta.concrete_fields if not f.primary_key],
        )
        done += len(facts)
    return done


# --- tickets ---------------------------------------------------------------------------------------


def _ticket_rows(batch: list[int]) -> list[dict[str, Any]]:
    """The first-contact figures of resolved tickets (the definitions: ``analytics.contact``)."""
    shared = CoBrowseSession.objects.filter(ticket=OuterRef("pk"), started_at__isnull=False)
    first_session_end = shared.filter(ended_at__isnull=False).order_by("ended_at").values("ended_at")[:1]
    first_reply = (
        TicketComment.objects.filter(
            ticket=OuterRef("pk"), is_internal=False, author__role__in=[Role.AGENT, Role.MANAGER]
        )
        .order_by("created_at")
        .values("created_at")[:1]
    )
    follow_ups = (
        TicketComment.objects.filter(
            ticket=OuterRef("pk"),
            is_internal=False,
            author=OuterRef("requester"),
            created_at__gt=OuterRef("contact_at"),
        )
        .order_by()
        .values("ticket")
        .annotate(n=Count("id"))
        .values("n")
    )
    session_stars = (
        SurveyResponse.objects.filter(session__ticket=OuterRef("pk"), session__started_at__isnull=False)
        .order_by()
        .values("session__ticket")
        .annotate(mean=Avg("stars"))
        .values("mean")
    )
    rows: list[dict[str, Any]] = [
        dict(row)
        for row in Ticket.objects.filter(pk__in=batch, resolved_at__isnull=False)
        .annotate(cobrowse=Exists(shared))
        .annotate(
            contact_at=Case(
                When(cobrowse=True, then=Subquery(first_session_end)), default=Subquery(first_reply)
            )
        )
        .annotate(
            follow_up_count=Coalesce(Subquery(follow_ups, output_field=IntegerField()), 0),
            stars=Case(
                When(cobrowse=True, then=Subquery(session_stars, output_field=FloatField())),
                default=Cast("satisfaction__stars", FloatField()),
            ),
        )
        .values(
            "pk",
            "resolved_at",
            "assignee_id",
            "category",
            "account_id",
            "cobrowse",
            "contact_at",
            "follow_up_count",
            "stars",
        )
    ]
    modes: dict[int, set[str]] = {}
    for ticket_id, mode in CoBrowseSession.objects.filter(
        ticket__in=[row["pk"] for row in rows if row["cobrowse"]], started_at__isnull=False
    ).values_list("ticket_id", "mode"):
        modes.setdefault(ticket_id, set()).add(mode)
    for row in rows:
        row["modes"] = "," + ",".join(sorted(modes.get(row["pk"], ()))) + "," if row["cobrowse"] else ""
    return rows


def refresh_tickets(ids: Iterable[int]) -> int:
    """Recompute the facts of these tickets; a ticket no longer resolved loses its row."""
    done = 0
    for batch in _chunks(ids):
        rows = _ticket_rows(batch)
        TicketFact.objects.filter(ticket_id__in=batch).exclude(ticket_id__in=[r["pk"] for r in rows]).delete()
        facts = [
            TicketFact(
                ticket_id=row["pk"],
                resolved_at=row["resolved_at"],
                assignee_id=row["assignee_id"],
                category=row["category"],
                account_id=row["account_id"],
                cobrowse=row["cobrowse"],
                modes=row["modes"],
                contact_at=row["contact_at"],
                follow_ups=row["follow_up_count"],
                stars=row["stars"],
            )
            for row in rows
        ]
        TicketFact.objects.bulk_create(
            facts,
            update_conflicts=True,
            unique_fields=["ticket"],
            update_fields=[f.name for f in TicketFact._meta.concrete_fields if not f.primary_key],
        )
        done += len(facts)
    return done


# --- whole tables and the timer ---------------------------------------------------------------------


def rebuild() -> tuple[int, int]:
    """Every fact from the raw rows (after a bulk import or a restore): (sessions, tickets)."""
    SessionFact.objects.exclude(session__started_at__isnull=False).delete()
    sessions = refresh_sessions(
        CoBrowseSession.objects.filter(started_at__isnull=False)
        .order_by("pk")
        .values_list("pk", flat=True)
        .iterator()
    )
    TicketFact.objects.filter(ticket__resolved_at__isnull=True).delete()
    tickets = refresh_tickets(
        Ticket.objects.filter(resolved_at__isnull=False)
        .order_by("pk")
        .values_list("pk", flat=True)
        .iterator()
    )
    return sessions, tickets


def refresh_recent() -> tuple[int, int]:
    """The timer's pass: sessions started and tickets changed in the last :data:`RECENT`."""
    since = timezone.now() - RECENT
    sessions = refresh_sessions(
        CoBrowseSession.objects.filter(started_at__gte=since).values_list("pk", flat=True).iterator()
    )
    tickets = refresh_tickets(
        Ticket.objects.filter(updated_at__gte=since).values_list("pk", flat=True).iterator()
    )
    return sessions, tickets


# --- on write --------------------------------------------------------------------------------------


def _safely(refresh: Any, ids: list[int]) -> None:
    try:
        with transaction.atomic():  # a savepoint: a failure here leaves the writer's work intact
            refresh(ids)
    except Exception:
        logger.warning("refreshing the analytics facts failed; the timer will repair them", exc_info=True)


def _changed(update_fields: Any, watched: frozenset[str]) -> bool:
    return update_fields is None or bool(set(update_fields) & watched)


def _session_saved(sender: Any, instance: CoBrowseSession, update_fields: Any = None, **_: Any) -> None:
    if instance.started_at is None or not _changed(update_fields, _SESSION_FIELDS):
        return
    _safely(refresh_sessions, [instance.pk])
    _safely(refresh_tickets, [instance.ticket_id])  # its ticket's co-browse side may have changed


def _session_child_saved(sender: Any, instance: SessionOutcome | SurveyResponse, **_: Any) -> None:
    _safely(refresh_sessions, [instance.session_id])
    ticket_id = (
        CoBrowseSession.objects.filter(pk=instance.session_id).values_list("ticket_id", flat=True).first()
    )
    if ticket_id is not None:
        _safely(refresh_tickets, [ticket_id])


def _ticket_saved(sender: Any, instance: Ticket, update_fields: Any = None, **_: Any) -> None:
    if not _changed(update_fields, _TICKET_FIELDS):
        return
    _safely(refresh_tickets, [instance.pk])
    started = list(instance.cobrowse_sessions.filter(started_at__isnull=False).values_list("pk", flat=True))
    if started:  # category and account live on the ticket
        _safely(refresh_sessions, started)


def _ticket_child_saved(sender: Any, instance: TicketComment | SatisfactionAnswer, **_: Any) -> None:
    if isinstance(instance, TicketComment) and instance.is_internal:
        return
    if TicketFact.objects.filter(ticket_id=instance.ticket_id).exists() or isinstance(
        instance, SatisfactionAnswer
    ):
        _safely(refresh_tickets, [instance.ticket_id])


def connect() -> None:
    post_save.connect(_session_saved, sender=CoBrowseSession, dispatch_uid="analytics.facts.session")
    post_save.connect(_session_child_saved, sender=SessionOutcome, dispatch_uid="analytics.facts.outcome")
    post_save.connect(_session_child_saved, sender=SurveyResponse, dispatch_uid="analytics.facts.answer")
    post_save.connect(_ticket_saved, sender=Ticket, dispatch_uid="analytics.facts.ticket")
    post_save.connect(_ticket_child_saved, sender=TicketComment, dispatch_uid="analytics.facts.comment")
    post_save.connect(
        _ticket_child_saved, sender=SatisfactionAnswer, dispatch_uid="analytics.facts.satisfaction"
    )
