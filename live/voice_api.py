"""``POST /api/cobrowse/sessions/<id>/transcript/``: the telephony integration's call events.

Two credentials, both required: the API token of a support-staff (integration) user, which says who
acts, and the HMAC signature of the request (``cobrowse/voice_signature.py``) under
``VOICE_WEBHOOK_SECRET``, which says the telephony system sent exactly this body just now. Thin:
check both, parse, call ``cobrowse.services.voice``. The contract is in docs/voice.md.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotFound
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from accounts import api_errors, permissions
from accounts.http import signed_in_user
from cobrowse import voice_signature
from cobrowse.assist import context as assist_context
from cobrowse.assist import dispatch as assist_dispatch
from cobrowse.assist.providers import propose
from cobrowse.models import UTTERANCE_MAX_CHARS, CoBrowseSession, Speaker
from cobrowse.services import voice

#: The most events one request may carry.
MAX_EVENTS = 100
#: How far ahead of the server's clock an event's time may be (clock skew), no more.
FUTURE_SKEW = timedelta(minutes=5)


class CallEventSerializer(serializers.Serializer):
    event = serializers.ChoiceField(choices=[voice.CALL_STARTED, voice.CALL_ENDED, voice.UTTERANCE])
    call_id = serializers.CharField(
        max_length=100, required=False, help_text="The telephony system's call id (call_started, call_ended)."
    )
    speaker = serializers.ChoiceField(choices=Speaker.choices, required=False, help_text="utterance only.")
    text = serializers.CharField(
        max_length=UTTERANCE_MAX_CHARS, required=False, help_text="utterance only: what was said."
    )
    at = serializers.DateTimeField(
        required=False, help_text="When it happened (ISO 8601). Required for an utterance; default now."
    )
    end_session = serializers.BooleanField(
        required=False,
        default=True,
        help_text="call_ended only: also end a server-side browser session linked to the call.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs["event"]
        missing = []
        if kind in (voice.CALL_STARTED, voice.CALL_ENDED) and not attrs.get("call_id"):
            missing.append("call_id")
        if kind == voice.UTTERANCE:
            missing += [name for name in ("speaker", "text", "at") if not attrs.get(name)]
        if missing:
            raise serializers.ValidationError({name: f"Required for a {kind} event." for name in missing})
        now = timezone.now()
        at = attrs.get("at") or now
        if at > now + FUTURE_SKEW:
            raise serializers.ValidationError({"at": "This time is in the future."})
        attrs["at"] = at
        return attrs


class TranscriptResultSerializer(serializers.Serializer):
    session = serializers.IntegerField()
    state = serializers.CharField(help_text="The session's state after the events.")
    active_call = serializers.BooleanField()
    utterances = serializers.IntegerField(help_text="Utterances stored by this request.")
    session_ended = serializers.BooleanField(
        help_text="The call's end ended the server-side browser session."
    )


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class SignedByIntegration(BasePermission):
    """The body carries the telephony integration's signature (401 otherwise; 403 when no secret is set)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        secrets = voice_signature.secrets_from_setting(settings.VOICE_WEBHOOK_SECRET)
        if not secrets:
            raise api_errors.Refused(
                "The voice integration is not configured on this server.",
                "voice_disabled",
                status.HTTP_403_FORBIDDEN,
            )
        try:
            voice_signature.verify(
                secrets,
                request.body,
                request.headers.get(voice_signature.TIMESTAMP_HEADER),
                request.headers.get(voice_signature.SIGNATURE_HEADER),
            )
        except voice_signature.SignatureRefused as refused:
            raise AuthenticationFailed(str(refused), code="signature") from None
        return True


class SupportStaff(BasePermission):
    message = "Only a support-staff or integration user may send call events."

    def has_permission(self, request: Request, view: Any) -> bool:
        return permissions.is_support_staff(request.user)


class TranscriptThrottle(SimpleRateThrottle):
    """Per user and session: one runaway integration cannot flood a session's transcript."""

    scope = "voice_transcript"

    def get_rate(self) -> str:
        return str(settings.VOICE_TRANSCRIPT_RATE)

    def get_cache_key(self, request: Request, view: Any) -> str:
        ident = f"{request.user.pk}:{view.kwargs.get('pk')}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


_EVENTS_DOC = PolymorphicProxySerializer(
    component_name="CallEvents",
    serializers=[CallEventSerializer, CallEventSerializer(many=True)],
    resource_type_field_name=None,
    many=False,
)


