"""The ticket list's pagination on the REST API: keyset pages (``tickets.pagination``) in DRF's
familiar ``{"next", "previous", "results"}`` shape, without ``count`` (counting a large filtered set
costs more than the page itself) and without page numbers (an ``OFFSET`` reads every row it skips).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import exceptions, serializers
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from tickets.models import Ticket
from tickets.pagination import CURSOR_PARAM, MAX_CURSOR_LENGTH, InvalidCursor, Keyset, KeysetPage

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100

#: Newest first by creation: an immutable key, so walking the list while tickets are opened or
#: edited never skips or repeats one (``updated_at`` would move edited tickets between pages).
TICKET_LIST_KEYSET = Keyset("created_at", "number", salt="tickets.api.tickets")


class _PageParams(serializers.Serializer):
    page_size = serializers.IntegerField(
        required=False, default=DEFAULT_PAGE_SIZE, min_value=1, max_value=MAX_PAGE_SIZE
    )
    cursor = serializers.CharField(required=False, allow_blank=True, max_length=MAX_CURSOR_LENGTH)


class TicketCursorPagination(BasePagination):
    """``?cursor=`` from the previous response's ``next``/``previous``; ``?page_size=`` 1 to 100."""

    keyset = TICKET_LIST_KEYSET
    page: KeysetPage[Ticket]

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any]:
        assert isinstance(queryset, QuerySet), "keyset pages read a queryset"
        if "page" in request.query_params:
            raise exceptions.ValidationError(
                {"page": ["This list is paged by cursor: follow the `next` and `previous` links."]}
            )
        params = _PageParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        position = None
        if params.validated_data.get("cursor"):
            try:
                position = self.keyset.decode(params.validated_data["cursor"])
            except InvalidCursor:
                raise exceptions.ValidationError(
                    {"cursor": ["Invalid cursor: use the `next` or `previous` link of a response as given."]}
                ) from None
        self.request = request
        self.page = self.keyset.page(queryset, position, params.validated_data["page_size"])
        return self.page.rows

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        return replace_query_param(self.request.build_absolute_uri(), CURSOR_PARAM, cursor)

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {
                "next": self._link(self.page.next_cursor),
                "previous": self._link(self.page.previous_cursor),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "description": (
                "One page, newest first. No total count: follow `next` until it is null. "
                "Tickets opened while you page never cause a gap or a repeat."
            ),
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {**link, "description": "The following (older) page; null on the last."},
                "previous": {**link, "description": "The preceding (newer) page; null on the first."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": CURSOR_PARAM,
                "required": False,
                "in": "query",
                "description": "Opaque position from a `next` or `previous` link; omit for the first page.",
                "schema": {"type": "string"},
            },
            {
                "name": "page_size",
                "required": False,
                "in": "query",
                "description": f"Tickets per page, 1 to {MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
            },
        ]
