"""Keyset ("cursor") pagination of the desk's ticket lists: the queue, the portal and the API.

A page is "the next N rows after this position" in a fixed order of two columns, newest first,
the second unique (``(updated_at, id)`` on the pages, ``(created_at, number)`` on the API). That is
one index range read whatever the depth, where ``OFFSET`` reads and throws away every earlier row
and Django's ``Paginator`` counts the whole filtered set on every page.

The cursor is signed (``django.core.signing``, one salt per list) so that a hand-edited or foreign
cursor is refused rather than guessed at: the API answers 400, the pages show the first page.
Cursors stop working when ``SECRET_KEY`` changes; they are positions, not bookmarks.

The position's first column may change while someone pages (``updated_at`` does on every edit): a
ticket edited meanwhile moves to the top of the list, so it may be missed on later pages or seen
twice. The API orders by ``created_at`` for that reason: with an immutable key, rows inserted while
a client walks the list never cause a gap or a repeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from django.core import signing
from django.db.models import Model, Q, QuerySet
from django.http import QueryDict

#: Query parameter carrying the cursor, on the pages and on the API.
CURSOR_PARAM = "cursor"
#: A cursor is about 100 characters; anything much longer is not one of ours.
MAX_CURSOR_LENGTH = 300

M = TypeVar("M", bound=Model)

_FORWARD, _BACKWARD = "n", "p"


class InvalidCursor(ValueError):
    """The cursor was not issued by this list (malformed, tampered with, or from another list)."""


@dataclass(frozen=True)
class Position:
    """Where a page starts: after (forward) or before (backward) the row with these keys.

    ``start`` is the index the page's first row had when the cursor was made; it only labels the
    page ("Showing 26-50") and drifts if rows are added or removed meanwhile.
    """

    time: datetime
    tie: int
    backward: bool
    start: int


@dataclass(frozen=True)
class KeysetPage(Generic[M]):
    rows: list[M]
    next_cursor: str | None
    previous_cursor: str | None
    start: int = 0

    @property
    def first_index(self) -> int:
        """1-based index of the first row shown (for "Showing 1-25")."""
        return self.start + 1 if self.rows else 0

    @property
    def last_index(self) -> int:
        return self.start + len(self.rows)

    @property
    def has_other_pages(self) -> bool:
        return self.next_cursor is not None or self.previous_cursor is not None


@dataclass(frozen=True)
class Keyset:
    """A list ordered newest first by ``(time_field, tie_field)``; ``tie_field`` must be unique."""

    time_field: str
    tie_field: str
    salt: str

    # --- cursors ---------------------------------------------------------------------------

    def encode(self, row: Model, *, backward: bool, start: int) -> str:
        time, tie = getattr(row, self.time_field), getattr(row, self.tie_field)
        return self._sign(time, tie, backward=backward, start=start)

    def _sign(self, time: datetime, tie: int, *, backward: bool, start: int) -> str:
        payload = [time.isoformat(), tie, _BACKWARD if backward else _FORWARD, max(start, 0)]
        return signing.Signer(salt=self.salt).sign_object(payload)

    def decode(self, token: str) -> Position:
        """The position a cursor names; ``InvalidCursor`` for anything this list did not issue."""
        if not token or len(token) > MAX_CURSOR_LENGTH:
            raise InvalidCursor("Invalid cursor.")
        try:
            payload = signing.Signer(salt=self.salt).unsign_object(token)
        except (signing.BadSignature, ValueError, UnicodeError):
            raise InvalidCursor("Invalid cursor.") from None
        try:
            stamp, tie, direction, start = payload
            time = datetime.fromisoformat(stamp)
        except (TypeError, ValueError):
            raise InvalidCursor("Invalid cursor.") from None
        valid = (
            time.tzinfo is not None
            and _is_count(tie)
            and direction in (_FORWARD, _BACKWARD)
            and _is_count(start)
        )
        if not valid:
            raise InvalidCursor("Invalid cursor.")
        return Position(time=time, tie=tie, backward=direction == _BACKWARD, start=start)

    # --- pages -----------------------------------------------------------------------------

    def order(self, queryset: QuerySet[M]) -> QuerySet[M]:
        return queryset.order_by(f"-{self.time_field}", f"-{self.tie_field}")

    def page(self, queryset: QuerySet[M], position: Position | None, size: int) -> KeysetPage[M]:
        """Up to ``size`` rows from ``position`` (the first page if None). One query; walking
        backwards into the top of the list serves the first page as it is now (a second query
        when the cursor did not know it was near the top)."""
        if position is None:
            rows = list(self.order(queryset)[: size + 1])
            return self._forward_page(rows, size, start=0, came_from=None)
        if not position.backward:
            rows = list(self.order(queryset.filter(self._older_than(position)))[: size + 1])
            return self._forward_page(rows, size, start=position.start, came_from=position)
        if position.start <= 0:  # the page before is the first one: serve the top of the list now
            return self.page(queryset, None, size)
        newer = queryset.filter(self._newer_than(position))
        rows = list(newer.order_by(self.time_field, self.tie_field)[: size + 1])
        if len(rows) <= size:  # nothing before these: the first page, full
            return self.page(queryset, None, size)
        rows = rows[:size][::-1]
        start = position.start
        return KeysetPage(
            rows=rows,
            next_cursor=self.encode(rows[-1], backward=False, start=start + size),
            previous_cursor=self.encode(rows[0], backward=True, start=start - size),
            start=start,
        )

    def _forward_page(
        self, rows: list[M], size: int, *, start: int, came_from: Position | None
    ) -> KeysetPage[M]:
        more = len(rows) > size
        rows = rows[:size]
        previous = None
        if came_from is not None:
            # Rows newer than the first one shown (or than the cursor, if this page is empty).
            previous = (
                self.encode(rows[0], backward=True, start=start - size)
                if rows
                else self._sign(came_from.time, came_from.tie, backward=True, start=start - size)
            )
        following = self.encode(rows[-1], backward=False, start=start + len(rows)) if more else None
        return KeysetPage(rows=rows, next_cursor=following, previous_cursor=previous, start=start)

    def _older_than(self, position: Position) -> Q:
        # The redundant ``<=`` lets the database read one range of the (time, tie) index.
        time, tie = self.time_field, self.tie_field
        return Q(**{f"{time}__lte": position.time}) & (
            Q(**{f"{time}__lt": position.time}) | Q(**{f"{tie}__lt": position.tie})
        )

    def _newer_than(self, position: Position) -> Q:
        time, tie = self.time_field, self.tie_field
        return Q(**{f"{time}__gte": position.time}) & (
            Q(**{f"{time}__gt": position.time}) | Q(**{f"{tie}__gt": position.tie})
        )

    # --- pages of the site -----------------------------------------------------------------

    def page_for_link(self, queryset: QuerySet[M], token: str | None, size: int) -> KeysetPage[M]:
        """A page of a server-rendered list. A link is not an API call: a cursor that is not valid
        (an old bookmark, an edited URL) or that leads past the end shows the first page."""
        if not token:
            return self.page(queryset, None, size)
        try:
            position = self.decode(token)
        except InvalidCursor:
            return self.page(queryset, None, size)
        page = self.page(queryset, position, size)
        return page if page.rows else self.page(queryset, None, size)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def bounded_count(queryset: QuerySet[Any], page: KeysetPage[Any], limit: int = 1000) -> tuple[int, bool]:
    """How many rows match, counting no further than ``limit`` + 1: ``(n, True)`` means "more than
    n". A short first page is the whole list and needs no query."""
    if page.start == 0 and page.next_cursor is None and page.previous_cursor is None:
        return len(page.rows), False
    found = queryset.order_by()[: limit + 1].count()
    return min(found, limit), found > limit


def link_query(params: QueryDict, cursor: str | None) -> str:
    """The query string of a page link: the list's filters as given, and the cursor."""
    query = params.copy()
    query.pop(CURSOR_PARAM, None)
    if cursor:
        query[CURSOR_PARAM] = cursor
    return query.urlencode()
