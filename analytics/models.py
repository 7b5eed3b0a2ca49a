"""What the manager pages aggregate that no other table holds: friction signals and disconnects."""

from __future__ import annotations

from django.conf import settings
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


class SessionFact(models.Model):
    """A session as the manager pages aggregate it, one narrow row per session that started.

    Its own columns, its ticket's category and account, its recorded outcome and the customer's
    survey answer, so a year of sessions is one range scan of one table (no joins to outcomes,
    answers and tickets at every page view). Derived data: ``analytics.rollup`` keeps it from the
    raw rows on every write that changes them, refreshes recent rows on a timer, and rebuilds it
    all after a bulk import (``python manage.py rebuild_analytics``).
    """

    session = models.OneToOneField(
        CoBrowseSession, on_delete=models.CASCADE, primary_key=True, related_name="fact"
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True)
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    mode = models.CharField(max_length=12)
    initiated_by = models.CharField(max_length=10)
    recording = models.BooleanField(default=False)
    category = models.CharField(max_length=30)
    account = models.ForeignKey(
        "accounts.CustomerAccount", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=12, blank=True, help_text="Empty: none recorded yet.")
    stars = models.PositiveSmallIntegerField(null=True)
    # Live quality, copied from the session's SessionQuality row (all null when no customer socket
    # reported: a null takes no room, and sums skip it), its disconnects and its recording, so the
    # quality page and the dashboard read one table for a period instead of joining three.
    connections = models.PositiveIntegerField(null=True)
    rtt_le_25 = models.PositiveIntegerField(null=True)
    rtt_le_50 = models.PositiveIntegerField(null=True)
    rtt_le_100 = models.PositiveIntegerField(null=True)
    rtt_le_200 = models.PositiveIntegerField(null=True)
    rtt_le_400 = models.PositiveIntegerField(null=True)
    rtt_le_800 = models.PositiveIntegerField(null=True)
    rtt_le_1600 = models.PositiveIntegerField(null=True)
    rtt_over_1600 = models.PositiveIntegerField(null=True)
    rtt_max_ms = models.PositiveIntegerField(null=True)
    good = models.PositiveIntegerField(null=True)
    fair = models.PositiveIntegerField(null=True)
    poor = models.PositiveIntegerField(null=True)
    gaps = models.PositiveIntegerField(null=True)
    lost_events = models.PositiveIntegerField(null=True)
    resyncs = models.PositiveIntegerField(null=True)
    disconnects = models.PositiveIntegerField(null=True, help_text="Every cause; null: none.")
    network_drops = models.PositiveIntegerField(null=True, help_text="Cause network; null: none.")
    recorded = models.BooleanField(null=True, help_text="A recording was stored; null: none.")
    recording_complete = models.BooleanField(null=True)
    recording_bytes = models.PositiveBigIntegerField(null=True)

    #: The columns copied from ``SessionQuality`` (same names there).
    QUALITY_FIELDS = (
        "connections", *SessionQuality.RTT_FIELDS, "rtt_max_ms", "good", "fair", "poor", "gaps",
        "lost_events", "resyncs",
    )  # fmt: skip

    class Meta:
        indexes = [
            models.Index(fields=["started_at"], name="fact_started_idx"),
            models.Index(fields=["agent", "started_at"], name="fact_agent_started_idx"),
        ]

    def __str__(self) -> str:
        return f"facts of session {self.session_id}"


class TicketFact(models.Model):
    """A resolved ticket as first-contact resolution reads it (``analytics.contact``), kept by
    ``analytics.rollup`` like :class:`SessionFact`; a ticket that is no longer resolved has none."""

    ticket = models.OneToOneField(
        "tickets.Ticket", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    resolved_at = models.DateTimeField()
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    category = models.CharField(max_length=30)
    account = models.ForeignKey(
        "accounts.CustomerAccount", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    cobrowse = models.BooleanField(help_text="The requester shared a page in one of its sessions.")
    modes = models.CharField(max_length=80, blank=True, help_text='Modes of those sessions: ",guided,".')
    contact_at = models.DateTimeField(null=True)
    follow_ups = models.PositiveIntegerField(default=0)
    stars = models.FloatField(null=True, help_text="Per ticket: the sessions' mean, or the ticket survey.")

    class Meta:
        indexes = [models.Index(fields=["resolved_at"], name="ticketfact_resolved_idx")]

    def __str__(self) -> str:
        return f"facts of ticket {self.ticket_id}"


class FrictionDay(models.Model):
    """Form friction of the sessions that started on one desk day, per page and field.

    Each session counts on the day it started (desk time zone), so the distinct-session counts of
    several days add up exactly. The page's own row (``field`` empty) holds the sessions with any
    signal on the page and its exit intents; a field's row the rest. Kept by ``analytics.friction``
    (the timer recomputes recent days; ``rebuild_analytics`` all of them)."""

    day = models.DateField()
    page_url = models.CharField(max_length=500)
    field = models.CharField(max_length=256, blank=True)
    page_sessions = models.PositiveIntegerField(default=0)
    exit_intents = models.PositiveIntegerField(default=0)
    stalled_sessions = models.PositiveIntegerField(default=0)
    validation_errors = models.PositiveIntegerField(default=0)
    intervened_sessions = models.PositiveIntegerField(default=0)
    completed_after_intervention = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "page_url", "field"], name="friction_day_page_field")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.page_url} {self.field or '(page)'}"


class FrictionDayDone(models.Model):
    """A day whose :class:`FrictionDay` rows are computed (a day without signals has none)."""

    day = models.DateField(primary_key=True)
    computed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"friction of {self.day} computed {self.computed_at:%Y-%m-%d %H:%M}"
