"""What a co-browse session achieved, recorded by its agent once it is over."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cobrowse.models import CoBrowseSession
from tickets.models import EscalationLevel, Team, TicketComment


class Outcome(models.TextChoices):
    RESOLVED = "resolved", "Resolved"
    FOLLOW_UP = "follow_up", "Follow-up needed"
    ESCALATED = "escalated", "Escalated"


class SessionOutcome(models.Model):
    """One per session. The summary is also posted to the ticket as an internal note."""

    session = models.OneToOneField(CoBrowseSession, on_delete=models.CASCADE, related_name="outcome")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    next_step = models.CharField(max_length=500, blank=True, help_text="Follow-up: what happens next.")
    follow_up_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    escalated_to = models.CharField(max_length=2, choices=EscalationLevel.choices, blank=True)
    escalated_team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True, max_length=5000, help_text="Resolution note.")
    summary = models.TextField()
    summary_comment = models.ForeignKey(
        TicketComment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["outcome", "recorded_at"])]

    def __str__(self) -> str:
        return f"session {self.session_id}: {self.outcome}"


class SurveyResponse(models.Model):
    """The customer's one answer about a session: 1 to 5 stars and an optional comment."""

    session = models.OneToOneField(CoBrowseSession, on_delete=models.CASCADE, related_name="survey_response")
    stars = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["created_at"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(stars__gte=1, stars__lte=5), name="stars_1_to_5")
        ]

    def __str__(self) -> str:
        return f"session {self.session_id}: {self.stars}★"
