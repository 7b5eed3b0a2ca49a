"""REST API for tickets, their conversation and their activity.

Thin views: parse the request, ask ``accounts.permissions`` who may act, call
``tickets.selectors`` / ``tickets.services``, render. Errors raised by the services
(Django's ``ValidationError`` / ``PermissionDenied``) become 400 / 403 here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from django import forms as django_forms
from django.conf import settings
from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from accounts import api_errors, permissions
from accounts.http import signed_in_user
from audit import services as audit
from tickets import selectors, services
from tickets.api_pagination import TicketCursorPagination
from tickets.forms import FlagField, TicketFilterForm
from tickets.models import Ticket
from tickets.serializers import (
    CommentCreateSerializer,
    CommentSerializer,
    ErrorDetailSerializer,
    EscalateSerializer,
    EventSerializer,
    InvalidTransitionErrorSerializer,
    TicketCreateSerializer,
    TicketSerializer,
    TicketUpdateSerializer,
)

#: A ticket in a URL: its number (``1042``) or its reference (``T-1042``).
TICKET_REF_REGEX = r"(?:[Tt]-)?[0-9]+"

TICKET_REF_PARAMETER = OpenApiParameter(
    "number",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="Ticket number (`1042`) or reference (`T-1042`).",
    pattern=rf"^{TICKET_REF_REGEX}$",
)

#: The list's search text is ``search`` here (``q`` on the queue page): the same filter.
SEARCH_PARAM = "search"


def _filter_parameters() -> list[OpenApiParameter]:
    """The list's filters as documented parameters, read from the one definition of them."""
    parameters = []
    for name, field in TicketFilterForm(search_param=SEARCH_PARAM).fields.items():
        description = str(field.help_text)
        if isinstance(field, FlagField):
            parameters.append(
                OpenApiParameter(name, OpenApiTypes.BOOL, description=description, default=False)
            )
        elif isinstance(field, django_forms.ModelChoiceField):
            parameters.append(OpenApiParameter(name, OpenApiTypes.INT, description=description))
        elif isinstance(field, django_forms.ChoiceField):
            values = [value for value, _ in cast(Iterable[tuple[str, Any]], field.choices) if value]
            parameters.append(OpenApiParameter(name, OpenApiTypes.STR, enum=values, description=description))
        else:
            parameters.append(OpenApiParameter(name, OpenApiTypes.STR, description=description))
    return parameters


FILTER_PARAMETERS = _filter_parameters()

ERROR_RESPONSES: dict[int, Any] = {
    400: OpenApiResponse(description="Invalid input: field errors keyed by field name."),
    403: OpenApiResponse(ErrorDetailSerializer, description="Not signed in, or not allowed."),
    404: OpenApiResponse(ErrorDetailSerializer, description="No such ticket visible to the caller."),
}


@api_errors.translate(services.InvalidTransition)
def _invalid_transition(exc: services.InvalidTransition) -> exceptions.ValidationError:
    """A status change the workflow does not allow: which one, as field errors (400)."""
    return exceptions.ValidationError(
        {"status": exc.messages, "transition": {"from": exc.current, "to": exc.requested}}
    )


class StandardPagination(PageNumberPagination):
    """A ticket's comments and events: a few dozen rows at most, so page numbers and a count."""

    page_size_query_param = "page_size"
    max_page_size = 100


def _ticket_for(request: Request, number: str) -> Ticket:
    """The ticket named in the URL, if the caller may see it; a 404 otherwise (never a 403)."""
    return selectors.ticket_or_404(signed_in_user(request), number)


def _staff_only_fields_present(data: Any, fields: tuple[str, ...]) -> list[str]:
    if not isinstance(data, Mapping):
        return []
    return [field for field in fields if field in data]