class TranscriptView(APIView):
    authentication_classes = [TokenAuthentication]
    parser_classes = [JSONParser]
    permission_classes = [IsAuthenticated, SignedByIntegration, SupportStaff]
    throttle_classes = [TranscriptThrottle]

    @extend_schema(
        summary="Report a phone call's events for a session",
        description=(
            "One event or a list of up to 100, applied in order, all or none: `call_started` "
            "(`call_id`), `call_ended` (`call_id`, `end_session`), `utterance` (`speaker`, `text`, "
            "`at`). Send the API token as `Authorization: Token <key>` and sign the body: "
            "`X-Tandem-Timestamp: <unix seconds>`, `X-Tandem-Signature: sha256=<hex HMAC-SHA256 of "
            '"<timestamp>." + body under VOICE_WEBHOOK_SECRET>`. Ending the call of a server-side '
            "browser session ends the session."
        ),
        request=_EVENTS_DOC,
        parameters=[
            OpenApiParameter(voice_signature.SIGNATURE_HEADER, location="header", required=True, type=str),
            OpenApiParameter(voice_signature.TIMESTAMP_HEADER, location="header", required=True, type=int),
        ],
        responses={
            200: TranscriptResultSerializer,
            400: OpenApiResponse(description="Invalid events: errors keyed by field or `events[<n>]`."),
            401: OpenApiResponse(
                ErrorSerializer, description="No token, or a missing, wrong or stale signature."
            ),
            403: OpenApiResponse(
                ErrorSerializer, description="Not a support-staff user, or voice not configured."
            ),
            404: OpenApiResponse(ErrorSerializer, description="No such session visible to the user."),
            429: OpenApiResponse(ErrorSerializer, description="Too many requests for this session."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        user = signed_in_user(request)
        session = CoBrowseSession.objects.filter(pk=pk).first()
        if session is None or not permissions.can_view_cobrowse_session(user, session):
            raise NotFound("No such co-browse session.")
        payload = request.data
        many = isinstance(payload, list)
        parsed: serializers.BaseSerializer = (
            serializers.ListSerializer(
                child=CallEventSerializer(), data=payload, allow_empty=False, max_length=MAX_EVENTS
            )
            if many
            else CallEventSerializer(data=payload)
        )
        parsed.is_valid(raise_exception=True)
        rows = parsed.validated_data if many else [parsed.validated_data]
        events = [voice.CallEvent(**row) for row in rows]
        result = voice.record_call_events(session.pk, events, actor=user)
        body = {
            "session": result.session.pk,
            "state": result.session.state,
            "active_call": result.active_call,
            "utterances": result.utterances,
            "session_ended": result.session_ended,
        }
        return Response(TranscriptResultSerializer(body).data)


class AssistResultSerializer(serializers.Serializer):
    session = serializers.IntegerField()
    active_call = serializers.BooleanField()
    speech = serializers.ListField(
        child=serializers.CharField(),
        help_text="What the voice channel may say to the customer, first first.",
    )
    proposals = serializers.ListField(
        child=serializers.DictField(), help_text="Every proposal, as the agents' console shows them."
    )


class AssistView(APIView):
    """The voice channel's side of the shared context: what the assistant proposes now."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated, SignedByIntegration, SupportStaff]
    throttle_classes = [TranscriptThrottle]

    @extend_schema(
        summary="The assistant's proposals for a session, for the voice channel",
        description=(
            "The proposals the assistant makes from the session's shared context now (the page as "
            "the agents see it, data on file, the call), with the `speech` ones — text for the voice "
            "channel to say — listed apart. Masked fields never carry a value. Authenticated like "
            "the transcript endpoint: the API token, and the signature of the empty body "
            '(`"<timestamp>."`) under VOICE_WEBHOOK_SECRET.'
        ),
        parameters=[
            OpenApiParameter(voice_signature.SIGNATURE_HEADER, location="header", required=True, type=str),
            OpenApiParameter(voice_signature.TIMESTAMP_HEADER, location="header", required=True, type=int),
        ],
        responses={
            200: AssistResultSerializer,
            401: OpenApiResponse(
                ErrorSerializer, description="No token, or a missing, wrong or stale signature."
            ),
            403: OpenApiResponse(
                ErrorSerializer, description="Not a support-staff user, or voice not configured."
            ),
            404: OpenApiResponse(ErrorSerializer, description="No such session visible to the user."),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        user = signed_in_user(request)
        session = CoBrowseSession.objects.filter(pk=pk).first()
        if session is None or not permissions.can_view_cobrowse_session(user, session):
            raise NotFound("No such co-browse session.")
        context = assist_context.session_context(session.pk)
        proposals = assist_dispatch.safe_proposals(propose(context), context)
        body = {
            "session": session.pk,
            "active_call": bool(context["user"].get("active_call")),
            "speech": [p["text"] for p in proposals if p["kind"] == "speech"],
            "proposals": proposals,
        }
        return Response(AssistResultSerializer(body).data)
