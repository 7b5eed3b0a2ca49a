"""The desk's ticket search: what a search term matches, in which order, for whom.

On PostgreSQL a ticket matches when its number is the term (``1042`` or ``T-1042``), when every word
of the term is in its text, or (support staff only) when its requester's name or e-mail contains
the term. The text lives in two tsvector columns that migration 0007 adds and its triggers keep
current: ``search_public`` (subject, description, public replies) and ``search_internal``
(internal notes). Only readers allowed to see internal notes search the internal vector, so that a
customer can never find a ticket by a word that only an internal note contains.

Words are stemmed (English): "payments" finds "payment". Each word of three letters or more also
matches as the beginning of a stored word ("paym" finds "payment", "config" finds "configuration").
Stored words are stems, so a beginning typed past the stem ("configura", stem "configur") finds
nothing; matching shorter stems instead would turn "planet" into "plan" for every search. Trigram
substring matching was measured as the alternative (docs/architecture.md, "Ticket search").

Order: the lists order matches by recency (their keyset pagination needs that order). To keep that
fast whatever the planner guesses, :func:`filter_search` first fetches at most ``FEW`` matching ids
through the GIN indexes: when there are no more, the list is those ids (primary-key lookups); when
there are more, the term is common and walking the recency index finds a page of matches quickly.
:func:`ranked` orders by relevance where a set is small enough to rank.

Requesters are looked up first in the (small) users table; their tickets are then found through
the requester index, so that a staff search never scans the tickets.

SQLite, the embedded default, keeps the simple substring search.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import IO, Any

from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    BooleanField,
    Case,
    Expression,
    F,
    FloatField,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.sql.compiler import SQLCompiler

from accounts import permissions
from accounts.models import Role, User
from tickets.models import Ticket

#: Only the start of a very long term is searched; the words beyond cannot narrow it much further.
MAX_TERM_LENGTH = 200
MAX_WORDS = 8
MAX_WORD_LENGTH = 40
#: A staff search also finds the tickets of at most this many customers whose name or e-mail it is in.
MAX_REQUESTERS = 1000
#: A prefix shorter than this would expand to too many words to be useful (or fast).
MIN_PREFIX_LENGTH = 3
#: Up to this many matches are fetched as ids first; a term with more is common (see above).
FEW = 1000
LARGEST_NUMBER = 2**31 - 1  # the number column is an integer

_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Terms:
    """A search term taken apart: the ticket number it names, its words, and the whole text."""

    text: str
    number: int | None
    words: tuple[str, ...]


def parse(term: str) -> Terms:
    """Bounded and cleaned: punctuation and very long input give fewer words, never an error."""
    text = (term or "").strip()[:MAX_TERM_LENGTH]
    digits = text.upper().removeprefix("T-").removeprefix("#")
    number = None
    if digits.isascii() and digits.isdecimal() and len(digits) <= 10 and int(digits) <= LARGEST_NUMBER:
        number = int(digits)
    words = tuple(w[:MAX_WORD_LENGTH] for w in _WORD.findall(text.lower()))[:MAX_WORDS]
    return Terms(text=text, number=number, words=words)


def filter_search(qs: QuerySet[Ticket], user: User, term: str) -> QuerySet[Ticket]:
    """The tickets of ``qs`` that match ``term`` for ``user`` (the queue's and the API's search).

    Apply it after the other filters: on PostgreSQL it runs one bounded query at once (the ids of
    up to ``FEW`` matches) to choose between a list of ids and the lazy condition."""
    terms = parse(term)
    if not terms.text:
        return qs
    if connections[qs.db].vendor != "postgresql":
        return _substring_search(qs, user, terms)
    query = tsquery(terms.words, using=qs.db)
    condition = Q(pk__in=[])  # matches nothing; the branches below add what matches
    if query:
        condition |= Q(_Matches("search_public", query))
        if permissions.can_see_internal_notes(user):
            condition |= Q(_Matches("search_internal", query))
    if terms.number is not None:
        condition |= Q(number=terms.number)
    if permissions.is_support_staff(user):
        # Looked up once, here: the queries below (probe, page, count) then carry the ids instead
        # of scanning the users table each. A term naming more customers than that is not a
        # requester search; its text still matches.
        ids = list(_requesters(terms.text).order_by("pk").values_list("pk", flat=True)[:MAX_REQUESTERS])
        if ids:
            condition |= Q(_EqualsAny(F("requester_id"), Value(ids)))
    matches = qs.filter(condition)
    few = list(matches.order_by().values_list("pk", flat=True)[: FEW + 1])
    return qs.filter(pk__in=few) if len(few) <= FEW else matches


def best_matches(qs: QuerySet[Ticket], user: User, term: str, limit: int = 5) -> list[Ticket]:
    """The ``limit`` best matches of ``term`` in ``qs`` by :func:`ranked` (the ticket the number
    names first), shown above a list that is in recency order; empty when the term matches more
    than ``FEW`` tickets (too common to rank within a page view) or nothing."""
    terms = parse(term)
    if not terms.text:
        return []
    matched = filter_search(qs, user, term)
    if connections[qs.db].vendor == "postgresql":
        ids = list(matched.order_by().values_list("pk", flat=True)[: FEW + 1])
        if len(ids) > FEW:
            return []
        matched = qs.filter(pk__in=ids)
    return list(ranked(matched, user, term)[:limit])


def ranked(qs: QuerySet[Ticket], user: User, term: str) -> QuerySet[Ticket]:
    """``qs`` (already filtered by :func:`filter_search`) best match first: the ticket the number
    names, then by text rank (subject above description above replies and notes), then the most
    recently updated. Ranking reads the vector of every match: 1 s for 100k matches at 1M tickets,
    so rank sets that :func:`filter_search` found to be few."""
    terms = parse(term)
    order = ["-updated_at", "-id"]
    query = tsquery(terms.words, using=qs.db) if connections[qs.db].vendor == "postgresql" else ""
    if query:
        rank: Any = _Rank("search_public", query)
        if permissions.can_see_internal_notes(user):
            rank = rank + _Rank("search_internal", query)
        qs = qs.alias(search_rank=rank)
        order.insert(0, "-search_rank")
    if terms.number is not None:
        exact = Case(When(number=terms.number, then=Value(1)), default=Value(0), output_field=IntegerField())
        qs = qs.alias(search_exact=exact)
        order.insert(0, "-search_exact")
    return qs.order_by(*order)


def tsquery(words: tuple[str, ...], *, using: str = "default") -> str:
    """The text of a tsquery matching every word (as a stem, or as a word's beginning), or "" when
    no word is searchable (only stop words or nothing). PostgreSQL stems and quotes the words."""
    if not words:
        return ""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT to_tsquery('english'::regconfig, quote_literal(w) || CASE WHEN p THEN ':*' ELSE '' END)"
            "::text FROM unnest(%s::text[], %s::boolean[]) WITH ORDINALITY AS u(w, p, n) ORDER BY n",
            [list(words), [_is_prefix(w) for w in words]],
        )
        stems = [row[0] for row in cursor.fetchall()]
    return " & ".join(f"({stem})" for stem in stems if stem)  # a stop word's is empty: it narrows nothing


def _is_prefix(word: str) -> bool:
    return len(word) >= MIN_PREFIX_LENGTH and not word.isdecimal()


def _requesters(text: str) -> QuerySet[User]:
    """Customers whose name or e-mail contains ``text``: a scan of the users table, not of tickets."""
    return User.objects.filter(role=Role.CUSTOMER).filter(
        Q(username__icontains=text)
        | Q(email__icontains=text)
        | Q(first_name__icontains=text)
        | Q(last_name__icontains=text)
    )


def _substring_search(qs: QuerySet[Ticket], user: User, terms: Terms) -> QuerySet[Ticket]:
    """The embedded database's search: substrings of the subject and description."""
    query = Q(subject__icontains=terms.text) | Q(description__icontains=terms.text)
    if terms.number is not None:
        query |= Q(number=terms.number)
    if permissions.is_support_staff(user):
        query |= Q(requester__in=_requesters(terms.text))
    return qs.filter(query)


class _EqualsAny(Func):
    """``column = ANY(array)``: unlike ``IN (subquery)`` it can sit in an OR of index conditions (a
    bitmap OR), so the requester branch does not turn the search into a scan."""

    template = "%(expressions)s)"
    arg_joiner = " = ANY("
    conditional = True
    output_field = BooleanField()


class _VectorExpression(Expression):
    """Refers to a database-only vector column of the queryset's tickets table, whatever its alias."""

    template = ""

    def __init__(self, column: str, query: str) -> None:
        super().__init__()
        self.column, self.query = column, query

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, tuple[str]]:
        alias = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        column = f"{alias}.{connection.ops.quote_name(self.column)}"
        return self.template.format(column=column), (self.query,)


