"""One-time links, what exactly a customer agreed to, and the short-lived session grants.

Tokens are never stored: only their sha256 digests. Consent records are append-only.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class DeliveryChannel(models.TextChoices):
    EMAIL = "email", "Email"
    COPY = "copy", "Copy link"
    SMS = "sms", "SMS"
    CHAT = "chat", "Chat"
    IN_APP = "in_app", "In-app notice"


class SessionInvite(models.Model):
    """A one-time join link (``/j/<token>/``) for one session, sent over one channel."""

    session = models.ForeignKey("cobrowse.CoBrowseSession", on_delete=models.CASCADE, related_name="invites")
    token_hash = models.CharField(max_length=64, unique=True)
    channel = models.CharField(max_length=10, choices=DeliveryChannel.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    invalidated_at = models.DateTimeField(null=True, blank=True, help_text="Replaced by a re-send.")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"invite #{self.pk} for session #{self.session_id}"


class ConsentKind(models.TextChoices):
    INITIAL = "initial", "Initial consent"
    ESCALATION = "escalation", "Mode escalation"
    LOWERING = "lowering", "Mode lowered by the customer"
    EXTENSION = "extension", "Extension"
    REVOCATION = "revocation", "Revocation"
    TEAM_VIEWER = "team_viewer", "A member of the customer's team may watch"
    VIEWER_JOIN = "viewer_join", "The team member's own decision to watch"
    DEVICE_CONFIRMATION = "device_confirmation", "Confirmed on the page that will be shared"
    RESUME = "resume", "Continued sharing after the page lost its connection"


class Decision(models.TextChoices):
    GRANTED = "granted", "Granted"
    DENIED = "denied", "Denied"
    REVOKED = "revoked", "Revoked"


class ConsentRecord(models.Model):
    """What the customer agreed to (or refused), exactly as it was put to them. Never updated."""

    session = models.ForeignKey(
        "cobrowse.CoBrowseSession", on_delete=models.PROTECT, related_name="consent_records"
    )
    invite = models.ForeignKey(
        SessionInvite, null=True, blank=True, on_delete=models.SET_NULL, related_name="consent_records"
    )
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team_viewer = models.ForeignKey(
        "cobrowse.TeamViewer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="consent_records",
        help_text="Whom a team_viewer or viewer_join record is about.",
    )
    kind = models.CharField(max_length=24, choices=ConsentKind.choices)
    decision = models.CharField(max_length=10, choices=Decision.choices)
    mode = models.CharField(max_length=12, blank=True, help_text="The mode granted (empty when refused).")
    view = models.BooleanField(default=False)
    guidance = models.BooleanField(default=False)
    control = models.BooleanField(default=False)
    full_control = models.BooleanField(default=False)
    recording = models.BooleanField(default=False)
    third_party_site = models.BooleanField(default=False)
    third_party_origin = models.CharField(max_length=300, blank=True)
    extension_seconds = models.PositiveIntegerField(default=0)
    origin = models.CharField(
        max_length=300, blank=True, help_text="The page's origin a device confirmation was made on."
    )
    prompt_text = models.TextField()
    prompt_version = models.CharField(max_length=20)
    decided_at = models.DateTimeField()
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["decided_at", "id"]

    def __str__(self) -> str:
        return f"consent #{self.pk} {self.kind} {self.decision} (session #{self.session_id})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Consent records are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Consent records are append-only.")


class SessionGrant(models.Model):
    """A short-lived bearer credential for the customer's page in a consented session.

    A *link grant* (``confirmed_at`` empty) is what the consent screen hands to the browser that
    decided there: whoever that was, it only lets the page that will be shared describe the request
    and ask its owner (allow or deny). Allow on that page issues a *tab grant* (``confirmed_at``
    set), the only kind that opens the customer's socket or calls the customer's API.
    """

    session = models.ForeignKey("cobrowse.CoBrowseSession", on_delete=models.CASCADE, related_name="grants")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(
        null=True, blank=True, help_text="Set on tab grants: the page's owner allowed sharing on it."
    )
    origin = models.CharField(max_length=300, blank=True, help_text="The page a tab grant was confirmed on.")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"grant #{self.pk} for session #{self.session_id}"


class TeamViewerInvite(models.Model):
    """A one-time link (``/w/<token>/``) for one member of the customer's team."""

    team_viewer = models.ForeignKey("cobrowse.TeamViewer", on_delete=models.CASCADE, related_name="invites")
    token_hash = models.CharField(max_length=64, unique=True)
    channel = models.CharField(max_length=10, choices=DeliveryChannel.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    invalidated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"watch link #{self.pk} for team viewer #{self.team_viewer_id}"


class ViewerGrant(models.Model):
    """A short-lived bearer credential for a team member's watch page and socket (never the customer's)."""

    team_viewer = models.ForeignKey("cobrowse.TeamViewer", on_delete=models.CASCADE, related_name="grants")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"viewer grant #{self.pk} for team viewer #{self.team_viewer_id}"


class HelpRequestState(models.TextChoices):
    WAITING = "waiting", "Waiting for an agent"
    TAKEN = "taken", "Taken by an agent"
    EXPIRED = "expired", "Nobody took it in time"
    CANCELLED = "cancelled", "Cancelled by the customer"


class HelpRequest(models.Model):
    """A customer's own "Get help" from a page with the widget, with the consent they gave there.

    The customer allowed sharing on the page before any agent was known, so the decision (mode,
    recording, the words shown) is kept here and written as the session's ``ConsentRecord`` when an
    agent takes the request. The status token is stored as its sha256 digest, like every token.
    """

    token_hash = models.CharField(max_length=64, unique=True)
    account = models.ForeignKey("accounts.CustomerAccount", on_delete=models.PROTECT, related_name="+")
    site_user_id = models.CharField(max_length=256, help_text="The id the site signed (Tandem.init user.id).")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.PROTECT, related_name="help_requests")
    page_url = models.URLField(max_length=500, help_text="Without query string or fragment.")
    page_title = models.CharField(max_length=200, blank=True)
    trigger = models.CharField(max_length=20, blank=True, help_text="The prompt's trigger, if one led here.")
    stall_field = models.CharField(max_length=200, blank=True, help_text="The field's id, never its value.")
    completion = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Form completion, %.")
    origin = models.CharField(max_length=300, help_text="The page's origin the customer allowed sharing on.")
    mode = models.CharField(max_length=12)
    recording = models.BooleanField(default=False)
    prompt_text = models.TextField(help_text="Everything the card showed, as stored on the consent record.")
    prompt_version = models.CharField(max_length=20)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    state = models.CharField(
        max_length=10, choices=HelpRequestState.choices, default=HelpRequestState.WAITING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    taken_at = models.DateTimeField(null=True, blank=True)
    session = models.ForeignKey(
        "cobrowse.CoBrowseSession", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True, help_text="Expired or cancelled.")
    callback_requested = models.BooleanField(default=False)

    class Meta:
        ordering = ["created_at", "id"]
        # The queue's panel lists the waiting requests, oldest first; the sweep finds overdue ones.
        indexes = [
            models.Index(
                fields=["expires_at", "created_at"],
                condition=models.Q(state="waiting"),
                name="consent_help_waiting_idx",
            )
        ]

    def __str__(self) -> str:
        return f"help request #{self.pk} ({self.state}) on ticket #{self.ticket_id}"
