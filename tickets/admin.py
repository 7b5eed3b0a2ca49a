from django.contrib import admin

from tickets.models import Ticket, TicketComment, TicketCounter, TicketEvent


class CommentInline(admin.TabularInline):
    model = TicketComment
    extra = 0


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    """Subject, description, customer account and channel can be corrected here. The workflow fields
    change on the ticket page (``tickets.services``), which validates transitions and writes the
    ticket's history; tickets are opened there too, since their numbers come from the counter."""

    list_display = ("number", "subject", "status", "priority", "category", "assignee", "created_at")
    list_filter = ("status", "priority", "category", "channel")
    search_fields = ("subject", "number")
    raw_id_fields = ("requester", "assignee")
    readonly_fields = (
        "number",
        "requester",
        "assignee",
        "status",
        "priority",
        "category",
        "created_at",
        "updated_at",
        "first_response_at",
        "resolved_at",
        "closed_at",
        "screen_share_requested_at",
    )
    inlines = [CommentInline]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(TicketComment)
class TicketCommentAdmin(admin.ModelAdmin):
    list_display = ("ticket", "author", "is_internal", "created_at")
    list_filter = ("is_internal",)


@admin.register(TicketEvent)
class TicketEventAdmin(admin.ModelAdmin):
    """The ticket's history: read, never written or erased here."""

    list_display = ("ticket", "kind", "actor", "created_at")
    list_filter = ("kind",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.register(TicketCounter)