class _Matches(_VectorExpression):
    conditional = True
    output_field = BooleanField()
    template = "{column} @@ %s::tsquery"


class _Rank(_VectorExpression):
    output_field = FloatField()
    template = "coalesce(ts_rank({column}, %s::tsquery), 0)"


# --- rebuild --------------------------------------------------------------------------------------

REBUILD_SQL = """
    UPDATE tickets_ticket t SET search_public = v.public, search_internal = v.internal
      FROM (SELECT s.id,
                   tickets_search_public(s.subject, s.description, c.replies) AS public,
                   tickets_search_internal(c.notes) AS internal
              FROM tickets_ticket s LEFT JOIN (
                     SELECT ticket_id,
                            string_agg(body, ' ' ORDER BY created_at, id)
                              FILTER (WHERE NOT is_internal) AS replies,
                            string_agg(body, ' ' ORDER BY created_at, id) FILTER (WHERE is_internal) AS notes
                       FROM tickets_ticketcomment GROUP BY ticket_id) c ON c.ticket_id = s.id) v
     WHERE t.id = v.id
       AND (t.search_public IS DISTINCT FROM v.public OR t.search_internal IS DISTINCT FROM v.internal)
"""


def rebuild(stdout: IO[str] | None = None, *, using: str = "default") -> int:
    """Recompute every ticket's search vectors in one set-based statement; returns how many changed.

    For imports that bypassed the triggers (COPY or INSERT with triggers disabled). Vectors that are
    already right are not rewritten, so running it on a healthy database writes nothing."""
    if connections[using].vendor != "postgresql":
        if stdout:
            stdout.write("search vectors: not used on this database\n")
        return 0
    started = time.monotonic()
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute(REBUILD_SQL)
        changed = cursor.rowcount
    if stdout:
        stdout.write(f"search vectors: {changed} tickets updated in {time.monotonic() - started:.1f} s\n")
    return changed


__all__ = ["Terms", "filter_search", "parse", "ranked", "rebuild", "tsquery"]
