"""``POST /api/widget/identify/``: the widget checks a page's user signature before offering help.

Called cross-origin from the customer's page (``cobrowse.cors`` answers for ``/api/widget/``), with
no cookie and no token: the signature is the only credential. Thin: parse, rate-limit, look the site
up, verify (``accounts.site_keys``).
"""

from __future__ import annotations

import json

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import site_keys
from accounts.models import SiteKey


def _error(message: str, code: str, status_code: int) -> Response:
    return Response({"detail": message, "code": code}, status=status_code)


class IdentifyView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=inline_serializer(
            "WidgetIdentify",
            {
                "site": serializers.CharField(),
                "user_id": serializers.CharField(),
                "signature": serializers.CharField(),
            },
        ),
        responses={
            200: inline_serializer("WidgetIdentified", {"ok": serializers.BooleanField()}),
            400: OpenApiResponse(description="Malformed request"),
            403: OpenApiResponse(description="The signature does not match"),
            404: OpenApiResponse(description="Unknown site"),
            429: OpenApiResponse(description="Too many identify calls from this address"),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        """Is ``signature`` the HMAC-SHA256 of ``user_id`` under the site's current or previous secret?"""
        if not site_keys.allow_identify(request._request):
            response = _error("Too many identify calls: try again in a minute.", "rate_limited", 429)
            response["Retry-After"] = str(site_keys.retry_after_seconds())
            return response
        try:
            # The body is read as JSON whatever its declared type, so any bad body is one clear 400.
            data = json.loads(request._request.body or b"null")
            site, user_id, signature = site_keys.parse_identify(data)
        except (ValueError, UnicodeDecodeError) as exc:
            message = str(exc) if isinstance(exc, site_keys.Malformed) else "The body is not valid JSON."
            return _error(message, "malformed", status.HTTP_400_BAD_REQUEST)
        key = SiteKey.objects.filter(site=site).first()
        if key is None:
            return _error("No such site.", "unknown_site", status.HTTP_404_NOT_FOUND)
        if not site_keys.verify(key, user_id, signature):
            return _error(
                "The signature does not match this user id.", "bad_signature", status.HTTP_403_FORBIDDEN
            )
        return Response({"ok": True})
