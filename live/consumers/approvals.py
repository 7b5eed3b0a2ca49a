"""``/ws/manager/approvals/``: the Approvals badge on every manager page, kept live.

The server sends ``{"type": "approvals", "count": n, "reason": "connected" | "changed" |
"recheck"}`` and nothing else; the page sends nothing. Managers only, checked before the socket
joins the group: anyone else is closed with 4401 (not signed in) or 4403 (not a manager).

The count travels in the group message (one COUNT per change, by whoever made it, see
``cobrowse/approvals.py``), so a hundred open manager pages cost no query per change. Each socket
also re-reads the count and the user's role on its own slow timer: a lost broadcast, a session
that timed out, or a manager demoted meanwhile is caught within ``RECHECK_SECONDS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts import permissions
from cobrowse import selectors
from cobrowse.groups import managers_approvals_group

logger = logging.getLogger(__name__)

RECHECK_SECONDS = 60
NOT_SIGNED_IN = 4401
NOT_A_MANAGER = 4403


def _admitted_count(user_id: int) -> int | None:
    """The pending count for an active manager, ``None`` for anyone else (read fresh)."""
    from accounts.models import User

    user = User.objects.filter(pk=user_id).only("role", "is_active").first()
    if user is None or not permissions.can_approve_full_control(user):
        return None
    return selectors.pending_full_control_count()


class ManagerApprovalsConsumer(AsyncJsonWebsocketConsumer):
    group = managers_approvals_group()
    joined = False
    recheck_task: asyncio.Task | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        await self.accept()
        if not (user and user.is_authenticated):
            await self.close(code=NOT_SIGNED_IN)
            return
        self.user_id = user.pk
        count = await database_sync_to_async(_admitted_count)(self.user_id)
        if count is None:
            await self.close(code=NOT_A_MANAGER)
            return
        await self.channel_layer.group_add(self.group, self.channel_name)
        self.joined = True
        await self.send_json({"type": "approvals", "count": count, "reason": "connected"})
        self.recheck_task = asyncio.create_task(self._recheck())

    async def disconnect(self, code: int) -> None:
        if self.recheck_task:
            self.recheck_task.cancel()
        if self.joined:
            self.joined = False
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs) -> None:
        """The page has nothing to say; anything sent is ignored unread. Decoding it (the JSON
        consumer's default) let a binary frame, invalid JSON or deeply nested JSON crash the socket."""

    async def approvals_count(self, event: dict) -> None:
        if self.joined:
            await self.send_json({"type": "approvals", "count": int(event["count"]), "reason": "changed"})

    async def _recheck(self) -> None:
        while self.joined:
            await asyncio.sleep(RECHECK_SECONDS * random.uniform(0.75, 1.25))  # noqa: S311 - spreading
            try:
                count = await database_sync_to_async(_admitted_count)(self.user_id)
            except Exception:  # a database hiccup: keep the socket, ask again next time
                logger.warning("could not re-check an approvals socket")
                continue
            if not self.joined:
                return
            if count is None:
                self.joined = False
                await self.channel_layer.group_discard(self.group, self.channel_name)
                with contextlib.suppress(Exception):
                    await self.close(code=NOT_A_MANAGER)
                return
            await self.send_json({"type": "approvals", "count": count, "reason": "recheck"})
