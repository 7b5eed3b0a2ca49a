"""What the manager pages aggregate that no other table holds: friction signals and disconnects."""

from __future__ import annotations

from django.db import models

from cobrowse.models import CoBrowseSession


class PageSignal(models.Model):
    """A friction signal the customer's page sent during a session (stall, validation error, rage
    click, exit intent, idle, scroll thrash), by page and field."""

    session = models.ForeignKey(CoBrowseSession, on_delete=models.CASCADE, related_name="page_signals")
    kind = models.CharField(max_length=20)
    page_url = models.CharField(max_length=500, blank=True, help_text="Scheme, host and path.")
    field = models.CharField(max_length=256, blank=True, help_text="The field's id or name.")
    detail = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["created_at", "kind"]),
            models.Index(fields=["page_url", "field"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on {self.field or 'the page'} (session {self.session_id})"


class Disconnect(models.Model):
    """The customer's page lost its socket: when, and what the close code says about why."""

    session = models.ForeignKey(CoBrowseSession, on_delete=models.CASCADE, related_name="disconnects")
    code = models.PositiveIntegerField(null=True, blank=True)
    cause = models.CharField(max_length=20)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["created_at", "cause"])]

    def __str__(self) -> str:
        return f"{self.cause} (session {self.session_id})"


class SessionQuality(models.Model):
    """A session's connection quality, added up from each customer socket as it closes.

    Final when the session ends (its last socket closes then). Round trips are kept as a histogram
    over ``cobrowse.page_signals.RTT_BOUNDS_MS`` so percentiles of a session or a period come from
    the sums: ``rtt_le_25`` counts round trips of at most 25 ms, ``rtt_over_1600`` the rest.
    """

    session = models.OneToOneField(
        CoBrowseSession, on_delete=models.CASCADE, primary_key=True, related_name="quality"
    )
    connections = models.PositiveIntegerField(default=0)
    connected_seconds = models.FloatField(default=0)
    rtt_le_25 = models.PositiveIntegerField(default=0)
    rtt_le_50 = models.PositiveIntegerField(default=0)
    rtt_le_100 = models.PositiveIntegerField(default=0)
    rtt_le_200 = models.PositiveIntegerField(default=0)
    rtt_le_400 = models.PositiveIntegerField(default=0)
    rtt_le_800 = models.PositiveIntegerField(default=0)
    rtt_le_1600 = models.PositiveIntegerField(default=0)
    rtt_over_1600 = models.PositiveIntegerField(default=0)
    rtt_max_ms = models.PositiveIntegerField(default=0)
    good = models.PositiveIntegerField(default=0, help_text="Heartbeats measured good.")
    fair = models.PositiveIntegerField(default=0)
    poor = models.PositiveIntegerField(default=0)
    gaps = models.PositiveIntegerField(default=0, help_text="Sequence ranges lost.")
    lost_events = models.PositiveIntegerField(default=0)
    resyncs = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    RTT_FIELDS = (
        "rtt_le_25",
        "rtt_le_50",
        "rtt_le_100",
        "rtt_le_200",
        "rtt_le_400",
        "rtt_le_800",
        "rtt_le_1600",
        "rtt_over_1600",
    )

    def __str__(self) -> str:
        return f"quality of session {self.session_id}"
