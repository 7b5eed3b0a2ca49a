from django.contrib import admin

from tickets.models import Team, Ticket, TicketComment, TicketCounter, TicketEvent


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    """The teams tickets are escalated to; managers add and rename them."""

    list_display = ("name", "created_at")
    search_fields = ("name",)


class CommentInline(admin.TabularInline):
    model = TicketComment
    extra = 0


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    """Subject, description, customer account and channel can be corrected here. The workflow fields
    change on the ticket page (``tickets.services``), which validates transitions and writes the
    ticket's history; tickets are opened there too, since their numbers come from the counter."""

    list_display = (
        "number", "subject", "status", "priority", "category", "escalation_level", "team", "assignee",
        "created_at",
    )  # fmt: skip
    list_filter = ("status", "priority", "category", "channel", "escalation_level", "team")
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
        "escalation_level",
        "team",
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
