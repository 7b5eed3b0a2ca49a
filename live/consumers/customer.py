"""``/ws/cobrowse/<session>/customer/``: the customer's page → server redaction → the agents.

Every frame is validated (:mod:`cobrowse.protocol`) and checked against the session's policy
(:mod:`cobrowse.policy`); an invalid or refused frame gets an ``error`` reply and is dropped, the
socket stays open. Session state lives in the database; the consumer keeps only what it needs
between frames and learns of changes through the ``cobrowse.<session>`` group. With the customer's
recording consent, what is relayed is also recorded (:mod:`recordings.live`).

One tab shares at a time: the socket holding the session's seat (:mod:`live.relay_state`). A hello
from another tab of the same browser (the grant travels with a duplicated tab) is admitted
*dormant*: nothing is relayed or recorded, it is not the customer's presence, and its close changes
nothing; ``take_seat`` moves the seat to it and the old holder is told ``seat_moved``. Only the
holder's close marks the session reconnecting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from typing import TYPE_CHECKING

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError

from cobrowse import page_signals, policy, protocol
from cobrowse import services as session_services
from cobrowse.assist import context as assist_context
from cobrowse.assist import dispatch as assist_dispatch
from cobrowse.assist.providers import propose
from cobrowse.groups import agents_group, customer_group, session_group
from cobrowse.masking import NodeFacts, Redactor
from cobrowse.masking.nodes import MAX_TRACKED_NODES
from cobrowse.masking.url import redact_url
from cobrowse.models import SHARING_STATES
from consent import answers
from live import relay_state, socket_limits
from live import services as live
from live.consumers import base
from live.consumers.base import EnvelopeSender, header
from live.quality_meter import QualityMeter
from masking.patterns import redact_text
from outcomes import survey

if TYPE_CHECKING:
    from recordings.live import SessionRecorder

logger = logging.getLogger(__name__)

ACK_INTERVAL_S = 0.5
PING_INTERVAL_S = 4
PONG_DEADLINE_S = 9  # no pong for this long: the customer's socket is treated as dropped
TOUCH_EVERY_S = 30  # activity is written to the session at most this often
QUALITY_GOOD_MS = 200
QUALITY_FAIR_MS = 600
RECORDING_RETRY_S = 5.0  # a recording that could not be opened is tried again this often…
RECORDING_RETRIES = 6  # …this many times (past the writer lock a dead web node left behind)
REBUILD_EVERY_S = 600  # the redactor's state is rebuilt from a full snapshot at most this often
QUALITY_REFRESH_S = 12  # a steady quality is re-announced this often (a change goes out at once)
#: The presence the agents hear when the customer moves sharing to another tab (the console words it).
MOVED = "moved"
#: What a dormant socket may send besides ``take_seat``: it answers pings and may stop the session.
DORMANT_TYPES = frozenset({"pong", "stop"})


def _done() -> asyncio.Future[None]:
    """A future already finished: "no activity write in flight"."""
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    future.set_result(None)
    return future


def quality_level(rtt_ms: float | None) -> str:
    if rtt_ms is None:
        return "poor"
    if rtt_ms <= QUALITY_GOOD_MS:
        return "good"
    return "fair" if rtt_ms <= QUALITY_FAIR_MS else "poor"


def _action_refusal(action: dict, facts: NodeFacts | None) -> str:
    """Refusals that need the node's facts; the mode and the never-list come from the policy."""
    if facts is None:
        return "that element is not on the customer's current page"
    if action["kind"] in ("type", "autofill") and "\n" in action.get("value", ""):
        return "typing Enter could submit a form, which is never allowed"
    if action["kind"] in ("type", "autofill") and facts.tag not in ("input", "textarea"):
        return "only text fields can be typed into"
    if action["kind"] == "select" and facts.tag != "select":
        return "only drop-down lists can be selected from"
    return ""


class _AssistState:
    """The assistant's bookkeeping per socket: the last rule key, the pending run and trigger."""

    def __init__(self) -> None:
        self.key: tuple | None = None
        self.focus: str | None = None
        self.trigger: str | None = None
        self.task: asyncio.Task | None = None
        self.last_at = float("-inf")


