"""``/ws/cobrowse/<session>/agent/``: the session's agent, or a manager or colleague viewing.

Receives the customer's redacted frames as they are relayed; sends guidance, actions (put to the
customer's consumer, which alone knows the node), hand-overs, mode requests and notes, each first
checked against the session's policy with the rights of whoever holds control.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import DatabaseError

from cobrowse import policy, protocol
from cobrowse import services as session_services
from cobrowse.assist import dispatch as assist_dispatch
from cobrowse.groups import agents_group, customer_group, session_group
from cobrowse.models import SHARING_STATES, SessionState
from live import admission, relay_state
from live import services as live
from live.consumers.base import EnvelopeSender

logger = logging.getLogger(__name__)

ACTIONS_PER_SECOND = 10
RESYNC_EVERY_S = 2.0  # full snapshots a viewer may ask the customer's page for
DISCONNECTED_AFTER_S = 8  # "reconnecting" turns into "disconnected" after this long
#: How often a staff socket that believes the customer connected checks the presence lease: a page
#: whose web node died outright says nothing, its lease (relay_state.set_presence) lapses instead.
PRESENCE_CHECK_S = 4
#: Close codes when a periodic admission re-check fails (the session's end keeps 4000).
ADMISSION_CLOSE_CODES = {"ended": 4000, "viewer_limit": 4409}
ADMISSION_WITHDRAWN = 4403
#: Who hears the assistant's proposals: staff (the agent, managers and colleagues viewing); never a
#: member of the customer's team (``team``), whose socket shares the agents' group.
ASSIST_ROLES = frozenset({"agent", "viewer"})


class AgentConsumer(EnvelopeSender, AsyncWebsocketConsumer):
    """``/ws/cobrowse/<session>/agent/``: the session's agent, or a manager or colleague viewing."""

    session: live.LiveSession | None = None
    participant_id: int | None  # set in connect

    def admission_seat(self) -> live.StaffSeat | int | None:
        """What :mod:`live.admission` re-checks for this socket (never per frame)."""
        if self.session is None or self.participant_id is None:
            return None
        return (self.session_id, self.user.pk, self.participant_id)

    async def admission_checked(self, reason: str, participant_id: int | None) -> None:
        """Close the socket once its admission no longer holds, even if the broadcast saying so
        was lost; a staff member whose seat another tab's close cleared took it again."""
        if not reason:
            if participant_id is not None:
                self.participant_id = participant_id
            return
        if self.session is not None and not self.closed:
            await self.send_envelope("ended", {"reason": reason})
            self.session = None
            await self.close(code=ADMISSION_CLOSE_CODES.get(reason, ADMISSION_WITHDRAWN))

    async def connect(self) -> None:
        self.session_id = int(self.scope["url_route"]["kwargs"]["session_id"])
        self.user = self.scope.get("user")
        self.presence_task: asyncio.Task | None = None
        self.lease_task: asyncio.Task | None = None
        self.customer_presence = ""
        self.participant_id = None
        await self.accept()
        try:
            session, participant_id, role = await database_sync_to_async(live.session_for_staff)(
                self.session_id, self.user
            )
        except live.LiveRefused as exc:
            await self.send_error("refused", exc.message)
            await self.close(code=exc.code)
            return
        self.session, self.participant_id, self.role = session, participant_id, role
        self.action_times: list[float] = []
        admission.watch(self)
        await self.channel_layer.group_add(session_group(self.session_id), self.channel_name)
        await self.channel_layer.group_add(agents_group(self.session_id), self.channel_name)
        self.customer_presence = await relay_state.presence(self.session_id)
        self.lease_task = asyncio.create_task(self._watch_presence_lease())
        await self.send_envelope(
            "welcome",
            {
                "session_id": session.id,
                "mode": session.mode,
                "state": session.state,
                "role": role,
                "customer": self.customer_presence,
                "quality": await relay_state.quality(self.session_id),
                "controller": session.controller_name,
                "agent_name": session.agent_name,
                "watching": list(session.watching),
            },
        )
        # A late viewer needs a full snapshot to start from.
        await self.channel_layer.group_send(
            customer_group(self.session_id),
            {"type": "customer.frame", "msg_type": "snapshot_request", "data": {"reason": "viewer"}},
        )
        await self._last_assist()

    async def _last_assist(self) -> None:
        """A console that (re)connects starts from the proposals last sent for the session."""
        if self.role not in ASSIST_ROLES:
            return
        with contextlib.suppress(Exception):  # the cache away: the next proposals still come
            last = await database_sync_to_async(assist_dispatch.last_sent)(self.session_id)
            if last:
                await self.send_envelope("assist", last)

    async def disconnect(self, code: int) -> None:
        self.closed = True
        for task in (self.presence_task, self.lease_task):
            if task:
                task.cancel()
        admission.unwatch(self)
        await self.channel_layer.group_discard(session_group(self.session_id), self.channel_name)
        await self.channel_layer.group_discard(agents_group(self.session_id), self.channel_name)
        if self.participant_id is not None:
            with contextlib.suppress(Exception):
                await database_sync_to_async(live.staff_left)(self.participant_id)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.session is None:
            return
        if self.session.past_deadline():  # with the beat stopped, the first frame after it ends it
            self.session = await database_sync_to_async(live.enforce_timers)(self.session_id)
            if self.session.state not in SHARING_STATES:
                await self.send_envelope("ended", {"reason": self.session.state})
                self.session = None
                await self.close(code=4000)
                return
        raw = text_data if text_data is not None else bytes_data
        try:
            message = protocol.parse_message(raw or b"", protocol.AGENT)
        except protocol.ProtocolError as exc:
            await self.send_envelope("error", exc.as_data())
            return
        # Re-read the state (and the holder's current rights) for anything that acts on the page.
        holder = self.user
        if message.type in ("annotate", "action", "mode_request", "handover"):
            try:
                self.session, current_holder = await database_sync_to_async(live.current_with_holder)(
                    self.session_id
                )
            except DatabaseError:  # rights cannot be checked: refused, and the socket stays open
                await self.send_error("unavailable", "The database is unavailable: try again in a moment.")
                return
            if self.session.controller_id == self.user.pk:
                holder = current_holder  # fresh from the database: rights withdrawn count at once
        # Whoever holds control (the agent unless it was handed over) may guide and act, with
        # their own co-browse rights judged, never the session agent's.
        holds_control = self.session.controller_id == self.user.pk
        role = policy.ROLE_AGENT if self.role == "agent" or holds_control else policy.ROLE_VIEWER
        subject = message.data if message.type in ("annotate", "action") else None
        decision = policy.check(self.session, role, message.type, subject, holder=holder)
        if not decision.allowed:
            await self.send_error("not_allowed", decision.reason, "type")
            return
        await getattr(self, f"_on_{message.type}")(message, decision)

    async def _to_customer(self, msg_type: str, data: dict) -> None:
        await self.channel_layer.group_send(
            customer_group(self.session_id), {"type": "customer.frame", "msg_type": msg_type, "data": data}
        )

    async def _on_ping(self, message: protocol.Message, decision: policy.Decision) -> None:
        await self.send_envelope("quality", {"level": "good", "rtt_ms": 0, "echo": message.data["nonce"]})

    async def _on_resync(self, message: protocol.Message, decision: policy.Decision) -> None:
        """A full snapshot costs the customer's page (up to 8 MB to serialise and upload): at most
        one per RESYNC_EVERY_S per socket, whatever the client does."""
        now = time.monotonic()
        if now - getattr(self, "last_resync_at", float("-inf")) < RESYNC_EVERY_S:
            await self.send_error("rate_limited", f"At most one resync every {RESYNC_EVERY_S:g} s.", "type")
            return
        self.last_resync_at = now
        await self._to_customer("snapshot_request", {"reason": "resync"})

    async def _on_annotate(self, message: protocol.Message, decision: policy.Decision) -> None:
        await self._to_customer("annotate", message.data)
        if message.data["kind"] != "pointer":  # pointer moves are many and say nothing on their own
            await database_sync_to_async(live.log_activity)(
                self.session_id, self.user, "annotation", kind=message.data["kind"]
            )

    async def _on_action(self, message: protocol.Message, decision: policy.Decision) -> None:
        now = time.monotonic()
        self.action_times = [t for t in self.action_times if now - t < 1.0]
        if len(self.action_times) >= ACTIONS_PER_SECOND:
            await self.send_error("rate_limited", f"At most {ACTIONS_PER_SECOND} actions per second.", "type")
            return
        self.action_times.append(now)
        # Only the customer's consumer knows what the node is (masked? a submit button?): it decides.
        await self.channel_layer.group_send(
            customer_group(self.session_id),
            {"type": "customer.agent_action", "data": message.data, "user_id": self.user.pk},
        )

    async def _on_handover(self, message: protocol.Message, decision: policy.Decision) -> None:
        try:
            handed = await database_sync_to_async(live.hand_over)(
                self.session_id, self.user, message.data["to_user_id"]
            )
        except live.LiveRefused as exc:
            await self.send_error("not_allowed", exc.message, "data.to_user_id")
            return
        # A drop from Full to Controlled reaches every socket through session.changed.
        holder = handed.holder_name
        control = {"holder": holder, "user_id": handed.holder_id}
        await self.channel_layer.group_send(
            agents_group(self.session_id), {"type": "to.agent.control", **control}
        )
        await self.channel_layer.group_send(
            customer_group(self.session_id),
            {"type": "customer.frame", "msg_type": "control", "data": {"holder": holder}},
        )

    async def _on_mode_request(self, message: protocol.Message, decision: policy.Decision) -> None:
        try:
            await database_sync_to_async(session_services.request_mode)(
                self.session_id, actor=self.user, mode=message.data["mode"]
            )
        except session_services.CoBrowseError as exc:
            await self.send_error("not_allowed", "; ".join(exc.messages), "data.mode")
        except Exception as exc:  # PermissionDenied and friends: a clear refusal, never a crash
            await self.send_error("not_allowed", str(exc) or "Not allowed.", "data.mode")

    async def _on_note(self, message: protocol.Message, decision: policy.Decision) -> None:
        await database_sync_to_async(live.add_note)(self.session_id, self.user, message.data["text"])

    # --- from the groups ---------------------------------------------------------------------

    async def to_agent_frame(self, event: dict) -> None:
        if not self.closed:
            await self.send(text_data=event["text"])

    async def to_agent_presence(self, event: dict) -> None:
        customer = event["customer"]
        self.customer_presence = customer
        await self.send_envelope("presence", {"customer": customer})
        if self.presence_task:
            self.presence_task.cancel()
            self.presence_task = None
        if customer == "reconnecting":
            self.presence_task = asyncio.create_task(self._disconnected_later())

    async def _disconnected_later(self) -> None:
        await asyncio.sleep(DISCONNECTED_AFTER_S)
        self.customer_presence = "disconnected"
        await self.send_envelope("presence", {"customer": "disconnected"})

    async def _watch_presence_lease(self) -> None:
        """Tell this socket "reconnecting" when the customer's presence lease lapsed unannounced."""
        while True:
            await asyncio.sleep(PRESENCE_CHECK_S)
            if self.customer_presence != "connected":
                continue
            try:
                lapsed = await relay_state.presence(self.session_id) != "connected"
            except Exception:  # Redis away for a moment: check again next time
                logger.warning("could not read the presence of session %s", self.session_id)
                continue
            if lapsed and self.customer_presence == "connected":
                await self.to_agent_presence({"customer": "reconnecting"})

    async def to_agent_quality(self, event: dict) -> None:
        await self.send_envelope("quality", {"level": event["level"], "rtt_ms": event["rtt_ms"]})

    async def to_agent_control(self, event: dict) -> None:
        await self.send_envelope("control", {"holder": event["holder"], "user_id": event["user_id"]})

    async def to_agent_participants(self, event: dict) -> None:
        await self.send_envelope("participants", {"watching": event["watching"]})

    async def to_agent_refused(self, event: dict) -> None:
        if event.get("user_id") in (None, self.user.pk):
            await self.send_error("not_allowed", event["reason"], "data")

    async def to_agent_assist(self, event: dict) -> None:
        if self.role in ASSIST_ROLES:
            await self.send_envelope("assist", event["data"])

    async def to_agent_action_result(self, event: dict) -> None:
        await self.send_envelope("action_result", event["data"])

    async def to_agent_decision(self, event: dict) -> None:
        await self.send_envelope(
            "decision", {"request_id": event["request_id"], "approved": event["approved"]}
        )

    async def to_agent_mode_request(self, event: dict) -> None:
        """Where a mode request stands (``cobrowse/approvals.py``): the console says so."""
        await self.send_envelope(
            "mode_request", {"request_id": event["request_id"], "mode": event["mode"], "step": event["step"]}
        )

    async def session_changed(self, event: dict) -> None:
        if self.session is None:
            return
        if event["state"] not in SHARING_STATES and event["state"] != SessionState.INVITED:
            await self.send_envelope("ended", {"reason": event.get("end_reason") or event["state"]})
            self.session = None
            await self.close(code=4000)
            return
        if event["mode"] != self.session.mode:
            await self.send_envelope("mode", {"mode": event["mode"]})
        self.session = live.LiveSession(
            **{**self.session.__dict__, "mode": event["mode"], "state": event["state"]}
        )
