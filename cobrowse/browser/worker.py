"""The server-side browser runner: one isolated context per session in a shared Chromium.

:class:`BrowserHost` is one per worker process: Playwright, one Chromium launched through the
process's in-process :class:`EgressProxy`, admission (contexts per worker, host memory).
:class:`BrowserSessionRunner` owns one session: its context and page, the screencast, the frame
policy, and the channel-layer conversation (requests and input in, frames and status out). It is a
plain coroutine so tests run it in-process; the Celery task only wraps it.
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
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from cobrowse.browser import guard, redaction, selectors, services
from cobrowse.browser.egress_proxy import EgressProxy, Refusal
from cobrowse.browser.framepolicy import DEFAULT_MAX_BYTES_PER_SECOND, FramePolicy, QualityLevel, Verdict
from cobrowse.browser.launch import browser_launch_options, context_options, harden_context
from cobrowse.browser.screencast import Screencast
from cobrowse.browser.urlguard import UrlRefused, check_url
from cobrowse.groups import browser_control_group, browser_viewers_group, session_group
from cobrowse.models import SHARING_STATES, EndReason, ParticipantRole, SessionState

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 900 * 1024  # the channel layer refuses messages over 1 MB
HOUSEKEEPING_S = 1.0
REFRESH_EVERY_S = 5.0
TOUCH_EVERY_S = 30.0
SETTLE_TIMEOUT_MS = 3000
NAV_TIMEOUT_MS = 15000
ELEMENT_TIMEOUT_MS = 5000
RATE_WINDOW_S = 1.0
GATE_CALL_TIMEOUT_S = 1.0
NAVIGATION_LOG_EVERY_S = 2.0

#: Viewer input that may submit a form: the customer's own runs with the page's submit gate open.
GATED_INPUT_KINDS = frozenset({"click", "dblclick", "key", "text"})


class NeverAllowed(Exception):
    """An action on the never-list; it was not performed."""

    def __init__(self, reason: str, target: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.target = target


class NavigationRefused(NeverAllowed):
    """The navigation an action led to was refused by the navigation guard (already reported)."""


class TooFast(Exception):
    """More actions this second than the session allows; not performed."""


class NoCapacity(Exception):
    """This worker takes no further session (contexts or memory); ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def memory_percent() -> float:
    """Share of the host's memory in use (MemAvailable counts as free), from /proc/meminfo."""
    try:
        with open("/proc/meminfo") as fh:
            info = {line.split(":")[0]: int(line.split()[1]) for line in fh if ":" in line}
        return 100.0 * (info["MemTotal"] - info["MemAvailable"]) / info["MemTotal"]
    except (OSError, KeyError, ValueError, ZeroDivisionError):
        return 0.0


