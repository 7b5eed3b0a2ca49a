"""``/ws/cobrowse/<session>/watch/``: a member of the customer's team, view only."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from channels.db import database_sync_to_async

from cobrowse import policy, protocol
from cobrowse.groups import agents_group, customer_group, session_group, team_viewer_group
from live import admission, relay_state, socket_limits
from live import services as live
from live.consumers import base
from live.consumers.agent import AgentConsumer

logger = logging.getLogger(__name__)


class TeamViewerConsumer(AgentConsumer):
    """``/ws/cobrowse/<session>/watch/``: a member of the customer's team, view only.

    Authenticated by a viewer grant in the first frame (``hello``), like the customer's page. It
    receives exactly what the agents receive (already redacted); of what agents may send it may
    only ``ping`` and ``resync``: everything else is refused with an ``error`` and the socket stays
    open. It never holds control (it has no user to hand control to). It closes when the session
    ends (``session.changed``) or when the member leaves or is removed (``team.closed``).
    """

    team_viewer_id: int | None = None

    async def connect(self) -> None:
        self.session_id = int(self.scope["url_route"]["kwargs"]["session_id"])
        self.user = None
        self.role = policy.ROLE_TEAM
        self.presence_task = None
        self.lease_task = None
        self.customer_presence = ""
        self.participant_id = None
        await self.accept()
        self.hello_task = asyncio.create_task(self._expect_hello())

    async def _expect_hello(self) -> None:
        await asyncio.sleep(base.HELLO_TIMEOUT_S)
        if self.participant_id is None:
            await self.close(code=4401)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        raw = text_data if text_data is not None else bytes_data
        if self.participant_id is None:
            await self._hello(raw)
            return
        if self.session is None:
            return
        try:
            message = protocol.parse_message(raw or b"", protocol.AGENT)
        except protocol.ProtocolError as exc:
            await self.send_envelope("error", exc.as_data())
            return
        decision = policy.check(self.session, policy.ROLE_TEAM, message.type)
        if not decision.allowed:
            await self.send_error("not_allowed", decision.reason, "type")
            return
        await getattr(self, f"_on_{message.type}")(message, decision)

    async def _hello(self, raw: str | bytes | None) -> None:
        try:
            grant = base.hello_grant(raw, ask="Send hello with your viewer grant first.")
        except protocol.ProtocolError as exc:
            await self.send_envelope("error", exc.as_data())
            return
        if not await socket_limits.hello_allowed(self.scope, "watch"):
            await self.send_error("rate_limited", "Too many connection attempts: try again in a minute.")
            await self.close(code=socket_limits.CLOSE_RATE_LIMITED)
            return
        try:
            seat = await database_sync_to_async(live.session_for_team)(self.session_id, grant)
        except live.LiveRefused as exc:
            await self.send_error("refused", exc.message)
            await self.close(code=exc.code)
            return
        self.hello_task.cancel()
        self.session, self.participant_id, self.team_viewer_id = (
            seat.session,
            seat.participant_id,
            seat.team_viewer_id,
        )
        for group in self._groups():
            await self.channel_layer.group_add(group, self.channel_name)
        if not await database_sync_to_async(live.team_still_admitted)(self.participant_id):
            await self.send_error("refused", "You no longer have access to this session.")
            self.session = None
            await self.close(code=4403)
            return
        self.customer_presence = await relay_state.presence(self.session_id)
        self.lease_task = asyncio.create_task(self._watch_presence_lease())
        await self.send_envelope(
            "welcome",
            {
                "session_id": seat.session.id,
                "mode": seat.session.mode,
                "state": seat.session.state,
                "role": policy.ROLE_TEAM,
                "name": seat.name,
                "customer_name": seat.customer_name,
                "agent_name": seat.session.agent_name,
                "customer": self.customer_presence,
                "quality": await relay_state.quality(self.session_id),
                "controller": seat.session.controller_name,
                "watching": list(seat.session.watching),
            },
        )
        await self.channel_layer.group_send(
            customer_group(self.session_id),
            {"type": "customer.frame", "msg_type": "snapshot_request", "data": {"reason": "viewer"}},
        )
        admission.watch(self)

    def admission_seat(self) -> int | None:
        return self.participant_id if self.session is not None else None

    def _groups(self) -> list[str]:
        assert self.team_viewer_id is not None
        return [
            session_group(self.session_id),
            agents_group(self.session_id),
            team_viewer_group(self.session_id, self.team_viewer_id),
        ]

    async def disconnect(self, code: int) -> None:
        self.closed = True
        self.hello_task.cancel()
        for task in (self.presence_task, self.lease_task):
            if task:
                task.cancel()
        admission.unwatch(self)
        if self.participant_id is None:
            return
        for group in self._groups():
            await self.channel_layer.group_discard(group, self.channel_name)
        with contextlib.suppress(Exception):
            await database_sync_to_async(live.team_left)(self.participant_id)

    async def team_closed(self, event: dict) -> None:
        """The member left (Leave) or the customer removed them: their grant no longer works. Or
        they opened the watch page again elsewhere: that newer socket took this one's seat."""
        if self.session is None:
            return
        if event.get("participant") not in (None, self.participant_id):
            return
        await self.send_envelope("ended", {"reason": event.get("reason") or "removed"})
        self.session = None
        await self.close(code=4403)

    async def to_agent_refused(self, event: dict) -> None:
        """Refusals answer a staff member's own action; a team member sends none."""

    async def to_agent_mode_request(self, event: dict) -> None:
        """How the support side's requests for control go (a manager's approval included) is
        theirs: the customer's team sees only the mode that results."""
