"""Append-only, keyed and anchored audit chain (docs/audit.md)."""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models


class Scheme(models.TextChoices):
    """How a row's ``hash`` was computed. Rows written before keying stay verifiable as they were."""

    LEGACY = "sha256", "SHA-256, unkeyed (rows written before the chain was keyed)"
    HMAC = "hmac-sha256", "HMAC-SHA-256 under AUDIT_KEY"


class AuditEvent(models.Model):
    """One thing that happened. Details never carry personal data: ids and names of capabilities.

    Each row stores the hash of the previous row; its own hash is an HMAC under ``AUDIT_KEY`` (a key
    the database does not hold), so whoever can write the table cannot recompute the chain.
    ``manage.py verify_audit`` recomputes it and compares it with the anchors written outside.
    """

    created_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True, help_text="Who, as it was then.")
    action = models.CharField(max_length=80, db_index=True)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    details = models.JSONField(default=dict, blank=True)
    scheme = models.CharField(max_length=16, choices=Scheme.choices, default=Scheme.LEGACY)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label or '-'} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.pop("_allow_update", False):
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ValueError("Audit events are append-only.")