class BrowserHost:
    """Playwright, one Chromium and one egress proxy for this process; contexts handed to runners."""

    def __init__(self, *, max_contexts: int | None = None, max_memory_percent: float | None = None) -> None:
        self.max_contexts = max_contexts or settings.BROWSER_MAX_CONTEXTS_PER_WORKER
        self.max_memory_percent = max_memory_percent or settings.BROWSER_MAX_MEMORY_PERCENT
        self.proxy: EgressProxy | None = None
        self.browser: Any = None
        self.contexts: set[Any] = set()
        self.refusals: deque[Refusal] = deque(maxlen=100)
        self.refusal_listeners: set[Any] = set()
        self.navigation = guard.NavigationGuard()
        self._pw: Any = None
        self._launch_lock = asyncio.Lock()
        self._context_lock = asyncio.Lock()

    async def start(self) -> BrowserHost:
        from playwright.async_api import async_playwright

        self._pw = await async_playwright().start()
        self.proxy = await EgressProxy(on_refusal=self._on_refusal).start()
        await self.ensure_browser()
        return self

    async def ensure_browser(self, *, replacing: Any = None) -> Any:
        """The shared Chromium, relaunched if it died.

        ``replacing``: a browser the caller found closed (a CDP call failed with "target closed")
        before Playwright noticed the disconnect; it is relaunched unless another runner already
        did so.
        """
        async with self._launch_lock:
            gone = replacing is not None and replacing is self.browser
            if gone or self.browser is None or not self.browser.is_connected():
                assert self.proxy is not None and self._pw is not None
                if gone:
                    with contextlib.suppress(Exception):
                        await replacing.close()
                self.contexts.clear()
                self.browser = await self._pw.chromium.launch(**browser_launch_options(self.proxy.port))
                await self.navigation.attach(self.browser)  # before any context exists
            return self.browser

    def _on_refusal(self, refusal: Refusal) -> None:
        """One proxy serves every context: each runner claims the refusals its own pages caused."""
        self.refusals.append(refusal)
        for listener in list(self.refusal_listeners):
            with contextlib.suppress(Exception):
                listener(refusal)

    def admit(self) -> None:
        if len(self.contexts) >= self.max_contexts:
            raise NoCapacity("contexts")
        if memory_percent() > self.max_memory_percent:
            raise NoCapacity("memory")

    async def new_context(
        self,
        *,
        viewport: dict[str, int],
        navigation: guard.NavigationRule | None = None,
        on_navigation_refused: guard.NavigationRefused | None = None,
    ) -> Any:
        """A fresh isolated context: own profile, no downloads, no service workers, hardened.

        ``navigation`` judges every top-level navigation in the context (its popups included) before
        the request leaves; registered before the context has a page, so nothing runs unjudged.
        """
        self.admit()
        browser = await self.ensure_browser()
        try:
            context, created = await self._context_with_id(browser, viewport)
        except Exception as exc:
            if type(exc).__name__ != "TargetClosedError":
                raise
            # The browser died a moment ago and Playwright has not noticed yet: relaunch, once.
            browser = await self.ensure_browser(replacing=browser)
            context, created = await self._context_with_id(browser, viewport)
        if len(created) != 1:
            await context.close()
            raise RuntimeError("the new browser context could not be told apart")
        context_id = created.pop()
        self.navigation.register(context_id, navigation, on_navigation_refused)
        self.contexts.add(context)

        def closed(*_: Any) -> None:
            self.contexts.discard(context)
            self.navigation.forget(context_id)

        context.on("close", closed)
        await harden_context(context)
        return context

    async def _context_with_id(self, browser: Any, viewport: dict[str, int]) -> tuple[Any, set[str]]:
        async with self._context_lock:  # the new context is the one id that was not there before
            before = await self.navigation.context_ids()
            context = await browser.new_context(**context_options(), viewport=viewport)
            created = (await self.navigation.context_ids()) - before
        return context, created

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.browser is not None:
                await self.browser.close()
        if self.proxy is not None:
            await self.proxy.close()
        if self._pw is not None:
            with contextlib.suppress(Exception):
                await self._pw.stop()
        self.browser = self._pw = self.proxy = None

    async def __aenter__(self) -> BrowserHost:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


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


_OUTLINE_JS = """
([maxText, selectors]) => {
  const visible = el => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none"; };
  const matches = el => selectors.some(s => {
    try { return el.closest(s) !== null; } catch (e) { return false; } });
  const sensitive = el => matches(el) || el.closest("[data-sensitive],[data-pii]") !== null;
  const labelOf = el => { if (el.labels && el.labels.length) return el.labels[0].innerText.trim();
    return (el.getAttribute("aria-label") || "").trim(); };
  const full = document.body ? document.body.innerText : "";
  const links = [...document.querySelectorAll("a[href]")].filter(visible).slice(0, 200).map((a, i) => ({
    index: i,
    text: sensitive(a) ? "" : (a.innerText || a.getAttribute("aria-label") || "").trim().slice(0, 200),
    href: a.href }));
  const inputs = [...document.querySelectorAll("input, textarea, select")]
    .filter(el => el.type !== "hidden" && visible(el)).slice(0, 200).map((el, i) => ({
      index: i, tag: el.tagName.toLowerCase(), type: el.type || "", name: el.name || "", id: el.id || "",
      label: labelOf(el), placeholder: el.placeholder || "", value: el.value || "",
      autocomplete: el.autocomplete || "", sensitive: sensitive(el) }));
  const buttonSelector = "button, input[type=submit], input[type=button], [role=button]";
  const buttons = [...document.querySelectorAll(buttonSelector)]
    .filter(visible).slice(0, 200).map((b, i) => ({
      index: i, text: (b.innerText || b.value || b.getAttribute("aria-label") || "").trim().slice(0, 200) }));
  return { url: location.href, title: document.title, text: full.slice(0, maxText),
           text_truncated: full.length > maxText, links, inputs, buttons };
}
"""


