"""Session recordings, highlights cut from them, and customers' requests for a copy.

Recording content lives encrypted in the blob store (``recordings.capture``); a row holds only the
wrapped data key and bookkeeping. Deletion keeps the row (that it existed, when and why it was
deleted) and destroys the key and the blobs. Writes happen in ``recordings.services``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class RecordingKind(models.TextChoices):
    DOM = "dom", "Page events (rrweb)"
    BROWSER = "browser", "Server-side browser frames"


class DeletionReason(models.TextChoices):
    ERASURE = "erasure", "Erased at the customer's request"
    RETENTION = "retention", "Retention period ended"
    MANAGER = "manager", "Deleted by a manager"


class Recording(models.Model):
    """The encrypted recording of one co-browse session (at most one per session)."""

    session = models.OneToOneField(
        "cobrowse.CoBrowseSession", on_delete=models.PROTECT, related_name="session_recording"
    )
    kind = models.CharField(max_length=10, choices=RecordingKind.choices, default=RecordingKind.DOM)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    complete = models.BooleanField(default=False, help_text="The final chunk was written.")
    chunk_count = models.PositiveIntegerField(default=0)
    bytes_stored = models.PositiveBigIntegerField(default=0)
    event_count = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveBigIntegerField(default=0)
    wrapped_key = models.BinaryField(default=b"", help_text="Empty once the recording is shredded.")
    key_id = models.CharField(max_length=64, blank=True, help_text="Master key that wraps the data key.")
    retention_until = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)
    deletion_reason = models.CharField(max_length=10, choices=DeletionReason.choices, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(
                fields=["retention_until"], condition=Q(deleted_at__isnull=True), name="rec_live_ret"
            ),
            models.Index(fields=["started_at"]),
        ]

    def __str__(self) -> str:
        return f"recording #{self.pk} of session #{self.session_id}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_open(self) -> bool:
        """Still being captured (or its writer stopped without a final chunk)."""
        return self.ended_at is None and not self.is_deleted


class Highlight(models.Model):
    """A range of a recording marked for training."""

    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="highlights")
    start_ms = models.PositiveBigIntegerField()
    end_ms = models.PositiveBigIntegerField()
    title = models.CharField(max_length=200)
    tags = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(end_ms__gt=models.F("start_ms")), name="highlight_range"),
        ]

    def __str__(self) -> str:
        return self.title


class AccessRequestState(models.TextChoices):
    REQUESTED = "requested", "Waiting for a manager"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Declined"
    EXPIRED = "expired", "Expired"


class RecordingAccessRequest(models.Model):
    """A customer asks for a copy; an approval yields a link valid for a limited time."""

    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="access_requests")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(
        max_length=10, choices=AccessRequestState.choices, default=AccessRequestState.REQUESTED
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recording", "customer"],
                condition=Q(state="requested"),
                name="recording_one_open_access_request",
            ),
        ]

    def __str__(self) -> str:
        return f"access request #{self.pk} ({self.state})"
