from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers

from accounts import services, site_keys
from accounts.forms import CustomerProfileForm
from accounts.models import Certification, CustomerAccount, CustomerProfile, Role, SiteKey, User

#: Fields only a superuser edits: whoever edits them decides who administers Tandem.
SUPERUSER_ONLY_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Managers edit users (role, level, certification, account, details) but never admin rights:
    ``is_staff`` and the managers' group follow the role (``accounts.services``), and a superuser's
    account, password included, is a superuser's to change."""

    list_display = ("username", "email", "role", "agent_level", "account", "is_active")
    list_filter = ("role", "agent_level", "is_active")
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("Tandem", {"fields": ("role", "agent_level", "cobrowse_certified_at", "account", "phone")}),
    )

    def get_readonly_fields(self, request, obj=None):
        # Certification is recorded on the manager's agent page (accounts.services.certify), which
        # keeps the record and this field in step.
        readonly = (*super().get_readonly_fields(request, obj), "cobrowse_certified_at")
        if request.user.is_superuser:
            return readonly
        return (*readonly, *SUPERUSER_ONLY_FIELDS, "last_login", "date_joined")

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def save_related(self, request, form, formsets, change) -> None:
        # After the form's groups are saved, so the role's group is not overwritten by them.
        super().save_related(request, form, formsets, change)
        previous_role = form.initial.get("role") if change else None
        services.role_saved(form.instance, previous_role=previous_role, actor=request.user)


@admin.register(CustomerAccount)
class CustomerAccountAdmin(admin.ModelAdmin):
    list_display = ("name", "industry", "site_url", "recording_allowed")
    list_filter = ("industry", "recording_allowed")
    search_fields = ("name",)


@admin.register(Certification)
class CertificationAdmin(admin.ModelAdmin):
    """Read-only history: certifications are recorded and revoked on the manager's agent page."""

    list_display = ("agent", "certified_on", "certified_by", "revoked_at", "revoked_by")
    list_filter = ("revoked_at",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class CustomerProfileAdminForm(CustomerProfileForm):
    """The portal's form plus the customer it belongs to (customers only)."""

    class Meta(CustomerProfileForm.Meta):
        fields = ["user", *CustomerProfileForm.Meta.fields]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "user" in self.fields:
            self.fields["user"].queryset = User.objects.filter(role=Role.CUSTOMER)  # type: ignore[attr-defined]


@admin.register(CustomerProfile)
class CustomerProfileAdmin(admin.ModelAdmin):
    """Staff correct a customer's data on file. Saved through ``accounts.services`` (validated like the
    portal, audited by field name). Nothing personal in the list: the customer and the date only."""

    form = CustomerProfileAdminForm
    list_display = ("user", "updated_at")
    search_fields = ("user__username", "user__email")
    raw_id_fields = ("user",)

    def get_readonly_fields(self, request, obj=None):
        return ("user",) if obj is not None else ()

    def save_model(self, request, obj, form, change) -> None:
        customer = obj.user if obj.user_id else form.cleaned_data["user"]
        profile, _created, _changed = services.save_customer_profile(
            customer, form.profile_values(), actor=request.user, source="admin"
        )
        obj.pk = profile.pk


# --- site keys: made and rotated here, each new secret shown once (accounts/site_keys.py) --------


class SiteKeyForm(forms.ModelForm):
    class Meta:
        model = SiteKey
        fields = ("account", "site")

    def clean_site(self) -> str:
        return site_keys.validate_site(self.cleaned_data.get("site", ""))


@admin.register(SiteKey)
class SiteKeyAdmin(admin.ModelAdmin):
    """The secret is shown once, on the page that answers its creation or rotation (never stored in
    clear, never in a message cookie); afterwards only the master key it is sealed under shows."""

    form = SiteKeyForm
    list_display = ("site", "account", "created_at", "rotated_at")
    search_fields = ("site", "account__name")
    readonly_fields = ("created_at", "rotated_at", "sealed_under")
    actions = ["rotate_secret"]

    def get_readonly_fields(self, request, obj=None):
        # A site id in use is in the customer's pages: changing it would break them all.
        return (*self.readonly_fields, "account", "site") if obj is not None else self.readonly_fields

    @admin.display(description="sealed under master key")
    def sealed_under(self, obj: SiteKey) -> str:
        return site_keys.sealed_key_id(obj.current_secret) if obj.pk else ""

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def save_model(self, request, obj, form, change) -> None:
        if change:
            return  # nothing of a saved key is editable here
        issued = site_keys.create_site_key(obj.account, obj.site, actor=request.user)
        for field in SiteKey._meta.concrete_fields:
            setattr(obj, field.attname, getattr(issued.site_key, field.attname))
        obj._state = issued.site_key._state
        request._issued_site_secrets = [issued]

    def response_add(self, request, obj, post_url_continue=None):
        return self._show_secrets(request, getattr(request, "_issued_site_secrets", []), "Site key created")

    @admin.action(description="Rotate the secret (the previous one keeps working until the next rotation)")
    def rotate_secret(self, request, queryset):
        if not self.has_change_permission(request):
            return None
        issued = [site_keys.rotate_site_key(key, actor=request.user) for key in queryset]
        return self._show_secrets(request, issued, "Site secret rotated")

    def _show_secrets(self, request, issued, title: str) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "issued": issued,
            "opts": self.model._meta,
        }
        response = TemplateResponse(request, "admin/accounts/sitekey/secret.html", context)
        add_never_cache_headers(response)
        return response
