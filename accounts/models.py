"""Users and the customer companies they belong to."""

from __future__ import annotations

import re
from datetime import date

from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models

from masking.presets import PRESETS, preset_selectors
from masking.selector import parse_selectors


class Industry(models.TextChoices):
    GENERAL = "general", "General"
    HEALTHCARE = "healthcare", "Healthcare"
    FINANCE = "finance", "Finance"
    LEGAL = "legal", "Legal"
    EDUCATION = "education", "Education"
    INSURANCE = "insurance", "Insurance"
    GOVERNMENT = "government", "Government"


#: Industries whose accounts have recording off by default and shorter retention.
REGULATED_INDUSTRIES = frozenset({Industry.HEALTHCARE, Industry.FINANCE, Industry.LEGAL})


class CustomerAccount(models.Model):
    """A customer's company: where its people use the product and what must stay private."""

    name = models.CharField(max_length=200, unique=True)
    industry = models.CharField(max_length=20, choices=Industry.choices, default=Industry.GENERAL)
    site_url = models.URLField(
        blank=True, help_text="Default co-browse target page, on one of the allowed origins."
    )
    allowed_origins = models.JSONField(
        default=list,
        blank=True,
        help_text='Origins where the widget may run, e.g. ["https://app.example.com"].',
    )
    redaction_selectors = models.JSONField(
        default=list, blank=True, help_text="Extra CSS selectors the widget must mask."
    )
    masking_presets = models.JSONField(
        default=list,
        blank=True,
        help_text='Industry masking presets whose selectors extend the account\'s own, e.g. ["healthcare"].',
    )
    recording_allowed = models.BooleanField(
        default=True, help_text="Whether customers are offered session recording."
    )
    recording_retention_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Overrides the deployment's retention period."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if not isinstance(self.redaction_selectors, list):
            raise ValidationError({"redaction_selectors": "A list of CSS selectors."})
        try:
            parse_selectors(self.redaction_selectors)
        except ValueError as exc:
            raise ValidationError({"redaction_selectors": str(exc)}) from None
        presets = self.masking_presets
        if not isinstance(presets, list) or not all(isinstance(p, str) for p in presets):
            raise ValidationError({"masking_presets": 'A list of preset names, e.g. ["healthcare"].'})
        try:
            preset_selectors(presets)
        except ValueError as exc:
            raise ValidationError({"masking_presets": str(exc)}) from None
        if not isinstance(self.allowed_origins, list) or not all(
            isinstance(o, str) and o.startswith(("http://", "https://")) for o in self.allowed_origins
        ):
            raise ValidationError({"allowed_origins": 'A list of origins like "https://app.example.com".'})

    @property
    def masking_selectors(self) -> list[str]:
        """The account's own selectors and those of its presets: what the widget and the server mask.

        A preset name no longer known is skipped rather than failing a session (rows are validated
        when saved through :meth:`clean`).
        """
        presets = self.masking_presets if isinstance(self.masking_presets, list) else []
        extra = [sel for name in presets if isinstance(name, str) for sel in PRESETS.get(name, ())]
        own = self.redaction_selectors if isinstance(self.redaction_selectors, list) else []
        return [*own, *extra]

    @property
    def is_regulated(self) -> bool:
        return self.industry in REGULATED_INDUSTRIES


class Role(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    AGENT = "agent", "Agent"
    MANAGER = "manager", "Manager"


class AgentLevel(models.TextChoices):
    L1 = "L1", "Level 1"
    L2 = "L2", "Level 2"
    L3 = "L3", "Level 3"


class User(AbstractUser):
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.CUSTOMER)
    agent_level = models.CharField(max_length=2, choices=AgentLevel.choices, blank=True)
    cobrowse_certified_at = models.DateTimeField(
        null=True, blank=True, help_text="When an L1 agent passed co-browse certification."
    )
    account = models.ForeignKey(
        CustomerAccount,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
        help_text="The company a customer belongs to.",
    )
    phone = models.CharField(
        max_length=32,
        blank=True,
        validators=[
            RegexValidator(
                r"^\+[1-9]\d{6,14}$",
                "Enter the number in international format: + and country code, digits only "
                "(e.g. +447700900123).",
            )
        ],
        help_text="International (E.164) format; SMS invitations go here.",
    )

    @property
    def is_customer(self) -> bool:
        return self.role == Role.CUSTOMER

    @property
    def is_agent(self) -> bool:
        return self.role == Role.AGENT

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER

    @property
    def is_staff_member(self) -> bool:
        """Agents and managers: the support team (not Django's ``is_staff`` admin flag)."""
        return self.role in (Role.AGENT, Role.MANAGER)

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    @property
    def public_name(self) -> str:
        """How this person appears to customers and their team: never a login name (accounts/names.py)."""
        from accounts.names import public_name

        return public_name(self)


