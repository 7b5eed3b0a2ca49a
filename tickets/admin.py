from django.contrib import admin

from tickets.models import Ticket, TicketComment, TicketCounter, TicketEvent


class CommentInline(admin.TabularInline):
    model = TicketComment
    extra = 0


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ("number", "subject", "status", "priority", "category", "assignee", "created_at")
    list_filter = ("status", "priority", "category", "channel")
    search_fields = ("subject", "number")
    raw_id_fields = ("requester", "assignee")
    inlines = [CommentInline]


@admin.register(TicketComment)
class TicketCommentAdmin(admin.ModelAdmin):
    list_display = ("ticket", "author", "is_internal", "created_at")
    list_filter = ("is_internal",)


@admin.register(TicketEvent)
class TicketEventAdmin(admin.ModelAdmin):
    list_display = ("ticket", "kind", "actor", "created_at")
    list_filter = ("kind",)

    def has_change_permission(self, request, obj=None):
        return False


admin.site.register(TicketCounter)
