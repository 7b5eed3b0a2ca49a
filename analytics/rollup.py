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

from django.db import connection, transaction
from django.db.models import (
    Avg,
    BooleanField,
    Case,
    CharField,
    Count,
    Exists,
    F,
    FloatField,
    IntegerField,
    Model,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Concat
from django.db.models.signals import post_save
from django.utils import timezone

from accounts.models import Role
from analytics.models import Disconnect, SessionFact, SessionQuality, TicketFact
from cobrowse.models import CoBrowseSession
from outcomes.models import SessionOutcome, SurveyResponse
from recordings.models import Recording
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


def _disconnects(**lookup: str) -> QuerySet[Disconnect, Any]:
    """How many disconnects the outer session had (null when none)."""
    return (
        Disconnect.objects.filter(session=OuterRef("pk"), **lookup)
        .order_by()
        .values("session")
        .annotate(n=Count("id"))
        .values("n")
    )


#: Each fact column and where it comes from, for both ways of computing the facts (row by row on
#: write, one ``INSERT ... SELECT`` in :func:`rebuild` on PostgreSQL).
_SESSION_SOURCE: dict[str, Any] = {
    "session_id": F("pk"),
    "started_at": F("started_at"),
    "ended_at": F("ended_at"),
    "agent_id": F("agent_id"),
    "mode": F("mode"),
    "initiated_by": F("initiated_by"),
    "recording": F("recording"),
    "category": F("ticket__category"),
    "account_id": F("ticket__account_id"),
    "outcome": Coalesce(F("outcome__outcome"), Value("")),
    "stars": F("survey_response__stars"),
    **{name: F(f"quality__{name}") for name in SessionFact.QUALITY_FIELDS},
    "disconnects": Subquery(_disconnects(), output_field=IntegerField()),
    "network_drops": Subquery(_disconnects(cause="network"), output_field=IntegerField()),
    "recorded": Case(
        When(session_recording__isnull=False, then=Value(True)), default=None, output_field=BooleanField()
    ),
    "recording_complete": F("session_recording__complete"),
    "recording_bytes": F("session_recording__bytes_stored"),
}


def _session_source() -> QuerySet[CoBrowseSession, Any]:
    """The facts of every session that started, as ``src_<column>`` values."""
    return CoBrowseSession.objects.filter(started_at__isnull=False).values(
        **{f"src_{column}": expression for column, expression in _SESSION_SOURCE.items()}
    )


def refresh_sessions(ids: Iterable[int]) -> int:
    """Recompute the facts of these sessions (those that never started have none)."""
    done = 0
    for batch in _chunks(ids):
        facts = [
            SessionFact(**{column: row[f"src_{column}"] for column in _SESSION_SOURCE})
            for row in _session_source().filter(pk__in=batch)
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


def _ticket_source() -> QuerySet[Ticket]:
    """Resolved tickets annotated with their first-contact figures (the definitions:
    ``analytics.contact``): ``cobrowse``, ``contact_at``, ``follow_up_count`` and ``stars``."""
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
    return (
        Ticket.objects.filter(resolved_at__isnull=False)
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
    )


_TICKET_VALUES = (
    "pk", "resolved_at", "assignee_id", "category", "account_id", "cobrowse", "contact_at",
    "follow_up_count", "stars",
)  # fmt: skip


def _ticket_rows(batch: list[int]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        dict(row) for row in _ticket_source().filter(pk__in=batch).values(*_TICKET_VALUES)
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
    """Every fact from the raw rows (after a bulk import or a restore): (sessions, tickets).

    On PostgreSQL one ``INSERT ... SELECT`` per table (the same source expressions as the row-by-row
    path, a minute or two at a million sessions instead of thousands of chunked round trips); the
    chunked path elsewhere."""
    SessionFact.objects.exclude(session__started_at__isnull=False).delete()
    TicketFact.objects.filter(ticket__resolved_at__isnull=True).delete()
    if connection.vendor == "postgresql":
        with transaction.atomic():
            return _insert_sessions(), _insert_tickets()
    sessions = refresh_sessions(
        CoBrowseSession.objects.filter(started_at__isnull=False)
        .order_by("pk")
        .values_list("pk", flat=True)
        .iterator()
    )
    tickets = refresh_tickets(
        Ticket.objects.filter(resolved_at__isnull=False)
        .order_by("pk")
        .values_list("pk", flat=True)
        .iterator()
    )
    return sessions, tickets


def _upsert(model: type[Model], key: str, source: QuerySet[Any, Any], columns: Iterable[str]) -> int:
    """``INSERT INTO model (columns) SELECT src_<column> FROM (source) ON CONFLICT (key) DO UPDATE``.

    Every name is a model's own (quoted); the values travel as the compiled query's parameters."""
    quote = connection.ops.quote_name
    columns = list(columns)
    sql, params = source.query.sql_with_params()
    names = ", ".join(quote(c) for c in columns)
    picked = ", ".join(quote(f"src_{c}") for c in columns)
    updates = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in columns if c != key)
    statement = " ".join(
        [
            f"INSERT INTO {quote(model._meta.db_table)} ({names})",
            f"SELECT {picked} FROM ({sql}) AS src",  # noqa: S608 - names quoted, values as params
            f"ON CONFLICT ({quote(key)}) DO UPDATE SET {updates}",
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def _insert_sessions() -> int:
    return _upsert(SessionFact, "session_id", _session_source().order_by(), _SESSION_SOURCE)


def _insert_tickets() -> int:
    from django.contrib.postgres.aggregates import StringAgg  # this path runs on PostgreSQL only

    modes = (
        CoBrowseSession.objects.filter(ticket=OuterRef("pk"), started_at__isnull=False)
        .order_by()
        .values("ticket")
        .annotate(joined=StringAgg("mode", ",", distinct=True, order_by="mode"))
        .values("joined")
    )
    source = (
        _ticket_source()
        .order_by()
        .values(
            src_ticket_id=F("pk"),
            src_resolved_at=F("resolved_at"),
            src_assignee_id=F("assignee_id"),
            src_category=F("category"),
            src_account_id=F("account_id"),
            src_cobrowse=F("cobrowse"),
            src_modes=Case(
                When(
                    cobrowse=True,
                    then=Concat(Value(","), Subquery(modes), Value(","), output_field=CharField()),
                ),
                default=Value(""),
                output_field=CharField(),
            ),
            src_contact_at=F("contact_at"),
            src_follow_ups=F("follow_up_count"),
            src_stars=F("stars"),
        )
    )
    columns = (
        "ticket_id", "resolved_at", "assignee_id", "category", "account_id", "cobrowse", "modes",
        "contact_at", "follow_ups", "stars",
    )  # fmt: skip
    return _upsert(TicketFact, "ticket_id", source, columns)


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


def session_changed(session_id: int) -> None:
    """Refresh one session's facts after a write the ``post_save`` receivers do not see (the
    relay's quality counts are added with ``QuerySet.update``)."""
    _safely(refresh_sessions, [session_id])


def _changed(update_fields: Any, watched: frozenset[str]) -> bool:
    return update_fields is None or bool(set(update_fields) & watched)


def _resolved_ticket(**lookup: Any) -> int | None:
    """The ticket's id when it is resolved (only resolved tickets have facts), else None."""
    return Ticket.objects.filter(resolved_at__isnull=False, **lookup).values_list("pk", flat=True).first()


def _session_saved(sender: Any, instance: CoBrowseSession, update_fields: Any = None, **_: Any) -> None:
    if instance.started_at is None or not _changed(update_fields, _SESSION_FIELDS):
        return
    _safely(refresh_sessions, [instance.pk])
    ticket_id = _resolved_ticket(pk=instance.ticket_id)
    if ticket_id is not None:  # its co-browse side may have changed
        _safely(refresh_tickets, [ticket_id])


def _session_child_saved(sender: Any, instance: SessionOutcome | SurveyResponse, **_: Any) -> None:
    _safely(refresh_sessions, [instance.session_id])
    ticket_id = _resolved_ticket(cobrowse_sessions=instance.session_id)
    if ticket_id is not None:
        _safely(refresh_tickets, [ticket_id])


def _ticket_saved(
    sender: Any, instance: Ticket, created: bool = False, update_fields: Any = None, **_: Any
) -> None:
    if not _changed(update_fields, _TICKET_FIELDS):
        return
    if instance.resolved_at is not None:
        _safely(refresh_tickets, [instance.pk])
    elif not created:  # reopened: no longer counted as resolved
        _safely(lambda ids: TicketFact.objects.filter(ticket_id__in=ids).delete(), [instance.pk])
    if created or (update_fields is not None and not {"category", "account"} & set(update_fields)):
        return  # the sessions' facts carry the ticket's category and account, nothing else of it
    started = list(instance.cobrowse_sessions.filter(started_at__isnull=False).values_list("pk", flat=True))
    if started:
        _safely(refresh_sessions, started)


def _ticket_child_saved(sender: Any, instance: TicketComment | SatisfactionAnswer, **_: Any) -> None:
    if isinstance(instance, TicketComment) and instance.is_internal:
        return
    if TicketFact.objects.filter(ticket_id=instance.ticket_id).exists() or isinstance(
        instance, SatisfactionAnswer
    ):
        _safely(refresh_tickets, [instance.ticket_id])


_RECORDING_FIELDS = frozenset({"complete", "ended_at", "deleted_at"})


def _recording_saved(
    sender: Any, instance: Recording, created: bool = False, update_fields: Any = None, **_: Any
) -> None:
    # Progress saves (bytes so far) are left to the timer and to the recording's final save.
    if created or _changed(update_fields, _RECORDING_FIELDS):
        _safely(refresh_sessions, [instance.session_id])


def _quality_saved(sender: Any, instance: SessionQuality | Disconnect, **_: Any) -> None:
    _safely(refresh_sessions, [instance.session_id])


def connect() -> None:
    post_save.connect(_quality_saved, sender=SessionQuality, dispatch_uid="analytics.facts.quality")
    post_save.connect(_quality_saved, sender=Disconnect, dispatch_uid="analytics.facts.disconnect")
    post_save.connect(_recording_saved, sender=Recording, dispatch_uid="analytics.facts.recording")
    post_save.connect(_session_saved, sender=CoBrowseSession, dispatch_uid="analytics.facts.session")
    post_save.connect(_session_child_saved, sender=SessionOutcome, dispatch_uid="analytics.facts.outcome")
    post_save.connect(_session_child_saved, sender=SurveyResponse, dispatch_uid="analytics.facts.answer")
    post_save.connect(_ticket_saved, sender=Ticket, dispatch_uid="analytics.facts.ticket")
    post_save.connect(_ticket_child_saved, sender=TicketComment, dispatch_uid="analytics.facts.comment")
    post_save.connect(
        _ticket_child_saved, sender=SatisfactionAnswer, dispatch_uid="analytics.facts.satisfaction"
    )