@extend_schema_view(
    list=extend_schema(
        summary="List tickets",
        description=(
            "Tickets visible to the caller (customers: their own), newest first by `created_at`. "
            "Paged by cursor: follow `next` until it is null. There is no `count` and no `page` "
            "parameter. An invalid filter, `page_size` or `cursor` is a 400 naming it."
        ),
        parameters=FILTER_PARAMETERS,
        responses={200: TicketSerializer(many=True), 400: ERROR_RESPONSES[400], 403: ERROR_RESPONSES[403]},
    ),
    retrieve=extend_schema(
        summary="Get a ticket",
        parameters=[TICKET_REF_PARAMETER],
        responses={200: TicketSerializer, 403: ERROR_RESPONSES[403], 404: ERROR_RESPONSES[404]},
    ),
    create=extend_schema(
        summary="Open a ticket",
        description=(
            "Customers open tickets for themselves. Support staff open them for a customer by "
            "naming `requester` and may set `priority`, `channel` and `assignee`."
        ),
        request=TicketCreateSerializer,
        responses={201: TicketSerializer, 400: ERROR_RESPONSES[400], 403: ERROR_RESPONSES[403]},
    ),
    partial_update=extend_schema(
        summary="Change status, priority, category or assignee",
        description=(
            "Support staff only. Changes are applied all or nothing; an illegal status change is "
            "a 400 naming the refused transition."
        ),
        parameters=[TICKET_REF_PARAMETER],
        request=TicketUpdateSerializer,
        responses={
            200: TicketSerializer,
            400: OpenApiResponse(
                InvalidTransitionErrorSerializer,
                description="Invalid input, or a status change the workflow does not allow.",
            ),
            403: ERROR_RESPONSES[403],
            404: ERROR_RESPONSES[404],
        },
    ),
)
class TicketViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Tickets visible to the caller, addressed by number (`1042`) or reference (`T-1042`)."""

    serializer_class = TicketSerializer
    pagination_class = TicketCursorPagination
    lookup_field = "number"
    lookup_value_regex = TICKET_REF_REGEX
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.ticket_queryset(signed_in_user(self.request))

    def get_serializer_context(self) -> dict[str, Any]:
        # A single ticket carries what other apps add to it (tickets.api_fields); a list does not.
        return {**super().get_serializer_context(), "with_extras": self.action != "list"}

    def get_object(self) -> Ticket:
        ticket = _ticket_for(self.request, self.kwargs[self.lookup_field])
        self.check_object_permissions(self.request, ticket)
        return ticket

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        filters = TicketFilterForm(request.query_params, search_param=SEARCH_PARAM)
        if not filters.is_valid():
            errors = {name: [str(text) for text in texts] for name, texts in filters.errors.items()}
            raise exceptions.ValidationError(errors)
        tickets = selectors.filter_tickets(signed_in_user(request), **filters.filters())
        page = self.paginate_queryset(tickets)
        context = self.get_serializer_context()
        return self.get_paginated_response(TicketSerializer(page, many=True, context=context).data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        staff_fields = _staff_only_fields_present(request.data, TicketCreateSerializer.STAFF_FIELDS)
        if staff_fields and not permissions.can_work_ticket(request.user):
            raise exceptions.PermissionDenied(
                f"Only support staff can set {', '.join(staff_fields)} when opening a ticket."
            )
        incoming = TicketCreateSerializer(data=request.data, context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        requester = data.pop("requester", request.user)
        ticket = services.create_ticket(requester=requester, created_by=signed_in_user(request), **data)
        body = TicketSerializer(ticket, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not kwargs.get("partial"):
            raise exceptions.MethodNotAllowed(str(request.method))
        ticket = self.get_object()
        if not isinstance(request.data, Mapping):
            raise exceptions.ValidationError(
                {api_settings.NON_FIELD_ERRORS_KEY: ["Expected an object of fields to change."]}
            )
        changing = _staff_only_fields_present(request.data, TicketUpdateSerializer.FIELDS)
        if changing and not permissions.can_work_ticket(request.user, ticket):
            raise exceptions.PermissionDenied(f"Only support staff can change {', '.join(changing)}.")
        unknown = sorted(set(request.data) - set(TicketUpdateSerializer.FIELDS))
        if unknown or not changing:
            raise exceptions.ValidationError(
                {
                    api_settings.NON_FIELD_ERRORS_KEY: [
                        f"Only {', '.join(TicketUpdateSerializer.FIELDS)} can be changed"
                        + (f"; not {', '.join(unknown)}." if unknown else ".")
                    ]
                }
            )
        incoming = TicketUpdateSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        ticket = services.update_ticket(ticket, actor=signed_in_user(request), **incoming.validated_data)
        return Response(TicketSerializer(ticket, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="Move a ticket to another level's queue and team (support staff)",
        description=(
            "Recorded on the ticket; the reason becomes an internal note. An assignee working below "
            "the new level is unassigned, so the ticket waits in that level's queue."
        ),
        request=EscalateSerializer,
        responses={200: TicketSerializer, **ERROR_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    def escalate(self, request: Request, number: str) -> Response:
        ticket = self.get_object()
        if not permissions.can_work_ticket(request.user, ticket):
            raise exceptions.PermissionDenied("Only support staff can escalate tickets.")
        incoming = EscalateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        ticket = services.escalate(
            ticket,
            actor=signed_in_user(request),
            level=incoming.validated_data["level"],
            team=incoming.validated_data.get("team"),
            reason=incoming.validated_data.get("reason", ""),
        )
        return Response(TicketSerializer(ticket, context=self.get_serializer_context()).data)


class _TicketChildViewSet(viewsets.GenericViewSet):
    """Base for ``/tickets/<number>/...`` collections."""

    pagination_class = StandardPagination

    def ticket(self) -> Ticket:
        if not hasattr(self, "_ticket"):
            self._ticket = _ticket_for(self.request, self.kwargs["number"])
        return self._ticket


@extend_schema_view(
    list=extend_schema(
        summary="List a ticket's replies (and, for support staff, internal notes)",
        parameters=[TICKET_REF_PARAMETER],
        responses={200: CommentSerializer(many=True), 403: ERROR_RESPONSES[403], 404: ERROR_RESPONSES[404]},
    ),
    create=extend_schema(
        summary="Reply to a ticket, or add an internal note",
        description=(
            "A staff reply sets the first response time and opens a new ticket; a customer reply "
            "reopens a pending or resolved ticket. Only support staff may set `is_internal`."
        ),
        parameters=[TICKET_REF_PARAMETER],
        request=CommentCreateSerializer,
        responses={
            201: CommentSerializer,
            400: ERROR_RESPONSES[400],
            403: ERROR_RESPONSES[403],
            404: ERROR_RESPONSES[404],
        },
    ),
)
class TicketCommentViewSet(_TicketChildViewSet):
    """Public replies and internal notes of a ticket (notes are never shown to customers)."""

    serializer_class = CommentSerializer

    def get_queryset(self):
        return selectors.visible_comments(signed_in_user(self.request), self.ticket())

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        context = self.get_serializer_context()
        return self.get_paginated_response(CommentSerializer(page, many=True, context=context).data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        ticket = self.ticket()
        incoming = CommentCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        comment = services.add_comment(
            ticket,
            author=signed_in_user(request),
            body=incoming.validated_data["body"],
            internal=incoming.validated_data["is_internal"],
        )
        body = CommentSerializer(comment, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        summary="A ticket's activity",
        description="Customers see public activity only; support staff also see internal events.",
        parameters=[TICKET_REF_PARAMETER],
        responses={200: EventSerializer(many=True), 403: ERROR_RESPONSES[403], 404: ERROR_RESPONSES[404]},
    ),
)
class TicketEventViewSet(_TicketChildViewSet):
    """Read-only activity of a ticket."""

    serializer_class = EventSerializer

    def get_queryset(self):
        return selectors.visible_events(signed_in_user(self.request), self.ticket())

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        context = self.get_serializer_context()
        return self.get_paginated_response(EventSerializer(page, many=True, context=context).data)


class TokenRequestThrottle(SimpleRateThrottle):
    """Slow down password guessing through the token endpoint (per client address)."""

    scope = "api_token"

    def get_rate(self) -> str:
        return getattr(settings, "TANDEM_API_TOKEN_RATE", "10/min")

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


@extend_schema(
    summary="Exchange a username and password for an API token",
    description="Send the token as `Authorization: Token <key>` on later requests.",
    request=AuthTokenSerializer,
    responses={
        200: inline_serializer("AuthToken", {"token": serializers.CharField()}),
        400: ERROR_RESPONSES[400],
        429: OpenApiResponse(ErrorDetailSerializer, description="Too many attempts."),
    },
    auth=[],
)
class TokenView(ObtainAuthToken):
    throttle_classes = [TokenRequestThrottle]

    def get_serializer_context(self) -> dict[str, Any]:
        # The serializer authenticates with ``authenticate(request=...)``; give it the Django request
        # so the sign-in lockout (django-axes) counts this endpoint and answers a locked client.
        return {**super().get_serializer_context(), "request": self.request._request}

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incoming = self.get_serializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        user = incoming.validated_data["user"]
        with transaction.atomic():
            token, created = Token.objects.get_or_create(user=user)
            audit.record("api.token_issued", actor=user, obj=user, details={"new_token": created})
        return Response({"token": token.key})
