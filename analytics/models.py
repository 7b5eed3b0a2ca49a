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