class CustomerConsumer(EnvelopeSender, AsyncWebsocketConsumer):
    """``/ws/cobrowse/<session>/customer/``: the customer's page, authenticated by its grant."""

    session: live.LiveSession | None = None
    ending = False  # _end has begun: the page is told once
    replaced = False  # shared until another socket took the seat (customer_seat_moved)
    recording_retry = False  # _retry_recording has been started for this socket
    page_url = ""  # the shared page, as page signals are grouped by (scheme, host, path)
    sharing = False  # this socket holds the session's seat: it relays, records and is the presence
    tab_id = ""
    hello_url = ""

    async def connect(self) -> None:
        self.session_id = int(self.scope["url_route"]["kwargs"]["session_id"])
        self.origin = header(self.scope, b"origin")
        self.page_id = ""
        self.tracker = protocol.SeqTracker()
        self.assembler = protocol.PartAssembler()
        self.redactor: Redactor | None = None
        self.last_pong = time.monotonic()
        self.rtt_ms: float | None = None
        self.rebuilt_at: float = -REBUILD_EVERY_S  # when the redactor was last rebuilt (_bound_redactor)
        self.pending_ping: tuple[str, float] | None = None
        self.quality_sent = ""
        self.quality_sent_at = 0.0
        self.last_touch = 0.0
        self.touch_every = TOUCH_EVERY_S * random.uniform(0.8, 1.0)  # noqa: S311 - spreading, not secrecy
        self.touch_task: asyncio.Future[None] = _done()  # the activity write in flight (_maybe_touch)
        self.tasks: list[asyncio.Task] = []
        self.recorder: SessionRecorder | None = None
        self.seq_dirty = False
        self.seq_expiry_at = float("-inf")  # the first save of this socket sets the expiry
        self.ack_due = False
        self.meter: QualityMeter | None = None  # from the page's hello on
        self.assist = _AssistState()
        await self.accept()
        self.tasks.append(asyncio.create_task(self._expect_hello()))

    async def _expect_hello(self) -> None:
        await asyncio.sleep(base.HELLO_TIMEOUT_S)
        if self.session is None:
            await self.close(code=4401)

    async def disconnect(self, code: int) -> None:
        self.closed = True
        for task in self.tasks:
            task.cancel()
        self.touch_task.cancel()
        await self._stop_recording("disconnect")
        if self.meter is not None and page_signals.listening():  # also after the session ended
            with contextlib.suppress(Exception):
                await database_sync_to_async(page_signals.report_quality)(self.meter.report())
        if self.session is None:
            return
        # With Redis away the groups cannot be left (their subscriptions go with the connection);
        # the session must still learn that its page is gone, so the database write below runs.
        with contextlib.suppress(*base.REDIS_ERRORS):
            await self.channel_layer.group_discard(session_group(self.session_id), self.channel_name)
            await self.channel_layer.group_discard(customer_group(self.session_id), self.channel_name)
        if not (self.sharing or self.replaced):  # dormant: the page never shared on this socket
            return
        ours = False
        if self.sharing:
            self.sharing = False
            try:
                ours = await relay_state.release_seat(self.session_id, self.channel_name)
            except Exception:  # Redis away: a holder's close is still a disconnect
                ours = True
            if ours:
                with contextlib.suppress(Exception):
                    await database_sync_to_async(live.customer_disconnected)(self.session_id)
        # A socket that shared counts as a drop for the dashboard even when the page is already back
        # on a newer one (its network dropped; the server learnt it only now, by the heartbeat).
        if page_signals.listening():
            cause = page_signals.Disconnect(self.session_id, code, page_signals.disconnect_cause(code))
            with contextlib.suppress(Exception):
                await database_sync_to_async(page_signals.report_disconnect)(cause)
        if not ours:  # another socket holds the seat (this tab back, its next page, another tab)
            return
        await self._flush_seq()
        await relay_state.set_presence(self.session_id, "reconnecting")
        await self.channel_layer.group_send(
            agents_group(self.session_id), {"type": "to.agent.presence", "customer": "reconnecting"}
        )

    # --- incoming ----------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        raw = text_data if text_data is not None else bytes_data
        if socket_limits.frame_too_large(raw):
            await self.send_error(
                "too_large",
                f"frames are at most {socket_limits.CUSTOMER_FRAME_MAX} bytes: send large ones in parts",
            )
            await self.close(code=socket_limits.CLOSE_TOO_LARGE)
            return
        try:
            message = protocol.parse_message(raw or b"", protocol.CUSTOMER)
            if message.type == "part":
                assembled = self._assemble(message)
                if assembled is None:
                    return  # more parts to come
                message = assembled
        except protocol.ProtocolError as exc:
            await self.send_envelope("error", exc.as_data())
            return
        if self.session is None:
            if message.type != "hello":
                await self.send_error("not_ready", "Send hello with the session grant first.", "type")
                return
            await self._hello(message)
            return
        if message.type == "hello":
            await self.send_error("duplicate_hello", "This socket already said hello.", "type")
            return
        if message.type == "stop":
            await self._stop(message)
            return
        if message.type == "take_seat":
            await self._take_seat()
            return
        if not self.sharing and message.type not in DORMANT_TYPES:
            await self.send_error("dormant", "This tab is not sharing: send take_seat to share it.", "type")
            return
        if self.session.past_deadline() and not await self._within_deadline():
            return  # the session ended on its maximum: this frame is not relayed
        decision = policy.check(self.session, policy.ROLE_CUSTOMER, message.type)
        if not decision.allowed:
            await self.send_error("not_allowed", decision.reason, "type")
            return
        handler = getattr(self, f"_on_{message.type}")
        await handler(message)
        await self._maybe_touch()

    def _assemble(self, part: protocol.Message) -> protocol.Message | None:
        """A large message sent in parts: the whole one once complete (validated like any other)."""
        if self.session is None:
            raise protocol.ProtocolError("not_ready", "Send hello with the session grant first.", "type")
        text = self.assembler.add(part.data)
        if text is None:
            return None
        message = protocol.parse_message(text, protocol.CUSTOMER, limits=protocol.ASSEMBLED_LIMITS)
        if message.type not in ("rrweb", "page"):
            raise protocol.ProtocolError("bad_part", "only rrweb and page messages may come in parts", "type")
        return message

    async def _hello(self, message: protocol.Message) -> None:
        data = message.data
        if not await socket_limits.hello_allowed(self.scope, "customer"):
            await self.send_error("rate_limited", "Too many connection attempts: try again in a minute.")
            await self.close(code=socket_limits.CLOSE_RATE_LIMITED)
            return
        try:
            session = await database_sync_to_async(live.session_for_customer)(
                self.session_id, data["grant"], self.origin
            )
        except live.LiveRefused as exc:
            await self.send_error("refused", exc.message)
            await self.close(code=exc.code)
            return
        except session_services.CoBrowseError as exc:
            await self.send_error("refused", "; ".join(exc.messages))
            await self.close(code=4410)
            return
        self.grant = data["grant"]
        self.page_id = data["page_id"]
        self.tab_id = data["tab_id"]
        self.hello_url = data.get("url", "")
        claim = await relay_state.claim_seat(self.session_id, self.tab_id, self.channel_name)
        if not claim["won"]:
            # Another tab shares: this one waits, and its page asks "Share this tab instead?".
            self.session = session
            await self.channel_layer.group_add(session_group(self.session_id), self.channel_name)
            await self.send_envelope(
                "welcome",
                {
                    "session_id": session.id,
                    "agent_name": session.agent_name,
                    "mode": session.mode,
                    "dormant": True,
                },
            )
            self.tasks.append(asyncio.create_task(self._heartbeat()))
            return
        if claim["previous"]:  # this tab's earlier socket (its previous page) is replaced
            await self.channel_layer.send(claim["previous"], {"type": "customer.seat_moved"})
        if await self._share():
            self.tasks.append(asyncio.create_task(self._heartbeat()))

    async def _take_seat(self) -> None:
        """The customer chose to share this tab instead of the one sharing now."""
        if self.sharing:
            await self.send_error("already_sharing", "This tab already shares.", "type")
            return
        previous = await relay_state.take_seat(self.session_id, self.tab_id, self.channel_name)
        if previous:
            await self.channel_layer.send(previous, {"type": "customer.seat_moved"})
            with contextlib.suppress(Exception):
                await database_sync_to_async(live.customer_moved_tab)(self.session_id)
            await self.channel_layer.group_send(
                agents_group(self.session_id), {"type": "to.agent.presence", "customer": MOVED}
            )
        await self._share()

    async def _share(self) -> bool:
        """This socket holds the seat: the session is active and the page's frames are relayed."""
        try:
            session = await database_sync_to_async(live.customer_connected)(self.session_id)
        except session_services.CoBrowseError as exc:
            with contextlib.suppress(Exception):
                await relay_state.release_seat(self.session_id, self.channel_name)
            await self.send_error("refused", "; ".join(exc.messages))
            await self.close(code=4410)
            return False
        self.session = session
        self.sharing = True
        self.last_touch = time.monotonic()  # connecting recorded activity already
        self._note_page(self.hello_url)
        self.redactor = Redactor(session.selectors)
        last = await relay_state.last_seq(self.session_id, self.page_id)
        self.tracker = protocol.SeqTracker(last)
        self.meter = QualityMeter(self.session_id)
        await self.channel_layer.group_add(session_group(self.session_id), self.channel_name)
        await self.channel_layer.group_add(customer_group(self.session_id), self.channel_name)
        await self.send_envelope(
            "welcome",
            {
                "session_id": session.id,
                "agent_name": session.agent_name,
                "mode": session.mode,
                "recording": session.recording,
                "last_seq": last,
                "redaction_selectors": list(session.selectors),
                "controller": session.controller_name,
                "watching": list(session.watching),
                "dormant": False,
            },
        )
        await relay_state.set_presence(self.session_id, "connected", relay_state.PRESENCE_LEASE_SECONDS)
        if session.recording:
            await self._start_recording()
        # The redactor starts without node state: a fresh full snapshot gives it (and late viewers) one.
        await self.send_envelope("snapshot_request", {"reason": "connected"})
        await self.channel_layer.group_send(
            agents_group(self.session_id),
            {"type": "to.agent.presence", "customer": "connected", "url": self.hello_url},
        )
        self.tasks.append(asyncio.create_task(self._bookkeeping()))
        return True

    async def customer_seat_moved(self, event: dict) -> None:
        """Another socket holds the seat now: stop relaying and recording, tell the page."""
        if not self.sharing:
            return
        self.sharing = False
        self.replaced = True
        self.seq_dirty = False  # the new holder's page keeps the relay's sequence from now on
        await self._stop_recording("seat_moved")
        await self.channel_layer.group_discard(customer_group(self.session_id), self.channel_name)
        await self.send_envelope("seat_moved", {})

    async def _relay(self, message: protocol.Message) -> protocol.Message | None:
        previous = self.tracker.last
        verdict = self.tracker.check(message.seq)
        if verdict == "duplicate":
            await self.send_envelope("ack", {"seq": self.tracker.last})
            return None
        if verdict == "gap":
            # Something between the page and here was lost: a full snapshot makes the view whole.
            if self.meter is not None:
                self.meter.gap(message.seq - previous - 1)
            await self.send_envelope("snapshot_request", {"reason": "gap"})
        assert self.redactor is not None
        redacted = self.redactor.redact_message(message)
        assert isinstance(redacted, protocol.Message)  # a Message in, a Message out
        envelope = {"type": redacted.type, "seq": redacted.seq, "ts": redacted.ts, "data": redacted.data}
        self._record(envelope)
        text = protocol.encode(envelope)
        # Stored before the agents can have it: a node killed after relaying (no disconnect handler
        # runs) must not leave an older number for the page's next hello, or the page would resend
        # frames the agents already applied. Killed between the two, the frame is lost instead, and
        # the console's batch counter finds the hole and asks for a snapshot.
        await self._save_seq(message.seq)
        # The channel layer refuses messages over 1 MB: big snapshots go to the agents in parts.
        texts = (
            [text]
            if len(text) <= protocol.PART_BODY_MAX
            else [protocol.encode(p) for p in protocol.split_parts(text, secrets.token_hex(8), message.seq)]
        )
        for chunk in texts:
            await self.channel_layer.group_send(
                agents_group(self.session_id), {"type": "to.agent.frame", "text": chunk}
            )
        self.ack_due = True  # acknowledged cumulatively by the bookkeeping loop, not one frame each
        return redacted

    async def _on_rrweb(self, message: protocol.Message) -> None:
        page_id = message.data.get("page_id") or self.page_id
        if page_id != self.page_id:
            self.page_id = page_id
        await self._relay(message)
        await self._bound_redactor()

    async def _bound_redactor(self) -> None:
        """A page that removed whole subtrees for a long time leaves their nodes in the redactor's
        state: past a bound, a full snapshot rebuilds it from the page's DOM as it is now. At most
        once per REBUILD_EVERY_S, so a page larger than the bound is not asked over and over."""
        if self.redactor is None or self.redactor.tracked_nodes(self.page_id) <= MAX_TRACKED_NODES:
            return
        now = time.monotonic()
        if now - self.rebuilt_at < REBUILD_EVERY_S:
            return
        self.rebuilt_at = now
        await self.send_envelope("snapshot_request", {"reason": "rebuild"})

    async def _on_page(self, message: protocol.Message) -> None:
        redacted = await self._relay(message)
        self._note_page(message.data.get("url"))
        if redacted is not None:  # the assistant's context: the page as the agents saw it
            await assist_context.page_seen(self.session_id, redacted.data)
            self._assist_page(redacted.data)

    async def _on_signal(self, message: protocol.Message) -> None:
        await self._relay(message)
        kind = str(message.data["kind"])
        self._assist_soon(kind if kind in assist_dispatch.SIGNAL_TRIGGERS else None)
        if page_signals.listening():  # kept for friction analytics, by page and field
            detail = message.data.get("detail")
            signal = page_signals.PageSignal(
                session_id=self.session_id,
                kind=str(message.data["kind"]),
                page_url=self.page_url,
                field=str(message.data.get("field") or ""),
                detail=redact_text(detail)[:200] if isinstance(detail, str) else "",
            )
            await database_sync_to_async(page_signals.report_signal)(signal)

    def _note_page(self, url: object) -> None:
        """The page signals are grouped by: its address without query, identifiers masked."""
        if isinstance(url, str) and url:
            self.page_url = page_signals.page_address(redact_url(url))

    async def _on_pong(self, message: protocol.Message) -> None:
        self.last_pong = time.monotonic()
        if self.pending_ping and str(message.data.get("nonce")) == self.pending_ping[0]:
            self.rtt_ms = (time.monotonic() - self.pending_ping[1]) * 1000
            self.pending_ping = None
            if not self.sharing:  # a tab that does not share is not the customer's connection
                return
            level = quality_level(self.rtt_ms)
            rtt_ms = round(self.rtt_ms)
            if self.meter is not None:
                self.meter.round_trip(self.rtt_ms, level)
            quality = {"level": level, "rtt_ms": rtt_ms}
            now = time.monotonic()
            # Both sides hear of a change at once, and of a steady figure only now and then.
            if level != self.quality_sent or now - self.quality_sent_at >= QUALITY_REFRESH_S:
                self.quality_sent, self.quality_sent_at = level, now
                await relay_state.set_quality(self.session_id, level, rtt_ms)
                await self.send_envelope("quality", quality)
                await self.channel_layer.group_send(
                    agents_group(self.session_id), {"type": "to.agent.quality", **quality}
                )

    async def _on_decision(self, message: protocol.Message) -> None:
        request_id = str(message.data.get("request_id", ""))
        approved = bool(message.data.get("approved"))
        try:
            await database_sync_to_async(live.decide_for_customer)(self.session_id, request_id, approved)
        except live.LiveRefused as exc:
            await self.send_error("unknown_request", exc.message, "data.request_id")
            return
        except session_services.CoBrowseError as exc:
            await self.send_error("not_pending", "; ".join(exc.messages), "data.request_id")
            return
        await self.channel_layer.group_send(
            agents_group(self.session_id),
            {"type": "to.agent.decision", "request_id": request_id, "approved": approved},
        )

    async def _stop(self, message: protocol.Message) -> None:
        with contextlib.suppress(session_services.CoBrowseError):
            await database_sync_to_async(answers.revoke_session)(self.session_id)
        # The session.changed broadcast ends every socket, this one included.

    async def _maybe_touch(self) -> None:
        """Record activity every ~30 s; the interval is jittered so that sockets that connected
        together (a reconnect storm after a restart) do not write together.

        The write runs beside the socket, not in its message loop: database calls queue on one
        thread per process, and a page's frames and pongs must not wait behind that queue (a
        pong held up for 9 s closes the socket as dead, 4408)."""
        now = time.monotonic()
        if now - self.last_touch < self.touch_every or not self.touch_task.done():
            return
        self.last_touch = now
        self.touch_task = asyncio.create_task(self._touch())

    async def _touch(self) -> None:
        try:
            sharing = await database_sync_to_async(live.record_activity)(self.session_id)
        except DatabaseError:  # the database is away (restarting): the relay goes on without it
            logger.warning("could not record activity of session %s", self.session_id)
            return
        if not sharing and not self.closed:
            await self._end((await database_sync_to_async(live.current)(self.session_id)).state)

    async def _within_deadline(self) -> bool:
        """The maximum duration passed as far as this socket knows: a frame ends the session at
        once (never up to TOUCH_EVERY_S later, even with the beat stopped); a deadline that an
        extension moved is re-read."""
        self.last_touch = time.monotonic()
        fresh = await database_sync_to_async(live.touch)(self.session_id)
        if fresh.state not in SHARING_STATES:
            await self._end(fresh.state)
            return False
        self.session = fresh
        return True

    # --- sequence bookkeeping ------------------------------------------------------------------

    async def _bookkeeping(self) -> None:
        """Acknowledge what arrived (cumulative acks, at most twice a second); retry a seq that
        could not be stored when it was relayed."""
        while True:
            await asyncio.sleep(ACK_INTERVAL_S)
            if self.ack_due:
                self.ack_due = False
                await self.send_envelope("ack", {"seq": self.tracker.last})
            await self._flush_seq()

    async def _save_seq(self, seq: int) -> None:
        """The page's last accepted seq into Redis now (one asyncio round trip, off the sync thread)."""
        if not self.page_id:
            return
        try:
            now = time.monotonic()
            if now - self.seq_expiry_at < relay_state.SEQ_EXPIRY_REFRESH_SECONDS:
                await relay_state.note_seq(self.session_id, self.page_id, seq)
            else:
                await relay_state.save_seq(self.session_id, self.page_id, seq)
                self.seq_expiry_at = now
            self.seq_dirty = False
        except Exception:  # Redis away for a moment: keep the number, the bookkeeping loop retries
            self.seq_dirty = True
            logger.warning("could not store the relay sequence of session %s", self.session_id)

    async def _flush_seq(self) -> None:
        if self.seq_dirty:
            await self._save_seq(self.tracker.last)

    # --- liveness ----------------------------------------------------------------------------

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(PING_INTERVAL_S)
            if time.monotonic() - self.last_pong > PONG_DEADLINE_S:
                await self.close(code=4408)
                return
            nonce = secrets.token_hex(4)
            self.pending_ping = (nonce, time.monotonic())
            await self.send_envelope("ping", {"nonce": nonce})
            if self.sharing:
                try:  # the page still answers: renew its presence lease (relay_state.set_presence)
                    await relay_state.set_presence(
                        self.session_id, "connected", relay_state.PRESENCE_LEASE_SECONDS
                    )
                except Exception:
                    logger.warning("could not renew the presence of session %s", self.session_id)
                await self._renew_seat()

    async def _renew_seat(self) -> None:
        """The holder keeps its seat alive; one taken without a word (a lost message) is let go."""
        try:
            held = await relay_state.renew_seat(self.session_id, self.tab_id, self.channel_name)
        except Exception:  # Redis away for a moment: the seat lasts SEAT_TTL_MS, try again
            logger.warning("could not renew the seat of session %s", self.session_id)
            return
        if not held:
            await self.customer_seat_moved({})

    # --- from the group ----------------------------------------------------------------------

    async def session_changed(self, event: dict) -> None:
        if self.session is None:
            return
        if event["state"] not in SHARING_STATES:
            await self._end(event.get("end_reason") or event["state"])
            return
        if not event.get("recording", True):
            await self._stop_recording("recording_withdrawn")  # within the same second
        changed_mode = event["mode"] != self.session.mode
        if changed_mode:
            self._record(
                {"type": "mode", "seq": None, "ts": protocol.now_ms(), "data": {"mode": event["mode"]}}
            )
        self.session = live.LiveSession(
            **{**self.session.__dict__, "mode": event["mode"], "state": event["state"]}
        )
        if changed_mode and self.sharing:  # a dormant tab's page has no guidance to change
            await self.send_envelope("mode", {"mode": event["mode"]})

    async def _end(self, reason: str) -> None:
        if self.ending:  # the broadcast and this socket's own activity write may both see the end
            return
        self.ending = True
        await self._stop_recording(reason)
        ended: dict[str, object] = {"reason": reason}
        url = None
        # The customer shared this page and the session is over: the widget's end card asks how it went.
        if self.sharing:
            self.sharing = False
            with contextlib.suppress(Exception):
                await relay_state.release_seat(self.session_id, self.channel_name)
            try:
                url = await database_sync_to_async(survey.offered_url)(self.session_id)
            except Exception:  # a failed lookup must not keep the socket from saying it ended
                logger.warning("no survey link for session %s", self.session_id, exc_info=True)
        if url:
            ended["survey"] = {"url": url}
        await self.send_envelope("ended", ended)
        self.session = None
        await self.close(code=4000)

    async def customer_mode_request(self, event: dict) -> None:
        await self.send_envelope(
            "mode_request", {"request_id": f"mode:{event['request_id']}", "mode": event["mode"]}
        )

    async def customer_agent_action(self, event: dict) -> None:
        """An agent's click/type/select/autofill: checked against the node, then put to the customer."""
        if self.session is None or self.redactor is None:
            return
        data, user_id = event["data"], event["user_id"]
        facts = self.redactor.node_facts(data["page_id"], data["node_id"])
        reason = _action_refusal(data, facts)
        action = dict(data)
        if facts is not None:
            action.update(
                input_type=facts.input_type,
                autocomplete=facts.autocomplete,
                masked=facts.masked,
                submits=data["kind"] == "click" and facts.submits_on_click,
            )
        if not reason:
            decision = policy.check_action(self.session, action)
            reason = "" if decision.allowed else decision.reason
        request_id = None
        if not reason:
            try:
                request_id = await database_sync_to_async(live.request_action)(
                    self.session_id, user_id, action
                )
            except (live.LiveRefused, session_services.CoBrowseError, PermissionDenied) as exc:
                reason = getattr(exc, "message", "") or "; ".join(getattr(exc, "messages", [])) or str(exc)
        if reason:
            await self.channel_layer.group_send(
                agents_group(self.session_id),
                {"type": "to.agent.refused", "reason": reason, "user_id": user_id},
            )
            await database_sync_to_async(live.log_activity)(
                self.session_id, user_id, "action_refused", action=data["kind"], reason=reason
            )
            return
        outgoing = {k: data[k] for k in ("kind", "node_id", "page_id", "value") if k in data}
        outgoing["agent_name"] = self.session.agent_name
        if request_id is None:  # full control: performed at once, still shown to the customer
            msg_type, step = "action", "action_performed"
            payload = {**outgoing, "request_id": f"full:{secrets.token_hex(6)}"}
        else:
            msg_type, step = "action_request", "action_requested"
            payload = {**outgoing, "request_id": f"action:{request_id}"}
        await self.send_envelope(msg_type, payload)
        self._record({"type": msg_type, "seq": None, "ts": protocol.now_ms(), "data": payload})
        await database_sync_to_async(live.log_activity)(self.session_id, user_id, step, action=data["kind"])
        await self._intervention(data, f"action:{data['kind']}")

    async def _on_action_result(self, message: protocol.Message) -> None:
        await self.channel_layer.group_send(
            agents_group(self.session_id), {"type": "to.agent.action_result", "data": message.data}
        )
        await database_sync_to_async(live.action_result)(
            self.session_id, message.data["request_id"], message.data["ok"]
        )

    async def customer_frame(self, event: dict) -> None:
        """An already validated and authorised message from the agent side."""
        await self.send_envelope(event["msg_type"], event["data"])
        if event["msg_type"] == "snapshot_request" and event["data"].get("reason") == "resync" and self.meter:
            self.meter.resync()  # the agent saw something wrong (a viewer joining is not a repair)
        self._record({"type": event["msg_type"], "seq": None, "ts": protocol.now_ms(), "data": event["data"]})
        if event["msg_type"] == "annotate":
            await self._intervention(event["data"], str(event["data"].get("kind", "")))

    async def _intervention(self, data: dict, detail: str) -> None:
        """Guidance or an action aimed at a form field counts as an intervention on that field
        (friction analytics): only this consumer's redactor knows which field a node is."""
        if not page_signals.listening() or self.redactor is None or "node_id" not in data:
            return
        field = self.redactor.field_key(data.get("page_id"), data["node_id"])
        if not field:
            return
        signal = page_signals.PageSignal(self.session_id, "intervention", self.page_url, field, detail[:200])
        await database_sync_to_async(page_signals.report_signal)(signal)

    # --- the assistant: proposals for the agents, prompts when none is here ---------------------

    def _assist_page(self, page: dict) -> None:
        """A page the rules react to differently than the last one asks for proposals."""
        self.assist.focus = page.get("focused") if isinstance(page.get("focused"), str) else None
        key = assist_dispatch.rule_key(page)
        changed = key is not None and key != self.assist.key
        self.assist.key = key
        if changed:
            self._assist_soon(None)

    def _assist_soon(self, trigger: str | None) -> None:
        """At most one evaluation per PROPOSE_EVERY_S from this socket: a change inside the window
        is evaluated at its end (with the latest page), never dropped."""
        if trigger:
            self.assist.trigger = trigger
        if self.assist.task is not None and not self.assist.task.done():
            return
        delay = max(0.0, self.assist.last_at + assist_dispatch.PROPOSE_EVERY_S - time.monotonic())
        self.assist.task = asyncio.create_task(self._assist_run(delay))
        self.tasks = [task for task in self.tasks if not task.done()] + [self.assist.task]

    async def _assist_run(self, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        self.assist.last_at = time.monotonic()
        trigger, self.assist.trigger = self.assist.trigger, None
        if self.session is None:
            return
        guidance = policy.check(self.session, policy.ROLE_AGENT, "annotate", {"kind": "text"}).allowed
        try:
            # The database and the cache on the shared sync thread, like every other read here; the
            # provider in a thread of its own, holding no connection: a language model may take
            # seconds and must not hold up the other sockets' database work.
            context = await database_sync_to_async(assist_dispatch.prepare)(self.session_id, trigger=trigger)
            if context is None:
                return
            raw = await asyncio.to_thread(propose, context)
            outcome = await database_sync_to_async(assist_dispatch.decide)(
                self.session_id, context, raw, trigger=trigger, guidance_allowed=guidance
            )
        except Exception:  # the assistant is never a reason to disturb the session
            logger.warning("the assistant failed for session %s", self.session_id, exc_info=True)
            return
        if outcome.assist is not None:
            await self.channel_layer.group_send(
                agents_group(self.session_id), {"type": "to.agent.assist", "data": outcome.assist}
            )
        if outcome.prompt is not None and self.session is not None:
            await self._assist_prompt(outcome.prompt)

    async def _assist_prompt(self, prompt: assist_dispatch.CustomerPrompt) -> None:
        """No agent here: the prompt goes to the page as the guidance text an agent would send."""
        data: dict = {"kind": "text", "page_id": self.page_id, "text": prompt.text}
        node_id = (
            self.redactor.node_for_field(self.page_id, prompt.field or self.assist.focus or "")
            if self.redactor is not None
            else None
        )
        if node_id is not None:
            data["node_id"] = node_id
        else:  # no field to point at: the top of the page
            data.update(x=24, y=24)
        await self.send_envelope("annotate", data)
        self._record({"type": "annotate", "seq": None, "ts": protocol.now_ms(), "data": data})
        await database_sync_to_async(live.log_activity)(
            self.session_id, None, "assist_prompt", trigger=prompt.trigger or ""
        )

    # --- recording (only with the customer's recording consent) -------------------------------

    async def _start_recording(self) -> None:
        from recordings.live import open_recorder

        try:
            self.recorder = await open_recorder(self.session_id)
        except Exception:  # a storage problem must not end the customer's session
            logger.exception("could not start recording session %s", self.session_id)
            self.recorder = None
        if self.recorder is None and not self.recording_retry:
            self.recording_retry = True
            self.tasks.append(asyncio.create_task(self._retry_recording()))

    async def _retry_recording(self) -> None:
        """The recording could not be opened: another process still holds its writer lock (a web
        node that died holds it until it lapses) or storage is away. Try again for a while; the
        recording marks the gap when it resumes."""
        from recordings.live import open_recorder

        for _ in range(RECORDING_RETRIES):
            await asyncio.sleep(RECORDING_RETRY_S)
            if not self.sharing or self.recorder is not None or self.session is None:
                return
            if not self.session.recording:
                return
            with contextlib.suppress(Exception):
                self.recorder = await open_recorder(self.session_id)
            if self.recorder is not None:
                return

    def _record(self, envelope: dict) -> None:
        if self.recorder is not None:
            self.recorder.append(envelope)

    async def _stop_recording(self, reason: str) -> None:
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            try:
                await recorder.stop(reason)
            except Exception:
                logger.exception("could not close the recording of session %s", self.session_id)
