"""The Approvals badge in the navigation (``templates/base.html``), for managers only."""

from __future__ import annotations

from django import template
from django.contrib.auth.models import AnonymousUser

from accounts import permissions
from accounts.models import User
from cobrowse import selectors

register = template.Library()


@register.simple_tag
def pending_approvals_count(user: User | AnonymousUser) -> int:
    """Full Control requests waiting for a manager: one COUNT query, and none for anyone else."""
    if not permissions.can_approve_full_control(user):
        return 0
    return selectors.pending_full_control_count()
