"""The accounts app's Celery tasks, where the worker's autodiscovery (``<app>.tasks``) finds them."""

from __future__ import annotations

from accounts.mail import send_email

__all__ = ["send_email"]
