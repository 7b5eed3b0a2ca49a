"""``/api/`` routes of the tickets app (mounted by ``config/urls.py``)."""

from __future__ import annotations

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from tickets.api import TICKET_REF_REGEX, TicketCommentViewSet, TicketEventViewSet, TicketViewSet, TokenView

router = SimpleRouter()
router.register("tickets", TicketViewSet, basename="api-ticket")

urlpatterns = [
    *router.urls,
    re_path(
        rf"^tickets/(?P<number>{TICKET_REF_REGEX})/comments/$",
        TicketCommentViewSet.as_view({"get": "list", "post": "create"}),
        name="api-ticket-comments",
    ),
    re_path(
        rf"^tickets/(?P<number>{TICKET_REF_REGEX})/events/$",
        TicketEventViewSet.as_view({"get": "list"}),
        name="api-ticket-events",
    ),
    path("auth/token/", TokenView.as_view(), name="api-token"),
]
