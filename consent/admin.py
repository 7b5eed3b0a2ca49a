from django.contrib import admin

from consent.models import ConsentRecord, SessionInvite


@admin.register(ConsentRecord)
class ConsentRecordAdmin(admin.ModelAdmin):
    """Append-only: visible, never editable."""

    list_display = ("id", "session", "kind", "decision", "mode", "recording", "decided_at")
    list_filter = ("kind", "decision")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SessionInvite)
class SessionInviteAdmin(admin.ModelAdmin):
    """Which link went out when and what became of it: evidence of the consent flow, read only."""

    list_display = ("id", "session", "channel", "created_at", "expires_at", "used_at", "invalidated_at")
    exclude = ("token_hash",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
