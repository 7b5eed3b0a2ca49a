"""Read-only admin views: recordings are changed only through recordings.services (audited)."""

from django.contrib import admin

from recordings.models import Highlight, Recording, RecordingAccessRequest


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Recording)
class RecordingAdmin(_ReadOnly):
    list_display = [
        "id",
        "session",
        "started_at",
        "duration_ms",
        "complete",
        "key_id",
        "retention_until",
        "deleted_at",
    ]
    list_filter = ["complete", "kind", "deletion_reason"]
    exclude = ["wrapped_key"]


@admin.register(Highlight)
class HighlightAdmin(_ReadOnly):
    list_display = ["title", "recording", "start_ms", "end_ms", "created_by", "created_at"]


@admin.register(RecordingAccessRequest)
class RecordingAccessRequestAdmin(_ReadOnly):
    list_display = ["id", "recording", "customer", "state", "decided_by", "expires_at"]
    exclude = ["token_hash"]