class Certification(models.Model):
    """One co-browse certification of an agent, and its revocation: the record behind
    ``User.cobrowse_certified_at``, which ``accounts.services`` keeps in step with the active one."""

    agent = models.ForeignKey(User, on_delete=models.CASCADE, related_name="certifications")
    certified_on = models.DateField()
    # Empty only on records carried over from before certifications were recorded.
    certified_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    notes = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    revoke_reason = models.TextField(blank=True, max_length=2000)

    class Meta:
        ordering = ["-certified_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent"], condition=models.Q(revoked_at__isnull=True), name="one_active_certification"
            )
        ]

    def __str__(self) -> str:
        return f"{self.agent} certified {self.certified_on}"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


#: Keys of a profile's extra items: short machine names, so they read as field hints (``known_pin``).
PROFILE_EXTRA_KEY = re.compile(r"^[a-z0-9_]{1,40}$")
PROFILE_EXTRA_MAX_ITEMS = 30
PROFILE_EXTRA_MAX_VALUE = 200
#: The named fields' keys in ``accounts.profile.crm_data``: an extra item may not shadow one.
PROFILE_KEYS = ("address", "city", "postal_code", "phone", "date_of_birth")


def validate_profile_extra(value: object) -> None:
    """A flat object of at most 30 string items, keys ``[a-z0-9_]{1,40}``, values up to 200 characters.

    Kept flat and small on purpose: the items are offered to the assistant as data on file, one field
    each, and anything nested or long would not fit a form field anyway.
    """
    from django.core.exceptions import ValidationError

    if not isinstance(value, dict):
        raise ValidationError("Other details must be a set of name: value items.", code="invalid")
    if len(value) > PROFILE_EXTRA_MAX_ITEMS:
        raise ValidationError(f"At most {PROFILE_EXTRA_MAX_ITEMS} other details.", code="too_many")
    for key, item in value.items():
        if not isinstance(key, str) or not PROFILE_EXTRA_KEY.match(key):
            raise ValidationError(
                f'"{str(key)[:40]}" is not a valid name: use 1 to 40 lower-case letters, digits or _.',
                code="bad_key",
            )
        if key in PROFILE_KEYS:
            raise ValidationError(f'"{key}" has its own field; use that instead.', code="reserved_key")
        if not isinstance(item, str):
            raise ValidationError(f'The value of "{key}" must be text.', code="bad_value")
        if len(item) > PROFILE_EXTRA_MAX_VALUE:
            raise ValidationError(
                f'The value of "{key}" is longer than {PROFILE_EXTRA_MAX_VALUE} characters.', code="too_long"
            )


def validate_date_of_birth(value: date) -> None:
    from django.core.exceptions import ValidationError
    from django.utils import timezone

    if value > timezone.localdate():
        raise ValidationError("The date of birth cannot be in the future.", code="future")
    if value.year < 1900:
        raise ValidationError("Enter a date of birth after 1900.", code="too_old")


class CustomerProfile(models.Model):
    """What a customer keeps on file with support, so the assistant can offer it back.

    One per customer. Personal data: it is shown to its owner and to staff in the admin, offered to
    the assistant (``accounts.profile.crm_data``) and never written to logs or the audit trail.
    """

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="profile")
    address_line1 = models.CharField("address line 1", max_length=200, blank=True)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(
        "postal / PIN code",
        max_length=12,
        blank=True,
        validators=[
            RegexValidator(
                r"^[A-Za-z0-9][A-Za-z0-9 -]{1,10}[A-Za-z0-9]$",
                "Enter a postal or PIN code: letters, digits, spaces or hyphens (3 to 12 characters).",
            )
        ],
    )
    phone = models.CharField(
        max_length=32,
        blank=True,
        validators=[
            RegexValidator(
                r"^\+?[0-9][0-9 ()-]{4,30}$",
                "Enter a phone number: digits, spaces, hyphens or brackets, optionally starting with +.",
            )
        ],
    )
    date_of_birth = models.DateField(null=True, blank=True, validators=[validate_date_of_birth])
    extra = models.JSONField(
        "other details",
        default=dict,
        blank=True,
        validators=[validate_profile_extra],
        help_text='Other items on file, e.g. {"known_pin": "560001"}.',
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "customer profile"

    def __str__(self) -> str:
        return f"profile of user {self.user_id}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.user_id is not None and self.user.role != Role.CUSTOMER:
            raise ValidationError({"user": "Only customers have a profile on file."})


# --- site keys: the widget's Tandem.init signatures (accounts/site_keys.py) ----------------------


class SiteKey(models.Model):
    """A customer account's widget site id and its signing secrets (current and previous).

    The customer's backend signs each user id with the secret (HMAC-SHA256), so the server must be
    able to compute the same HMAC: the secrets cannot be hashed. They are stored sealed (AES-GCM
    under a key derived from the deployment's ``RECORDING_KEYS``; ``accounts.site_keys``), never in
    clear, and shown once, when made. The previous secret keeps verifying after a rotation, so pages
    deployed with the old one keep working until the next rotation.
    """

    account = models.OneToOneField(CustomerAccount, on_delete=models.CASCADE, related_name="site_key")
    site = models.SlugField(
        max_length=64, unique=True, help_text="The public site id the page passes to Tandem.init({site})."
    )
    current_secret = models.BinaryField(editable=False)
    previous_secret = models.BinaryField(editable=False, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["site"]

    def __str__(self) -> str:
        return self.site
