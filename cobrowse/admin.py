from django.contrib import admin

from cobrowse.models import ActionRequest, CoBrowseSession, ExtensionRequest, ModeRequest, Participant


class ParticipantInline(admin.TabularInline):
    model = Participant
    extra = 0
    can_delete = False
    readonly_fields = ("user", "role", "joined_at", "left_at", "holds_control")


@admin.register(CoBrowseSession)
class CoBrowseSessionAdmin(admin.ModelAdmin):
    """Read-only: state changes go through the services (and so the audit trail)."""

    list_display = ("id", "ticket", "agent", "kind", "state", "mode", "end_reason", "created_at")
    list_filter = ("state", "mode", "kind")
    inlines = [ParticipantInline]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


for model in (ModeRequest, ExtensionRequest, ActionRequest):
    admin.site.register(
        model,
        type(
            f"{model.__name__}Admin",
            (admin.ModelAdmin,),
            {
                "list_display": ("id", "session", "state", "created_at"),
                "has_change_permission": lambda self, request, obj=None: False,
                "has_delete_permission": lambda self, request, obj=None: False,
            },
        ),
    )
