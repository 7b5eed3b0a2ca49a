"""Tell the live sockets when a session changes, whoever changed it (API, page, sweep, socket).

Broadcasts are queued with ``transaction.on_commit``: nothing is announced that was rolled back.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from cobrowse.groups import customer_group, session_group
from cobrowse.models import CoBrowseSession, ModeRequest, ModeRequestState

logger = logging.getLogger(__name__)

_WATCHED = {"state", "mode", "granted_mode", "recording", "end_reason"}


def _send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # a Redis hiccup must not fail the request that changed the session
        logger.warning("could not broadcast a session change to %s", group, exc_info=True)


@receiver(post_save, sender=CoBrowseSession)
def session_changed(sender, instance: CoBrowseSession, created: bool, update_fields=None, **kwargs) -> None:
    if created or (update_fields is not None and not (_WATCHED & set(update_fields))):
        return
    message = {
        "type": "session.changed",
        "state": instance.state,
        "mode": instance.mode,
        "recording": instance.recording,
        "end_reason": instance.end_reason,
    }
    group = session_group(instance.pk)
    transaction.on_commit(lambda: _send(group, message))


@receiver(post_save, sender=ModeRequest)
def mode_request_changed(sender, instance: ModeRequest, update_fields=None, **kwargs) -> None:
    """A request that now waits for the customer (new, or approved by a manager) is put to them."""
    if instance.state != ModeRequestState.PENDING_CUSTOMER:
        return
    message = {"type": "customer.mode_request", "request_id": instance.pk, "mode": instance.to_mode}
    group = customer_group(instance.session_id)
    transaction.on_commit(lambda: _send(group, message))
