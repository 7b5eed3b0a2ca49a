"""The widget's help calls under ``/api/widget/help/`` (docs/widget-sdk.md, "The help flow").

Cross-origin from the customer's page, with no cookie and no token: the site's signature of its
user's id (create) and the request's own unguessable token (status, cancel) are the credentials.
Thin: rate-limit, parse, call ``consent.help_requests``, shape the answer.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import api_schema
from consent import help_requests, ratelimit
from consent.records import ClientInfo
from consent.views import client_info

DEFAULT_RATE = "60/m"


def _error(message: str, code: str, status: int) -> Response:
    return Response({"detail": message, "code": code}, status=status)


def _refused(exc: help_requests.HelpError) -> Response:
    return _error(str(exc), exc.code, exc.status)


def _limited(request: Request) -> Response | None:
    if ratelimit.hit(
        request._request, "widget-help", getattr(settings, "HELP_REQUEST_RATE_LIMIT", DEFAULT_RATE)
    ):
        return None
    response = _error("Too many help calls: try again in a minute.", "rate_limited", 429)
    response["Retry-After"] = "60"
    return response


class _WidgetView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]


class HelpWordsView(_WidgetView):
    @extend_schema(
        auth=[],
        parameters=[OpenApiParameter("site", str, required=True, description="The site id")],
        responses={
            200: OpenApiResponse(description="The help card's words"),
            400: api_schema.error("No site id, or one too long"),
            403: api_schema.error("A site that is not active"),
            404: api_schema.error("Unknown site"),
            429: api_schema.error("Too many calls from this address"),
        },
    )
    def get(self, request: Request) -> Response:
        """The help card's words for a site: the consent screen's choices, prompt and reminder."""
        if limited := _limited(request):
            return limited
        site = request.query_params.get("site", "")
        if not site or len(site) > 64:
            return _error("site: a site id is required.", "malformed", 400)
        try:
            key = help_requests.site_key(site.lower())
        except help_requests.HelpError as exc:
            return _refused(exc)
        return Response(help_requests.card_words(key.account))


class HelpRequestsView(_WidgetView):
    @extend_schema(
        auth=[],
        responses={
            201: OpenApiResponse(description="{id, status_url, poll_ms, expires_at}"),
            400: OpenApiResponse(description="Malformed request"),
            403: OpenApiResponse(description="Bad signature, or a page origin the site does not list"),
            404: OpenApiResponse(description="Unknown site or user"),
            429: OpenApiResponse(description="Too many calls from this address"),
        },
    )
    def post(self, request: Request) -> Response:
        """Ask for help from the page, with the consent the customer gave on its card."""
        if limited := _limited(request):
            return limited
        try:
            data = json.loads(request._request.body or b"null")
        except (ValueError, UnicodeDecodeError):
            return _error("The body is not valid JSON.", "malformed", 400)
        try:
            ask = help_requests.parse_ask(data)
            client: ClientInfo = client_info(request._request)
            created = help_requests.create(ask, origin=request.headers.get("Origin", ""), client=client)
        except help_requests.HelpError as exc:
            return _refused(exc)
        path = reverse("consent:api-widget-help-request", args=[created.token])
        return Response(
            {
                "id": created.token,
                "status_url": request.build_absolute_uri(path),
                "poll_ms": help_requests.POLL_MS,
                "expires_at": created.help_request.expires_at.isoformat(),
            },
            status=201,
        )


#: How a help request's own calls (status, cancel) are refused.
REQUEST_REFUSALS = {
    403: api_schema.error("A page origin the site does not list"),
    404: api_schema.error("Unknown help request"),
    409: api_schema.error("Already taken"),
    410: api_schema.error("Expired or cancelled"),
    429: api_schema.error("Too many calls from this address"),
}


class HelpRequestView(_WidgetView):
    @extend_schema(auth=[], responses={200: OpenApiResponse(description="{state, ...}"), **REQUEST_REFUSALS})
    def get(self, request: Request, token: str) -> Response:
        """Where the request stands: waiting, taken (with a tab grant), expired or cancelled."""
        if limited := _limited(request):
            return limited
        try:
            answer = help_requests.status(token, origin=request.headers.get("Origin", ""))
        except help_requests.HelpError as exc:
            return _refused(exc)
        response = Response(answer)
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(auth=[], responses={200: OpenApiResponse(description="{state}"), **REQUEST_REFUSALS})
    def delete(self, request: Request, token: str) -> Response:
        """The customer cancels while waiting."""
        if limited := _limited(request):
            return limited
        try:
            help_request = help_requests.cancel(token)
        except help_requests.HelpError as exc:
            return _refused(exc)
        return Response({"state": help_request.state})
