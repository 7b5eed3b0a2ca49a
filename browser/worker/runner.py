"""The runner of one server-side browser session, in a context of the worker's shared Chromium.

:class:`BrowserSessionRunner` owns one session: its context and page, the screencast, the frame
policy, and the channel-layer conversation (requests and input in, frames and status out). It is a
plain coroutine so tests run it in-process; the Celery task only wraps it. This module holds its
life cycle (claim the runner seat, open, recover, finish), its status and heartbeat and the receive
loop; the rest is split by concern into mixins: ``frames`` (out to the viewers), ``navigation``
(page events and the navigation rule), ``viewer_input``, ``actions`` (API requests and the
never-list) and ``recording``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections import deque
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from browser import guard, redaction, selectors, services
from browser.framepolicy import DEFAULT_MAX_BYTES_PER_SECOND, FramePolicy
from browser.screencast import Screencast
from browser.worker.actions import ActionsMixin
from browser.worker.errors import short_error
from browser.worker.frames import FramesMixin
from browser.worker.host import BrowserHost, NoCapacity
from browser.worker.navigation import NAV_TIMEOUT_MS, NavigationMixin
from browser.worker.recording import RecordingMixin
from browser.worker.viewer_input import ViewerInputMixin
from cobrowse.browser.urlguard import UrlRefused, check_url
from cobrowse.groups import browser_control_group, browser_viewers_group, session_group
from cobrowse.models import SHARING_STATES, EndReason, SessionState

logger = logging.getLogger(__name__)

HOUSEKEEPING_S = 1.0
REFRESH_EVERY_S = 5.0
TOUCH_EVERY_S = 30.0


@dataclass(frozen=True)
class RunnerConfig:
    idle_timeout: float
    max_fps: float
    viewport: dict[str, int]
    max_recoveries: int
    max_in_flight: int
    max_bytes_per_second: float = DEFAULT_MAX_BYTES_PER_SECOND  # per viewer, while the page changes

    @classmethod
    def from_settings(cls) -> RunnerConfig:
        return cls(
            idle_timeout=float(settings.BROWSER_IDLE_TIMEOUT_SECONDS),
            max_fps=float(settings.BROWSER_MAX_FPS),
            viewport={"width": settings.BROWSER_VIEWPORT_WIDTH, "height": settings.BROWSER_VIEWPORT_HEIGHT},
            max_recoveries=settings.BROWSER_MAX_RECOVERIES,
            max_in_flight=settings.BROWSER_FRAME_MAX_IN_FLIGHT,
            max_bytes_per_second=float(settings.BROWSER_SCREENCAST_MAX_BYTES_PER_SECOND),
        )


class _Stop(Exception):
    def __init__(self, state: str | None, reason: str) -> None:
        super().__init__(reason)
        self.state = state  # None: the session already ended elsewhere
        self.reason = reason


class BrowserSessionRunner(FramesMixin, NavigationMixin, ViewerInputMixin, ActionsMixin, RecordingMixin):
    """Runs one session's browser until the session ends, the browser fails for good, or it is cancelled."""

    def __init__(
        self,
        session_id: int,
        host: BrowserHost,
        *,
        layer: Any = None,
        config: RunnerConfig | None = None,
    ) -> None:
        self.session_id = int(session_id)
        self.host = host
        self.layer = layer or get_channel_layer()
        self.config = config or RunnerConfig.from_settings()
        self.policy = FramePolicy(
            max_fps=self.config.max_fps,
            max_in_flight=self.config.max_in_flight,
            max_bytes_per_second=self.config.max_bytes_per_second,
        )
        self.channel = ""
        self.context = None
        self.page = None
        self.screencast = None
        self.url = ""
        self.title = ""
        self.loading = False
        self.browser_state = "starting"
        self.recoveries = 0
        self.frame_number = 0
        self.first_frame_at = None
        self.started_at = time.monotonic()
        self.last_activity = time.monotonic()
        self.last_frame_at = None
        self.end_reason = ""
        self._latest = None
        self._last_published = None
        self._frame_ready = asyncio.Event()
        self._crashed = asyncio.Event()
        self._stop = asyncio.Event()
        self._stop_why: _Stop | None = None
        self._closing = False
        self._action_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sent_times = deque(maxlen=200)
        self._blocked_hosts = set()
        self._recent_requests = {}
        self._unclaimed = {}
        self._last_touch = 0.0
        self._touched_activity = self.last_activity
        self._viewport = dict(self.config.viewport)
        self.session = None  # the row as loaded (account origins and selectors for the never-list)
        self.selectors = ()
        self.recorder = None
        self._action_times = deque()
        self._recorded_seq = 0
        self._gate_token = ""  # opens the context's submit backstop (guard.submit_backstop_script)
        self.last_allowed_url = ""
        self._navigation_logged = {}
        self._navigation_refusals = 0

    # --- lifecycle ---------------------------------------------------------------------------

    async def run(self) -> str:
        """Run to the end; returns the reason the runner stopped."""
        db = database_sync_to_async
        session = await db(services.load_for_runner)(self.session_id)
        if session.state not in SHARING_STATES:
            return "not_sharing"
        self.session = session
        self.selectors = await db(services.redaction_selectors)(session)
        self.url = session.target_url
        # Taking over from a runner that vanished (its worker died): go on where it was, if allowed.
        previous = await db(selectors.runtime_state)(self.session_id)
        if isinstance(previous.get("url"), str) and self._allowed(previous["url"]):
            self.url = previous["url"]
        self.channel = await self.layer.new_channel("browser-runner.")
        if not await db(services.claim_runner)(self.session_id, self._runner_info()):
            return "already_running"  # another runner drives this session; never two at once
        self._spawn(self._heartbeat_loop())
        await self.layer.group_add(browser_control_group(self.session_id), self.channel)
        await self.layer.group_add(session_group(self.session_id), self.channel)
        receiver = self._spawn(self._receive_loop())
        try:
            try:
                await self._open(self.url)
            except NoCapacity as exc:
                self.browser_state = "no_capacity"
                self.end_reason = "no_capacity"
                await self._status(error=f"no capacity ({exc.reason})")
                await self._save_runtime(error="No browser capacity is free right now.")
                logger.warning("browser session %s refused: no capacity (%s)", self.session_id, exc.reason)
                return "no_capacity"
            await db(services.browser_started)(self.session_id)
            self.browser_state = "live"
            await self._status()
            await self._open_recorder()
            self._spawn(self._publish_loop())
            await self._main_loop()
        except _Stop as stop:
            self.end_reason = stop.reason
            if stop.state is not None:
                await self._finish(stop.state, stop.reason)
        except asyncio.CancelledError:
            self.end_reason = services.BROWSER_LOST
            await asyncio.shield(self._finish(SessionState.ENDED, services.BROWSER_LOST))
            raise
        except Exception:
            logger.exception("browser session %s failed", self.session_id)
            self.end_reason = services.BROWSER_FAILED
            await asyncio.shield(self._finish(SessionState.ENDED, services.BROWSER_FAILED))
        finally:
            receiver.cancel()
            await asyncio.shield(self._cleanup())
        return self.end_reason

    async def _main_loop(self) -> None:
        last_refresh = time.monotonic()
        while True:
            if self._stop.is_set():
                assert self._stop_why is not None
                raise self._stop_why
            if self._crashed.is_set():
                await self._recover()
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(HOUSEKEEPING_S):
                    await _first(self._stop.wait(), self._crashed.wait())
            now = time.monotonic()
            if now - self.last_activity > self.config.idle_timeout:
                raise _Stop(SessionState.TIMED_OUT, EndReason.INACTIVITY)
            await self._adapt(now)
            await self._heartbeat(now)
            if now - last_refresh >= REFRESH_EVERY_S:
                last_refresh = now
                session = await database_sync_to_async(services.refresh)(self.session_id)
                if session.state not in SHARING_STATES:
                    raise _Stop(None, session.end_reason or session.state)

    def stop(self, state: str | None = None, reason: str = "stopped") -> None:
        """Ask the runner to end (from another task); ``state`` None leaves the session row alone."""
        if not self._stop.is_set():
            self._stop_why = _Stop(state, reason)
            self._stop.set()

    async def _open(self, url: str) -> None:
        """A fresh context and page on ``url``, with the screencast running."""
        self.context = await self.host.new_context(
            viewport=self._viewport,
            navigation=self._navigation_refusal,
            on_navigation_refused=self._on_navigation_refused,
        )
        self._gate_token = secrets.token_urlsafe(32)
        await self.context.add_init_script(guard.submit_backstop_script(self._gate_token))
        # Boxes over the masked fields, painted in every document before its own scripts run: what
        # the screencast sends to viewers and the recording never shows what the DOM path masks.
        await self.context.add_init_script(
            redaction.overlay_script(redaction.account_selectors(self.session))
        )
        self.context.on("close", self._on_context_closed)
        self.context.on("request", self._on_request)
        self.host.refusal_listeners.add(self._on_refusal)
        self.page = await self.context.new_page()
        self._watch(self.page)
        self.context.on("page", self._on_popup)  # after the main page's own "page" event
        self.screencast = Screencast(self.page, self._on_frame)
        self.policy.restarted(time.monotonic())  # a frame held from an earlier context is not sent
        await self.screencast.start(self.policy.level)
        if url:
            with contextlib.suppress(UrlRefused):
                url = check_url(url)
                try:
                    await self.page.goto(url, wait_until="domcontentloaded", timeout=NAV_TIMEOUT_MS)
                except Exception as exc:  # an unreachable site still gives a live browser
                    logger.info(
                        "browser session %s: start page failed: %s", self.session_id, short_error(exc)
                    )
        self.url = self.page.url
        if self._allowed(self.url):
            self.last_allowed_url = self.url
        with contextlib.suppress(Exception):
            self.title = await self.page.title()

    def _watch(self, page: Any) -> None:
        page.on("crash", lambda *_: self._crashed.set())
        page.on("close", lambda *_: None if self._closing else self._crashed.set())
        page.on("framenavigated", self._on_navigated)
        page.on("load", lambda *_: self._spawn(self._on_load()))
        page.on("response", self._on_response)
        page.on("requestfailed", self._on_request_failed)

    def _on_context_closed(self, *_: Any) -> None:
        if not self._closing:
            self._crashed.set()

    async def _recover(self) -> None:
        """Crashed page or browser: reconnecting, a fresh context on the last URL, active again."""
        self._crashed.clear()
        self.recoveries += 1
        if self.recoveries > self.config.max_recoveries:
            raise _Stop(SessionState.ENDED, services.BROWSER_FAILED)
        logger.warning("browser session %s: browser lost, recovering (%d)", self.session_id, self.recoveries)
        self.browser_state = "reconnecting"
        await database_sync_to_async(services.browser_reconnecting)(self.session_id)
        await self._status()
        await self._close_page()
        try:
            await self._open(self.url)
        except NoCapacity:
            raise _Stop(SessionState.ENDED, services.BROWSER_FAILED) from None
        self._crashed.clear()
        await database_sync_to_async(services.browser_started)(self.session_id)
        self.browser_state = "live"
        await self._status()

    async def _close_page(self) -> None:
        self._closing = True
        try:
            if self.screencast is not None:
                await self.screencast.stop()
            if self.context is not None:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(5):
                        await self.context.close()
        finally:
            self.context = self.page = self.screencast = None
            self._closing = False

    async def _finish(self, state: str, reason: str) -> None:
        with contextlib.suppress(Exception):
            await database_sync_to_async(services.finish)(self.session_id, state, reason)

    async def _cleanup(self) -> None:
        no_capacity = self.browser_state == "no_capacity"
        if not no_capacity:
            self.browser_state = "ended"
        self.host.refusal_listeners.discard(self._on_refusal)
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(10):
                await self._status()
                await self._close_page()
                extra = {"error": "No browser capacity is free right now."} if no_capacity else {}
                await self._save_runtime(**extra)
                await database_sync_to_async(services.unregister_runner)(self.session_id, self.channel)
                await self.layer.group_discard(browser_control_group(self.session_id), self.channel)
                await self.layer.group_discard(session_group(self.session_id), self.channel)
        await self._close_recorder()

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- status ------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            "browser": self.browser_state,
            "url": self.url,
            "title": self.title,
            "loading": self.loading,
            "quality": self.policy.level.name,
            "fps": self.fps(),
            "viewers": len(self.policy.viewers(time.monotonic())),
        }

    async def _status(self, **extra: Any) -> None:
        with contextlib.suppress(Exception):
            await self.layer.group_send(
                browser_viewers_group(self.session_id),
                {"type": "browser.status", **self.snapshot(), **extra},
            )

    async def _save_runtime(self, **extra: Any) -> None:
        state = {
            **self.snapshot(),
            "last_frame_at": self.last_frame_at,
            "last_activity_at": time.time() - (time.monotonic() - self.last_activity),
            "frames_sent": self.policy.sent,
            "frames_unchanged": self.policy.skipped_unchanged,
            **extra,
        }
        await database_sync_to_async(services.save_runtime)(self.session_id, state)

    def _runner_info(self) -> dict[str, Any]:
        return {"channel": self.channel, "host": socket.gethostname(), "pid": os.getpid(), "at": time.time()}

    async def _heartbeat_loop(self) -> None:
        """Renew the runner seat on its own schedule — also while a page opens or Chromium is
        relaunched, which can take longer than the seat's TTL. Losing the seat stops this runner."""
        while True:
            await asyncio.sleep(services.RUNNER_TTL_SECONDS / 3)
            if not await database_sync_to_async(services.renew_runner)(self.session_id, self._runner_info()):
                logger.warning("browser session %s: another runner took over, stopping", self.session_id)
                self.stop(None, "replaced")
                return

    async def _heartbeat(self, now: float) -> None:
        await self._save_runtime()
        if self.last_activity > self._touched_activity and now - self._last_touch >= TOUCH_EVERY_S:
            self._last_touch, self._touched_activity = now, self.last_activity
            with contextlib.suppress(Exception):
                await database_sync_to_async(services.touch)(self.session_id)

    # --- incoming ----------------------------------------------------------------------------

    async def _receive_loop(self) -> None:
        while True:
            message = await self.layer.receive(self.channel)
            kind = str(message.get("type", ""))
            try:
                if kind == "browser.request":
                    self._spawn(self._handle_request(message))
                elif kind == "browser.input":
                    await self._handle_input(message)
                elif kind == "browser.viewer":
                    await self._handle_viewer(message)
                elif kind == "browser.stop":
                    self.stop(None, EndReason.AGENT_ENDED)
                elif kind == "session.changed" and message.get("state") not in SHARING_STATES:
                    self.stop(None, message.get("end_reason") or str(message.get("state")))
            except Exception:
                logger.exception("browser session %s: message %s failed", self.session_id, kind)


async def _first(*aws: Any) -> None:
    """Wait until any of the awaitables is done; cancel the rest."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
