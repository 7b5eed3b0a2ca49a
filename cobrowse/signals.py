"""Tell the live sockets what changed in a session, once the change commits.

The session core calls these itself, right after it saves a change the sockets must hear of: no
``post_save`` receiver (a queryset ``.update()`` would pass it by, and a receiver hides which write
announces what). Everything is queued with ``transaction.on_commit``: nothing rolled back is
announced, and a Redis hiccup never fails the request that made the change.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from cobrowse.groups import customer_group, session_group
from cobrowse.models import CoBrowseSession, ModeRequest, ModeRequestState

logger = logging.getLogger(__name__)


def _send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # a Redis hiccup must not fail the request that made the change
        logger.warning("could not broadcast to %s", group, exc_info=True)


def broadcast_on_commit(group: str, message: dict[str, Any]) -> None:
    """Send ``message`` to ``group`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: _send(group, message))


def session_changed(session: CoBrowseSession) -> None:
    """The session's state, mode or recording changed: every socket of the session learns the new
    values (a socket whose session ended closes)."""
    message = {
        "type": "session.changed",
        "state": session.state,
        "mode": session.mode,
        "recording": session.recording,
        "end_reason": session.end_reason,
    }
    broadcast_on_commit(session_group(session.pk), message)


def mode_request_waiting(request: ModeRequest) -> None:
    """A request that now waits for the customer (new, or approved by a manager) is put to them."""
    if request.state != ModeRequestState.PENDING_CUSTOMER:
        return
    message = {"type": "customer.mode_request", "request_id": request.pk, "mode": request.to_mode}
    broadcast_on_commit(customer_group(request.session_id), message)
