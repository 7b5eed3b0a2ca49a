"""REST API of server-side browser sessions: start, act, look (screenshot, page outline, status), stop.

Thin: the session's agent only (everyone else gets 404), validate, call ``browser.services``.
The runner answers through the channel layer, so these views work wherever the browser runs.
"""

from __future__ import annotations

import base64

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import api_errors
from accounts.http import signed_in_user
from browser import selectors, services
from browser.serializers import (
    ActionResultSerializer,
    ActionSerializer,
    BrowserSessionCreateSerializer,
    BrowserSessionSerializer,
    OutlineSerializer,
    StatusSerializer,
)
from cobrowse.models import CoBrowseSession
from tickets import selectors as ticket_selectors

_ERRORS = {
    400: OpenApiResponse(description="Invalid input; the body names the field."),
    404: OpenApiResponse(description="No such browser session for you."),
    409: OpenApiResponse(
        description="The session is not live, the mode does not allow it, or the action is on the never-list "
        "(submit a form, pay, a file input, a masked field, another origin): nothing was done."
    ),
    429: OpenApiResponse(description="More than the allowed actions per second."),
    503: OpenApiResponse(description="No browser runs for the session (starting, or no capacity)."),
    504: OpenApiResponse(description="The browser did not answer in time."),
}


@api_errors.translate(services.BrowserError)
def _refused(exc: services.BrowserError) -> api_errors.Refused:
    """A browser refusal carries its own status and stable code."""
    return api_errors.Refused(exc.message, exc.code, exc.status)


class _AgentView(APIView):
    permission_classes = [IsAuthenticated]

    def session(self, request: Request, pk: int) -> CoBrowseSession:
        try:
            return selectors.browser_session_for_agent(request.user, pk)
        except CoBrowseSession.DoesNotExist:
            raise Http404("No such browser session.") from None


def _session_data(session: CoBrowseSession, **extra: object) -> dict:
    data = BrowserSessionSerializer(session).data
    data.update(extra)
    data["viewer_url"] = f"/browser/{session.pk}/"
    return data


class BrowserSessionsView(_AgentView):
    @extend_schema(
        request=BrowserSessionCreateSerializer,
        responses={201: BrowserSessionSerializer, 200: BrowserSessionSerializer, **_ERRORS},
        summary="Start a server-side browser session on a ticket",
    )
    def post(self, request: Request) -> Response:
        """Invite the customer (201, ``join_url``); on a ticket whose browser session the customer
        already consented to, start its browser instead (200, ``launched``). One live browser per agent."""
        data = BrowserSessionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = ticket_selectors.ticket_or_404(signed_in_user(request), data.validated_data["ticket"])
        started = services.start_browser_session(
            ticket,
            agent=signed_in_user(request),
            start_url=data.validated_data["start_url"],
            channel=data.validated_data["channel"],
        )
        body = _session_data(started.session, join_url=started.join_url, launched=started.launched)
        return Response(body, status=status.HTTP_200_OK if started.launched else status.HTTP_201_CREATED)


class ActionView(_AgentView):
    @extend_schema(
        request=ActionSerializer,
        responses={200: ActionResultSerializer, 502: ActionResultSerializer, **_ERRORS},
        summary="Perform one action in the session's browser",
    )
    def post(self, request: Request, pk: int) -> Response:
        """click (selector or x/y), type (selector, text, clear), press (key), scroll (direction,
        amount), goto (url), back, forward, reload, wait (selector, timeout ≤ 30 s). Each is logged."""
        session = self.session(request, pk)
        data = ActionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reply = services.perform_action(session, user=signed_in_user(request), action=data.validated_data)
        body = {"ok": reply.ok, "action": data.validated_data["kind"], **reply.result}
        if not reply.ok:
            body["error"] = reply.error
            code = str(reply.error.get("code", ""))
            status_code = {"url_refused": 400, "never_allowed": 409, "rate_limited": 429}.get(code, 502)
            return Response(body, status=status_code)
        if reply.blob:
            body["screenshot"] = base64.b64encode(reply.blob).decode()
        return Response(body)


class ScreenshotView(_AgentView):
    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY, **_ERRORS}, summary="Screenshot (PNG)")
    def get(self, request: Request, pk: int) -> HttpResponse:
        session = self.session(request, pk)
        png = services.screenshot(session, user=signed_in_user(request))
        return HttpResponse(png, content_type="image/png", headers={"Cache-Control": "no-store"})


class OutlineView(_AgentView):
    @extend_schema(
        responses={200: OutlineSerializer, **_ERRORS}, summary="The page as text, links and fields"
    )
    def get(self, request: Request, pk: int) -> Response:
        """URL, title, visible text (capped), links with index, inputs and buttons; redacted."""
        session = self.session(request, pk)
        return Response(services.page_outline(session, user=signed_in_user(request)))


class StatusView(_AgentView):
    @extend_schema(responses={200: StatusSerializer, 404: _ERRORS[404]}, summary="Browser status")
    def get(self, request: Request, pk: int) -> Response:
        session = self.session(request, pk)
        return Response(selectors.status(session))


class StopView(_AgentView):
    @extend_schema(
        request=None, responses={200: StatusSerializer, 404: _ERRORS[404]}, summary="End the session"
    )
    def post(self, request: Request, pk: int) -> Response:
        session = self.session(request, pk)
        ended = services.stop_browser_session(session, actor=signed_in_user(request))
        return Response(selectors.status(ended))
