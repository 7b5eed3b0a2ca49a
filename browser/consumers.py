"""``/ws/browser/<session>/``: the screencast viewer. Binary messages out are JPEG frames; JSON in
is ``hello`` (the customer's grant), ``ack`` (the number of the last frame drawn), ``input`` and
``ping``; JSON out uses the envelope of the DOM relay (welcome, status, viewport, cursor, error,
ended).

Staff come with their Django session; the customer's viewer page sends the session grant in its
first message. Each socket has a :class:`FrameGate`: a viewer that stops acknowledging gets fewer
frames, never a queue, and its reports make the runner lower the quality for everyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from typing import Any

import orjson
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from accounts import permissions
from browser import services
from browser.framepolicy import FrameGate
from browser.serializers import InputSerializer
from cobrowse import protocol
from cobrowse import services as session_services
from cobrowse.groups import browser_control_group, browser_viewers_group, session_group
from cobrowse.models import SHARING_STATES, ParticipantRole
from live import services as live
from live.consumers.base import hello_grant
from outcomes import survey

logger = logging.getLogger(__name__)

HELLO_TIMEOUT_S = 10
REPORT_EVERY_S = 1.0
MAX_MESSAGE_BYTES = 16 * 1024
CURSOR_EVERY_S = 0.05
WATCH_EVERY_S = 5.0


class BrowserViewerConsumer(AsyncWebsocketConsumer):
    admission: services.ViewerAdmission | None = None

    async def connect(self) -> None:
        self.session_id = int(self.scope["url_route"]["kwargs"]["session_id"])
        self.seq = 0
        self.gate: FrameGate[dict[str, Any]] = FrameGate(max_in_flight=settings.BROWSER_FRAME_MAX_IN_FLIGHT)
        self.viewport: tuple[int, int] | None = None
        self.refusal = ""
        self.control: dict[str, Any] = {}
        self.pending: dict[int, dict[str, Any]] = {}  # approvals this (agent) socket waits for
        self.last_cursor = 0.0
        self.tasks: list[asyncio.Task[None]] = []
        await self.accept()
        user = self.scope.get("user")
        if permissions.is_support_staff(user):
            await self._admit(database_sync_to_async(services.admit_staff)(self.session_id, user))
        else:
            # The customer, signed in to the portal or not: their login says nothing about this
            # session, the tab grant from the viewer's card does.
            self.tasks.append(asyncio.create_task(self._expect_hello()))

    async def _expect_hello(self) -> None:
        await asyncio.sleep(HELLO_TIMEOUT_S)
        if self.admission is None:
            await self.close(code=4401)

    async def _admit(self, admitting: Awaitable[services.ViewerAdmission]) -> None:
        try:
            admission = await admitting
        except live.LiveRefused as exc:
            # ``unconfirmed``: a link grant, which only the viewer's card may use (never a socket).
            await self._error(getattr(exc, "error", "refused"), exc.message)
            await self.close(code=exc.code)
            return
        self.admission = admission
        self.refusal = admission.input_refusal
        self.control = await database_sync_to_async(services.viewer_control)(self.session_id, admission.role)
        await self.channel_layer.group_add(browser_viewers_group(self.session_id), self.channel_name)
        await self.channel_layer.group_add(session_group(self.session_id), self.channel_name)
        await self._send("welcome", self._welcome())
        await self._to_runner({"type": "browser.viewer", "event": "join", "viewer": self.channel_name})
        self.tasks.append(asyncio.create_task(self._report_loop()))

    def _welcome(self) -> dict[str, Any]:
        assert self.admission is not None
        return {
            "session_id": self.session_id,
            "role": self.admission.role,
            "state": self.admission.state,
            "mode": self.admission.mode,
            "can_input": not self.refusal,
            "input_refusal": self.refusal,
            "holder": self.control.get("holder", ParticipantRole.AGENT),
            "asked": bool(self.control.get("asked")),
            "needs_approval": bool(self.control.get("needs_approval")),
        }

    async def disconnect(self, code: int) -> None:
        for task in self.tasks:
            task.cancel()
        if self.admission is None:
            return
        await self.channel_layer.group_discard(browser_viewers_group(self.session_id), self.channel_name)
        await self.channel_layer.group_discard(session_group(self.session_id), self.channel_name)
        with contextlib.suppress(Exception):
            await self._to_runner({"type": "browser.viewer", "event": "leave", "viewer": self.channel_name})
        if self.admission.participant_id is not None:
            with contextlib.suppress(Exception):
                await database_sync_to_async(live.staff_left)(self.admission.participant_id)

    # --- incoming ----------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None or len(text_data) > MAX_MESSAGE_BYTES:
            await self._error("invalid", "Send JSON text messages of at most 16 KB.")
            return
        if self.admission is None:
            await self._hello(text_data)
            return
        try:
            message = orjson.loads(text_data)
        except orjson.JSONDecodeError:
            await self._error("invalid", "Not JSON.")
            return
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self._error("invalid", "A message is an object with a type.", "type")
            return
        raw_data = message.get("data")
        data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
        kind = message["type"]
        if kind == "ack":
            await self._ack(data.get("frame"))
        elif kind == "input":
            await self._input(data)
        elif kind == "control":
            await self._control(data)
        elif kind == "decision":
            await self._decision(data)
        elif kind == "ping":
            await self._send("pong", {"nonce": str(data.get("nonce", ""))[:64]})
        elif kind == "hello":
            pass  # staff pages say hello too; already admitted
        else:
            await self._error("unknown_type", f"Unknown message type '{kind[:40]}'.", "type")

    async def _hello(self, raw: str) -> None:
        """The customer's viewer page: its first frame carries only the tab grant."""
        try:
            grant = hello_grant(raw, ask="Send hello with the session grant first.")
        except protocol.ProtocolError as exc:
            await self._send("error", exc.as_data())
            return
        await self._admit(database_sync_to_async(services.admit_customer)(self.session_id, grant))

    async def _ack(self, number: Any) -> None:
        released = self.gate.ack(number if isinstance(number, int) and not isinstance(number, bool) else -1)
        if released is not None:
            _number, event = released
            await self._send_frame(event)

    async def _input(self, data: dict[str, Any]) -> None:
        checked = InputSerializer(data=data)
        if not checked.is_valid():
            field, errors = next(iter(checked.errors.items()))
            await self._error("invalid", str(errors[0]), f"data.{field}")
            return
        if self.refusal:
            await self._error("not_allowed", self.refusal, "type")
            return
        action = dict(checked.validated_data)
        if self.control.get("needs_approval"):
            if action["kind"] != "move":  # the customer's pointer is theirs: the agent's moves are dropped
                self.tasks.append(asyncio.create_task(self._ask_customer(action)))
            return
        await self._relay(action)

    async def _relay(self, action: dict[str, Any]) -> None:
        user = self.scope.get("user")
        actor_id = user.pk if permissions.is_support_staff(user) else None
        # The role is the socket's, set last: the runner exempts the customer's own input (while the
        # customer holds the browser) from the submit, pay and masked-field rules.
        role = self.admission.role if self.admission is not None else ""
        await self._to_runner(
            {
                "type": "browser.input",
                **action,
                "sender": self.channel_name,
                "actor_id": actor_id,
                "role": role,
            }
        )
        if action["kind"] in ("click", "dblclick", "move") and role == ParticipantRole.AGENT:
            now = time.monotonic()
            if action["kind"] != "move" or now - self.last_cursor >= CURSOR_EVERY_S:
                self.last_cursor = now
                await self.channel_layer.group_send(
                    browser_viewers_group(self.session_id),
                    {
                        "type": "browser.cursor",
                        "x": action["x"],
                        "y": action["y"],
                        "click": action["kind"] != "move",
                        "sender": self.channel_name,
                    },
                )

    async def _ask_customer(self, action: dict[str, Any]) -> None:
        """The customer holds the browser (controlled): ask first, relay on Allow (browser_decision)."""
        user = self.scope["user"]
        probe_args = {k: v for k, v in action.items() if k != "text"}
        try:
            probe = await services.arequest(self.session_id, "probe", probe_args, timeout=5, actor_id=user.pk)
            if probe.ok and probe.result.get("never"):
                await self._error("never_allowed", f"Not done: {probe.result['never']}.", "data")
                return
            target = str(probe.result.get("target", "")) if probe.ok else ""
            pk = await database_sync_to_async(services.create_approval)(
                self.session_id, user, action, target or "the page", self.channel_name
            )
        except services.BrowserError as exc:
            await self._error(exc.code, exc.message, "data")
            return
        self.pending[pk] = action
        await self._send(
            "awaiting", {"request_id": f"action:{pk}", "action": action["kind"], "target": target}
        )

    async def browser_decision(self, event: dict[str, Any]) -> None:
        action = self.pending.pop(int(event.get("request", 0)), None)
        if action is None:
            return
        if event.get("approved"):
            await self._relay(action)
        else:
            await self._error("declined", "The customer did not allow this action.", "data")

    async def _control(self, data: dict[str, Any]) -> None:
        """``ask`` (customer), ``give`` (the holder hands it over), ``take`` (the agent takes it back)."""
        assert self.admission is not None
        role, what = self.admission.role, data.get("action")
        user = self.scope.get("user")
        actor = user if permissions.is_support_staff(user) else None
        try:
            if role == ParticipantRole.CUSTOMER and what == "ask":
                await database_sync_to_async(services.ask_for_control)(self.session_id)
            elif role == ParticipantRole.CUSTOMER and what == "give":
                await database_sync_to_async(services.set_holder)(
                    self.session_id, ParticipantRole.AGENT, actor=None, by="customer"
                )
            elif role == ParticipantRole.AGENT and what in ("give", "take"):
                to = ParticipantRole.CUSTOMER if what == "give" else ParticipantRole.AGENT
                await database_sync_to_async(services.set_holder)(
                    self.session_id, to, actor=actor, by="agent"
                )
            else:
                await self._error("not_allowed", "You cannot change who holds the browser.", "data.action")
        except services.BrowserError as exc:
            await self._error(exc.code, exc.message, "data.action")

    async def _decision(self, data: dict[str, Any]) -> None:
        assert self.admission is not None
        if self.admission.role != ParticipantRole.CUSTOMER:
            await self._error("not_allowed", "Only the customer answers action requests.", "type")
            return
        request_id, approved = data.get("request_id"), data.get("approved")
        if not isinstance(request_id, str) or not isinstance(approved, bool):
            await self._error("invalid", "Send request_id and approved (true or false).", "data")
            return
        try:
            waiter, ok = await database_sync_to_async(services.decide_approval)(
                self.session_id, request_id, approved
            )
        except live.LiveRefused as exc:
            await self._error("invalid", exc.message, "data.request_id")
            return
        except session_services.CoBrowseError as exc:
            await self._error(getattr(exc, "code", None) or "not_pending", " ".join(exc.messages), "data")
            return
        if waiter:
            pk = int(request_id.partition(":")[2])
            await self.channel_layer.send(waiter, {"type": "browser.decision", "request": pk, "approved": ok})

    # --- from the runner and the session ------------------------------------------------------

    async def browser_control(self, event: dict[str, Any]) -> None:
        """Who holds the browser changed (or the customer asked for it)."""
        await self._refresh_control()
        data = {k: self.control.get(k) for k in ("holder", "asked", "needs_approval")}
        await self._send("control", {**data, "can_input": not self.refusal})

    async def browser_action_request(self, event: dict[str, Any]) -> None:
        if self.admission is not None and self.admission.role == ParticipantRole.CUSTOMER:
            keys = ("request_id", "action", "target", "expires_in")
            await self._send("action_request", {k: event.get(k) for k in keys})

    async def _refresh_control(self) -> None:
        assert self.admission is not None
        self.control = await database_sync_to_async(services.viewer_control)(
            self.session_id, self.admission.role
        )
        self.refusal = self.control["input_refusal"]
        self.admission = services.ViewerAdmission(
            self.session_id,
            self.admission.role,
            self.admission.participant_id,
            self.control["state"],
            self.control["mode"],
            self.refusal,
        )
        await self._send("welcome", self._welcome())

    async def browser_frame(self, event: dict[str, Any]) -> None:
        if self.gate.offer(event) is None:
            return  # behind: held as the newest frame, sent when the viewer acknowledges
        await self._send_frame(event)

    async def _send_frame(self, event: dict[str, Any]) -> None:
        viewport = (int(event.get("width", 0)), int(event.get("height", 0)))
        if viewport != self.viewport:
            self.viewport = viewport
            await self._send("viewport", {"width": viewport[0], "height": viewport[1]})
        await self.send(bytes_data=event["data"])

    async def browser_status(self, event: dict[str, Any]) -> None:
        await self._send("status", {k: v for k, v in event.items() if k != "type"})

    async def browser_refused(self, event: dict[str, Any]) -> None:
        """The runner refused this socket's input (never-list, rate limit): nothing was done."""
        await self._error(str(event.get("code", "not_allowed")), str(event.get("message", "")), "data")

    async def browser_cursor(self, event: dict[str, Any]) -> None:
        if event.get("sender") != self.channel_name:
            await self._send("cursor", {"x": event["x"], "y": event["y"], "click": bool(event.get("click"))})

    async def session_changed(self, event: dict[str, Any]) -> None:
        if event.get("state") not in SHARING_STATES:
            ended: dict[str, Any] = {"reason": event.get("end_reason") or event.get("state")}
            if self.admission is not None and self.admission.role == ParticipantRole.CUSTOMER:
                url = await database_sync_to_async(survey.offered_url)(self.session_id)
                if url:  # the customer's viewer links to the survey
                    ended["survey"] = {"url": url}
            await self._send("ended", ended)
            await self.close(code=4000)
            return
        await self._refresh_control()

    # --- helpers -----------------------------------------------------------------------------

    async def _report_loop(self) -> None:
        """Frame reports to the runner every second; every few seconds, is there a runner at all?"""
        last_watch = time.monotonic()
        while True:
            await asyncio.sleep(REPORT_EVERY_S)
            report = self.gate.report()
            await self._to_runner(
                {"type": "browser.viewer", "event": "report", "viewer": self.channel_name, **report}
            )
            if time.monotonic() - last_watch >= WATCH_EVERY_S:
                last_watch = time.monotonic()
                try:
                    await database_sync_to_async(services.watch_runner)(self.session_id)
                except Exception:
                    logger.warning("browser session %s: runner watch failed", self.session_id, exc_info=True)

    async def _to_runner(self, message: dict[str, Any]) -> None:
        await self.channel_layer.group_send(browser_control_group(self.session_id), message)

    async def _send(self, msg_type: str, data: dict[str, Any]) -> None:
        message = protocol.envelope(msg_type, data, self.seq)
        self.seq += 1
        await self.send(text_data=protocol.encode(message))

    async def _error(self, code: str, message: str, field: str | None = None) -> None:
        await self._send("error", protocol.ProtocolError(code, message, field).as_data())
