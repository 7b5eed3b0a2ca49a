"""Recordings REST API for support staff: list and detail, highlights, access history, deletion.

The decrypted events are served by the replay page's endpoint (``/manager/recordings/<id>/events/``),
which streams and audits them; downloading them as a file (``?download=1``) is a manager's action.
The API serves no decrypted content. Unknown or forbidden recordings are 404.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import permissions
from accounts.http import signed_in_user
from audit.models import AuditEvent
from recordings import selectors, services
from recordings.models import Highlight, Recording


class IsSupportStaff(BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return permissions.is_support_staff(request.user)


class RecordingSerializer(serializers.ModelSerializer):
    ticket = serializers.CharField(source="session.ticket.reference", read_only=True)
    agent = serializers.CharField(source="session.agent.display_name", read_only=True)
    mode = serializers.CharField(source="session.mode", read_only=True)
    end_reason = serializers.CharField(source="session.end_reason", read_only=True)
    deleted = serializers.BooleanField(source="is_deleted", read_only=True)
    replay_url = serializers.SerializerMethodField()

    class Meta:
        model = Recording
        fields = [
            "id",
            "session",
            "ticket",
            "agent",
            "kind",
            "mode",
            "end_reason",
            "started_at",
            "ended_at",
            "complete",
            "duration_ms",
            "event_count",
            "chunk_count",
            "bytes_stored",
            "key_id",
            "retention_until",
            "deleted",
            "deleted_at",
            "deletion_reason",
            "replay_url",
        ]
        read_only_fields = fields

    def get_replay_url(self, obj: Recording) -> str:
        return f"/manager/recordings/{obj.pk}/"


class HighlightSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.display_name", read_only=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=40), required=False, max_length=10)

    class Meta:
        model = Highlight
        fields = ["id", "recording", "start_ms", "end_ms", "title", "tags", "created_by", "created_at"]
        read_only_fields = ["id", "recording", "created_by", "created_at"]


class AccessSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["created_at", "actor_label", "action", "details"]


class _Base(APIView):
    authentication_classes = [SessionAuthentication, TokenAuthentication]
    permission_classes = [IsAuthenticated, IsSupportStaff]

    def recording(self, request: Request, pk: int) -> Recording:
        try:
            return selectors.get_visible_recording(signed_in_user(request), pk)
        except Recording.DoesNotExist:
            raise NotFound("No such recording.") from None


class RecordingPageSerializer(serializers.Serializer):
    """One page of the list (``PageNumberPagination``): the schema says so, not a bare array."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = RecordingSerializer(many=True)


class RecordingListView(_Base):
    @extend_schema(responses=RecordingPageSerializer)
    def get(self, request: Request) -> Response:
        qs = selectors.filter_recordings(
            selectors.visible_recordings(signed_in_user(request)), request.query_params
        )
        paginator = PageNumberPagination()
        paginator.page_size = 50
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(RecordingSerializer(page, many=True).data)


class RecordingDetailView(_Base):
    @extend_schema(responses=RecordingSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(RecordingSerializer(self.recording(request, pk)).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        recording = self.recording(request, pk)
        services.delete_by_manager(
            recording, manager=signed_in_user(request), erasure=request.query_params.get("erasure") == "1"
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class HighlightListView(_Base):
    @extend_schema(responses=HighlightSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        recording = self.recording(request, pk)
        return Response(
            HighlightSerializer(recording.highlights.select_related("created_by"), many=True).data
        )

    @extend_schema(request=HighlightSerializer, responses={201: HighlightSerializer})
    def post(self, request: Request, pk: int) -> Response:
        recording = self.recording(request, pk)
        serializer = HighlightSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        highlight = services.create_highlight(
            recording, actor=signed_in_user(request), **serializer.validated_data
        )
        return Response(HighlightSerializer(highlight).data, status=status.HTTP_201_CREATED)


class AccessHistoryView(_Base):
    @extend_schema(responses=AccessSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        recording = self.recording(request, pk)
        return Response(AccessSerializer(selectors.recording_accesses(recording)[:200], many=True).data)
