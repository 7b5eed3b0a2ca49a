"""One Chromium per browser-worker process, shared by its sessions as isolated contexts.

:class:`BrowserHost` owns Playwright, the process's in-process :class:`EgressProxy` (Chromium's only
way out) and the navigation guard, and admits a new context only while the worker has room
(contexts per worker, host memory). Runners ask it for contexts; they never launch a browser.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any

from django.conf import settings

from browser import guard
from browser.egress_proxy import EgressProxy, Refusal
from browser.launch import browser_launch_options, context_options, harden_context


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
