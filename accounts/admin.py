from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import CustomerAccount, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "role", "agent_level", "account", "is_active")
    list_filter = ("role", "agent_level", "is_active")
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        ("Tandem", {"fields": ("role", "agent_level", "cobrowse_certified_at", "account", "phone")}),
    )


@admin.register(CustomerAccount)
class CustomerAccountAdmin(admin.ModelAdmin):
    list_display = ("name", "industry", "site_url", "recording_allowed")
    list_filter = ("industry", "recording_allowed")
    search_fields = ("name",)