class BrowserSessionRunner:
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
        self.context: Any = None
        self.page: Any = None
        self.screencast: Screencast | None = None
        self.url = ""
        self.title = ""
        self.loading = False
        self.browser_state = "starting"
        self.recoveries = 0
        self.frame_number = 0
        self.first_frame_at: float | None = None
        self.started_at = time.monotonic()
        self.last_activity = time.monotonic()
        self.last_frame_at: float | None = None
        self.end_reason = ""
        self._latest: tuple[bytes, dict[str, Any]] | None = None
        self._last_published: dict[str, Any] | None = None
        self._frame_ready = asyncio.Event()
        self._crashed = asyncio.Event()
        self._stop = asyncio.Event()
        self._stop_why: _Stop | None = None
        self._closing = False
        self._action_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task] = set()
        self._sent_times: deque[float] = deque(maxlen=200)
        self._blocked_hosts: set[str] = set()
        self._recent_requests: dict[tuple[str, int], float] = {}
        self._unclaimed: dict[tuple[str, int], tuple[float, str]] = {}
        self._last_touch = 0.0
        self._touched_activity = self.last_activity
        self._viewport = dict(self.config.viewport)
        self.session: Any = None  # the row as loaded (account origins and selectors for the never-list)
        self.selectors: tuple[str, ...] = ()
        self.recorder: Any = None
        self._action_times: deque[float] = deque()
        self._recorded_seq = 0
        self._gate_token = ""  # opens the context's submit backstop (guard.submit_backstop_script)
        self.last_allowed_url = ""
        self._navigation_logged: dict[str, float] = {}
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
                    logger.info("browser session %s: start page failed: %s", self.session_id, _short(exc))
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

    def _spawn(self, coro: Any) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- frames ------------------------------------------------------------------------------

    def _on_frame(self, data: bytes, metadata: dict[str, Any]) -> None:
        self._latest = (data, metadata)  # only the newest: a slow publisher never builds a queue
        self._frame_ready.set()

    async def _publish_loop(self) -> None:
        meta: dict[str, Any] = {}
        while True:
            delay = self.policy.flush_delay(time.monotonic())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(None if delay == float("inf") else delay):
                    await self._frame_ready.wait()
            now = time.monotonic()
            if self._frame_ready.is_set():
                self._frame_ready.clear()
                assert self._latest is not None
                data, meta = self._latest
                if self.policy.offer(data, now) is Verdict.SEND:
                    await self._publish(data, meta)
            else:
                pending = self.policy.flush(now)
                if pending is not None:
                    await self._publish(pending, meta)

    async def _publish(self, data: bytes, meta: dict[str, Any]) -> None:
        if len(data) > MAX_FRAME_BYTES:
            await self._set_level(min(self.policy.level_index + 1, len(self.policy.levels) - 1))
            return
        now = time.monotonic()
        if self.first_frame_at is None:
            self.first_frame_at = now
        self.last_frame_at = time.time()
        self._sent_times.append(now)
        self.frame_number += 1
        message = {
            "type": "browser.frame",
            "data": data,
            "n": self.frame_number,
            "width": int(meta.get("deviceWidth") or self._viewport["width"]),
            "height": int(meta.get("deviceHeight") or self._viewport["height"]),
            "level": self.policy.level.name,
        }
        self._last_published = message
        try:
            await self.layer.group_send(browser_viewers_group(self.session_id), message)
        except Exception:
            logger.warning("browser session %s: frame not published", self.session_id, exc_info=True)
            return
        if self.recorder is not None:
            self.recorder.append_frame(data, int(self.last_frame_at * 1000))  # the recorder keeps ≤ 2/s

    async def _set_level(self, index: int) -> None:
        current = self.screencast.level if self.screencast else None
        if index == self.policy.level_index and current == self.policy.level:
            return
        self.policy.level_index = index
        await self._apply_level(self.policy.level)

    async def _apply_level(self, level: QualityLevel) -> None:
        """Restart the screencast at ``level`` (a new size for a lagging viewer, or a new JPEG
        quality for the byte budget). Cheap: stop + start take 2-15 ms, and Chromium sends the
        current picture 10-30 ms later, once, even on a still page. So the frame the policy holds
        from the old settings is dropped first (not sent as a second copy of that picture), and
        before the restart, so the fresh frame is never the one dropped."""
        self.policy.restarted(time.monotonic())
        if self.screencast is not None:
            with contextlib.suppress(Exception):
                await self.screencast.restart(level)
        await self._status()

    async def _adapt(self, now: float) -> None:
        """Both ladders (size for a lagging viewer first, then quality for the byte budget): at
        most one change a second for the size, one per 2 s for the quality."""
        level = self.policy.adapt(now)
        if level is not None:
            await self._apply_level(level)

    def fps(self) -> float:
        now = time.monotonic()
        recent = [t for t in self._sent_times if now - t <= 5.0]
        return round(len(recent) / 5.0, 1)

    # --- page events -------------------------------------------------------------------------

    def _on_navigated(self, frame: Any) -> None:
        if self.page is None or frame != self.page.main_frame:
            return
        self.url = frame.url
        self.loading = True
        if self._allowed(self.url):
            self.last_allowed_url = self.url
        elif urlsplit(self.url).scheme in ("http", "https"):
            # The navigation guard refuses these before they leave; should one ever commit anyway,
            # the page goes back to the last allowed page at once.
            self._on_navigation_refused(self.url, guard.navigation_refusal(self.session, self.url))
            self._spawn(self._return_to_allowed(self.page))
        self._spawn(self._status())

    # --- top-level navigation (guard.NavigationGuard) -----------------------------------------

    def _navigation_refusal(self, url: str) -> str:
        """The session's rule for every top-level navigation in this context, redirects and popups."""
        if self.session is None:
            return "the session is not loaded"
        return guard.navigation_refusal(self.session, url)

    def _allowed(self, url: str) -> bool:
        return self.session is not None and not guard.navigation_refusal(self.session, url)

    def _on_navigation_refused(self, url: str, reason: str) -> None:
        """A navigation the page started was refused: the viewers and the activity feed are told."""
        self._navigation_refusals += 1
        parts = urlsplit(url)
        host = parts.hostname or ""
        self._spawn(self._status(blocked={"host": host, "reason": reason, "kind": "navigation"}))
        origin = _origin_of(url)
        now = time.monotonic()
        if now - self._navigation_logged.get(origin, -60.0) < NAVIGATION_LOG_EVERY_S:
            return  # a page that retries in a loop fills no feed
        if len(self._navigation_logged) > 100:
            self._navigation_logged.clear()
        self._navigation_logged[origin] = now
        logger.info("browser session %s: navigation to %s refused", self.session_id, host)
        refused = NeverAllowed(reason, origin)
        self._spawn(self._log_refusal("navigate", refused, None))

    async def _return_to_allowed(self, page: Any) -> None:
        target = self.last_allowed_url
        if not target or page is not self.page:
            return
        with contextlib.suppress(Exception):
            await page.goto(target, wait_until="domcontentloaded", timeout=NAV_TIMEOUT_MS)

    def _on_popup(self, popup: Any) -> None:
        """One shared tab: a popup (``window.open``, ``target=_blank``) is closed; one that reached an
        allowed page is opened in the shared tab instead. Its navigations met the guard already."""
        if popup is self.page:
            return
        self._spawn(self._take_over_popup(popup))

    async def _take_over_popup(self, popup: Any) -> None:
        url = ""
        with contextlib.suppress(Exception):
            await popup.wait_for_load_state("commit", timeout=SETTLE_TIMEOUT_MS)
            url = popup.url
        with contextlib.suppress(Exception):
            await popup.close()
        page = self.page
        if page is None or not self._allowed(url):
            return
        async with self._action_lock:
            with contextlib.suppress(Exception):
                await page.goto(url, wait_until="domcontentloaded", timeout=NAV_TIMEOUT_MS)

    async def _on_load(self) -> None:
        if self.page is None:
            return
        self.loading = False
        with contextlib.suppress(Exception):
            self.title = await self.page.title()
        await self._status()

    def _on_request(self, request: Any) -> None:
        parts = urlsplit(request.url)
        if parts.hostname:
            port = parts.port or {"https": 443, "wss": 443}.get(parts.scheme, 80)
            now = time.monotonic()
            self._recent_requests[(parts.hostname, port)] = now
            if len(self._recent_requests) > 500:
                self._recent_requests.clear()
            # The proxy may refuse before Playwright delivers the request event: match late too.
            refused = self._unclaimed.pop((parts.hostname, port), None)
            if refused is not None and now - refused[0] < 30:
                self._blocked(request.url, refused[1])

    def _on_refusal(self, refusal: Refusal) -> None:
        asked = self._recent_requests.get((refusal.host, refusal.port or 80))
        now = time.monotonic()
        if asked is not None and now - asked < 30:
            self._blocked(f"http://{refusal.host}/", refusal.reason)
        elif len(self._unclaimed) < 100:
            self._unclaimed[(refusal.host, refusal.port or 80)] = (now, refusal.reason)

    def _on_response(self, response: Any) -> None:
        if response.status == 403 and response.headers.get("x-tandem-egress"):
            self._blocked(response.url, response.headers.get("x-tandem-egress", ""))

    def _on_request_failed(self, request: Any) -> None:
        failure = request.failure or ""
        if "ERR_TUNNEL_CONNECTION_FAILED" in failure:
            self._blocked(request.url, "refused by the egress proxy")

    def _blocked(self, url: str, reason: str) -> None:
        host = urlsplit(url).hostname or ""
        self._spawn(self._status(blocked={"host": host, "reason": reason}))
        if host in self._blocked_hosts or len(self._blocked_hosts) > 50:
            return
        self._blocked_hosts.add(host)
        self._spawn(database_sync_to_async(services.report_blocked)(self.session_id, host, reason))

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

    async def _handle_viewer(self, message: dict[str, Any]) -> None:
        viewer = str(message.get("viewer", ""))
        event = message.get("event")
        now = time.monotonic()
        if event == "leave":
            self.policy.viewer_left(viewer)
            return
        self.policy.viewer_report(
            viewer, lag=int(message.get("lag", 0)), dropped=int(message.get("dropped", 0)), now=now
        )
        if event == "join":
            await self.layer.send(viewer, {"type": "browser.status", **self.snapshot()})
            if self._last_published is not None:
                await self.layer.send(viewer, self._last_published)  # a late viewer sees the page at once

    async def _handle_input(self, message: dict[str, Any]) -> None:
        """Viewer input (authorised and validated by the consumer). Refusals go back to the sender.

        The customer's own input while the customer holds the browser meets only the customer's part
        of the never-list and runs with the page's submit gate open; everyone else's meets all of it.
        """
        page = self.page
        if page is None:
            return
        self.last_activity = time.monotonic()
        kind = str(message.get("kind", ""))
        sender = str(message.get("sender", ""))
        try:
            if kind != "move":
                self._count_action()
            async with asyncio.timeout(5):
                async with self._action_lock:
                    customer = await self._from_customer_holder(kind, message)
                    await self._guard(kind, message, customer_holder=customer)
                    async with self._submit_gate(customer and kind in GATED_INPUT_KINDS):
                        if kind in ("click", "dblclick"):
                            await page.mouse.click(
                                float(message["x"]),
                                float(message["y"]),
                                button=message.get("button", "left"),
                                click_count=2 if kind == "dblclick" else 1,
                            )
                        elif kind == "move":
                            await page.mouse.move(float(message["x"]), float(message["y"]))
                        elif kind == "wheel":
                            await page.mouse.wheel(float(message.get("dx", 0)), float(message.get("dy", 0)))
                        elif kind == "key":
                            await page.keyboard.press(str(message["key"]))
                        elif kind == "text":
                            await page.keyboard.insert_text(str(message["text"]))
                        elif kind in ("goto", "back", "forward", "reload", "stop"):
                            await self._perform({"kind": kind, "url": message.get("url", "")}, guarded=True)
            if kind not in ("move", "wheel"):
                self._record_action(kind, message, "ok")
        except TooFast:
            limit = settings.BROWSER_ACTIONS_PER_SECOND
            await self._refuse_input(sender, "rate_limited", f"Too many actions; at most {limit} per second.")
        except NeverAllowed as refused:
            await self._refuse_input(sender, "never_allowed", f"Not done: {refused.reason}.")
            if not isinstance(refused, NavigationRefused):
                await self._log_refusal(kind, refused, message.get("actor_id"))
        except UrlRefused as refused:
            await self._status(blocked={"host": refused.host, "reason": refused.reason})
        except Exception as exc:
            logger.info("browser session %s: input %s failed: %s", self.session_id, kind, _short(exc))

    async def _from_customer_holder(self, kind: str, message: dict[str, Any]) -> bool:
        """The customer's viewer sent this and the customer holds the browser now (the row decides,
        not the message: an input sent just before the agent took the browser back is the agent's
        turn again)."""
        if message.get("role") != ParticipantRole.CUSTOMER or kind not in guard.GUARDED_KINDS:
            return False
        return await database_sync_to_async(services.customer_holds_control)(self.session_id)

    @contextlib.asynccontextmanager
    async def _submit_gate(self, open_it: bool) -> Any:
        """Open the page's submit backstop (every frame) for the customer's input, closed again after."""
        if not open_it or self.page is None or not self._gate_token:
            yield
            return
        page = self.page
        await self._gate_call(page, guard.OPEN_GATE_JS)
        try:
            yield
        finally:
            await asyncio.shield(self._gate_call(page, guard.CLOSE_GATE_JS))

    async def _gate_call(self, page: Any, script: str) -> None:
        """Best effort in every frame: a frame that navigates away has a fresh, closed gate anyway."""
        calls = (f.evaluate(script, self._gate_token) for f in list(page.frames))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(GATE_CALL_TIMEOUT_S):
                await asyncio.gather(*calls, return_exceptions=True)

    async def _refuse_input(self, sender: str, code: str, text: str) -> None:
        if sender:
            with contextlib.suppress(Exception):
                await self.layer.send(sender, {"type": "browser.refused", "code": code, "message": text})

    async def _handle_request(self, message: dict[str, Any]) -> None:
        reply_to, request_id = str(message.get("reply_to", "")), str(message.get("request_id", ""))
        op, payload = message.get("op"), message.get("payload") or {}
        blob = b""
        try:
            async with self._action_lock:
                if self.page is None:
                    raise RuntimeError("the browser is restarting")
                if op == "action":
                    self.last_activity = time.monotonic()
                    self._count_action()
                    kind = str(payload.get("kind", ""))
                    try:
                        result = await self._perform(payload)
                    except NeverAllowed as refused:
                        if not isinstance(refused, NavigationRefused):
                            await self._log_refusal(kind, refused, message.get("actor_id"))
                        raise
                    self._record_action(kind, payload, "ok")
                    if payload.get("screenshot"):
                        blob = await self.page.screenshot(type="png")
                elif op == "probe":
                    kind = str(payload.get("kind", ""))
                    facts = await self._probe(kind, payload)
                    reason = guard.refusal(self.session, kind, payload, facts) if facts else ""
                    result = {"target": facts.describe() if facts else "the page", "never": reason}
                elif op == "screenshot":
                    blob = await self.page.screenshot(type="png")
                    result = {"url": self.page.url}
                elif op == "dom":
                    result = await self.page.evaluate(
                        _OUTLINE_JS, [int(payload.get("max_text", 20000)), list(payload.get("selectors", []))]
                    )
                else:
                    raise ValueError(f"unknown request {op!r}")
            await services.send_reply(self.layer, reply_to, request_id, ok=True, result=result, blob=blob)
        except TooFast:
            limit = settings.BROWSER_ACTIONS_PER_SECOND
            error = {"code": "rate_limited", "message": f"Too many actions; at most {limit} per second."}
            await services.send_reply(self.layer, reply_to, request_id, ok=False, error=error)
        except NeverAllowed as refused:
            text = f"Not done: {refused.reason}."
            error = {"code": "never_allowed", "message": text, "target": refused.target}
            await services.send_reply(self.layer, reply_to, request_id, ok=False, error=error)
        except UrlRefused as refused:
            await self._status(blocked={"host": refused.host, "reason": refused.reason})
            error = {"code": "url_refused", "message": f"This address may not be opened: {refused.reason}."}
            await services.send_reply(self.layer, reply_to, request_id, ok=False, error=error)
        except Exception as exc:
            code = "timeout" if type(exc).__name__ == "TimeoutError" else "failed"
            error = {"code": code, "message": _short(exc)}
            with contextlib.suppress(Exception):
                await services.send_reply(self.layer, reply_to, request_id, ok=False, error=error)

    # --- the never-list, the rate limit and the recording --------------------------------------

    def _count_action(self) -> None:
        """At most BROWSER_ACTIONS_PER_SECOND actions (API and viewer input together) per second."""
        now = time.monotonic()
        while self._action_times and now - self._action_times[0] >= RATE_WINDOW_S:
            self._action_times.popleft()
        if len(self._action_times) >= settings.BROWSER_ACTIONS_PER_SECOND:
            raise TooFast()
        self._action_times.append(now)

    async def _probe(self, kind: str, action: dict[str, Any]) -> guard.Facts | None:
        if kind not in guard.GUARDED_KINDS or kind in guard.NAVIGATION_KINDS:
            return None
        try:
            return await guard.probe(self.page, kind, action, self.selectors)
        except Exception as exc:  # a page that cannot be asked (navigating, crashed) is not acted on
            logger.info("browser session %s: probe failed: %s", self.session_id, _short(exc))
            raise NeverAllowed("the target could not be checked; try again once the page settled") from None

    async def _guard(
        self, kind: str, action: dict[str, Any], *, customer_holder: bool = False
    ) -> guard.Facts | None:
        """Raise :class:`NeverAllowed` for an action on the never-list; nothing is performed then.

        ``customer_holder``: the customer's own input while they hold the browser (see
        :func:`guard.customer_facts`); API actions and the agent's input never pass it.
        """
        if kind not in guard.GUARDED_KINDS:
            return None
        if kind in guard.NAVIGATION_KINDS:
            check_url(str(action.get("url", "")))  # the egress rules first: file:, javascript:, internal
        facts = await self._probe(kind, action)
        reason = guard.refusal(
            self.session, kind, action, facts or guard.Facts(), customer_holder=customer_holder
        )
        if reason:
            raise NeverAllowed(reason, facts.describe() if facts else "")
        return facts

    async def _guard_history_step(self, step: int) -> None:
        """Back and Forward lead to a page of the history: the same origin rules as ``goto``.

        Applies to everyone, the customer holding the browser included (as navigation does).
        """
        cdp = await self.page.context.new_cdp_session(self.page)
        try:
            history = await cdp.send("Page.getNavigationHistory")
        finally:
            with contextlib.suppress(Exception):
                await cdp.detach()
        index = int(history.get("currentIndex", 0)) + step
        entries = history.get("entries") or []
        if not 0 <= index < len(entries):
            return  # nothing there: the browser does nothing
        target = str(entries[index].get("url", ""))
        reason = guard.refusal(self.session, "goto", {"url": target}, guard.Facts(), customer_holder=True)
        if reason:
            raise NeverAllowed(reason, "a page in the history")

    async def _log_refusal(self, kind: str, refused: NeverAllowed, actor_id: Any) -> None:
        from live.services import log_activity

        self._record_action(kind, {}, "never_allowed", target=refused.target)
        actor = int(actor_id) if isinstance(actor_id, int) else None
        with contextlib.suppress(Exception):
            await database_sync_to_async(log_activity)(
                self.session_id,
                actor,
                "browser_refused",
                action=kind,
                reason=refused.reason,
                target=refused.target[:80],
            )

    async def _open_recorder(self) -> None:
        if self.recorder is not None or self.session is None or not self.session.recording:
            return
        from recordings.live import open_recorder

        try:
            self.recorder = await open_recorder(self.session_id)
        except Exception:
            logger.warning("browser session %s: recording did not start", self.session_id, exc_info=True)

    def _record_action(self, kind: str, action: dict[str, Any], outcome: str, *, target: str = "") -> None:
        """Kind, a description of the target and the outcome; never typed text or a URL's query."""
        if self.recorder is None:
            return
        if not target:
            target = _target_label(kind, action)
        self._recorded_seq += 1
        data = {"kind": kind, "target": target, "outcome": outcome, "url": _origin_path(self.url)}
        envelope = {"type": "action", "seq": self._recorded_seq, "ts": int(time.time() * 1000), "data": data}
        with contextlib.suppress(Exception):
            self.recorder.append(envelope)

    async def _close_recorder(self) -> None:
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(15):
                    await recorder.stop(self.end_reason or "ended")

    async def _perform(self, action: dict[str, Any], *, guarded: bool = False) -> dict[str, Any]:
        """One action in the page, after the never-list; returns where the page is afterwards."""
        page = self.page
        kind = str(action.get("kind", ""))
        if not guarded:
            await self._guard(kind, action)
        refusals = self._navigation_refusals
        try:
            await self._act(page, kind, action)
        except Exception as exc:
            if self._navigation_refusals == refusals or isinstance(exc, NeverAllowed):
                raise
            reason = "navigating to another origin is never allowed"
            raise NavigationRefused(reason, "the page it led to") from None
        await self._settle()
        self.url = page.url
        with contextlib.suppress(Exception):
            self.title = await page.title()
        return {"action": kind, "url": self.url, "title": self.title}

    async def _act(self, page: Any, kind: str, action: dict[str, Any]) -> None:
        if kind == "click":
            if action.get("selector"):
                await page.locator(action["selector"]).first.click(timeout=ELEMENT_TIMEOUT_MS)
            else:
                await page.mouse.click(float(action["x"]), float(action["y"]))
        elif kind == "type":
            target = page.locator(action["selector"]).first
            if action.get("clear"):
                await target.fill("", timeout=ELEMENT_TIMEOUT_MS)
            await target.press_sequentially(str(action.get("text", "")), timeout=ELEMENT_TIMEOUT_MS)
        elif kind == "press":
            await page.keyboard.press(str(action["key"]))
        elif kind == "scroll":
            amount = float(action.get("amount", 400))
            dx, dy = {"up": (0, -amount), "down": (0, amount), "left": (-amount, 0), "right": (amount, 0)}[
                action.get("direction", "down")
            ]
            await page.mouse.wheel(dx, dy)
        elif kind == "goto":
            url = check_url(str(action.get("url", "")))  # file:, javascript: … never reach the browser
            await page.goto(url, wait_until="domcontentloaded", timeout=NAV_TIMEOUT_MS)
        elif kind in ("back", "forward"):
            await self._guard_history_step(-1 if kind == "back" else 1)
            if kind == "back":
                await page.go_back(wait_until="domcontentloaded", timeout=NAV_TIMEOUT_MS)
            else:
                await page.go_forward(wait_until="domcontentloaded", timeout=NAV_TIMEOUT_MS)
        elif kind == "reload":
            await page.reload(wait_until="domcontentloaded", timeout=NAV_TIMEOUT_MS)
        elif kind == "stop":
            await page.evaluate("window.stop()")
            if self.loading:  # a stopped page fires no load event: say so here
                self.loading = False
                self._spawn(self._status())
        elif kind == "wait":
            await page.locator(action["selector"]).first.wait_for(
                state="visible", timeout=int(action.get("timeout", 5000))
            )
        else:
            raise ValueError(f"unknown action {kind!r}")

    async def _settle(self) -> None:
        """Let the page react (load, a paint) before answering, bounded."""
        with contextlib.suppress(Exception):
            await self.page.wait_for_load_state("load", timeout=SETTLE_TIMEOUT_MS)
        with contextlib.suppress(Exception):
            await self.page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 50)))")


async def _first(*aws: Any) -> None:
    """Wait until any of the awaitables is done; cancel the rest."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


def _target_label(kind: str, action: dict[str, Any]) -> str:
    """Where an action went, without its content: a selector is the author's, never the customer's."""
    if action.get("selector"):
        return str(action["selector"])[:120]
    if action.get("x") is not None and action.get("y") is not None:
        return f"point {int(float(action['x']))},{int(float(action['y']))}"
    if kind in ("press", "key"):
        return str(action.get("key", ""))[:40]
    if kind == "goto":
        return _origin_path(str(action.get("url", "")))
    return ""


def _origin_of(url: str) -> str:
    """``scheme://host:port`` only: no path, no query (they may carry personal data)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"[:200] if parts.scheme else ""


def _origin_path(url: str) -> str:
    from cobrowse.masking import redact_url

    parts = urlsplit(url)
    return redact_url(f"{parts.scheme}://{parts.netloc}{parts.path}") if parts.scheme else ""


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
