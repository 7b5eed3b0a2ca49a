"""BrowserHost keeps one Chromium per worker: a browser found closed before Playwright noticed the
disconnect is relaunched once, and a browser that is fine is never relaunched behind other sessions."""

from __future__ import annotations

import pytest

from browser.worker import BrowserHost


class TargetClosedError(Exception):
    """Named like Playwright's: the host recognises the failure by its type name."""


class FakeContext:
    def on(self, event, handler) -> None:
        pass

    async def add_init_script(self, script: str) -> None:
        pass


class FakeBrowser:
    def __init__(self, number: int) -> None:
        self.number = number
        self.closed = False

    def is_connected(self) -> bool:
        return True  # Playwright has not seen the disconnect yet

    async def close(self) -> None:
        self.closed = True

    async def new_context(self, **options) -> FakeContext:
        return FakeContext()


class FakeGuard:
    """Context ids as Chromium's browser target reports them; fails like a closed target once."""

    def __init__(self, fail_with: type[Exception] | None) -> None:
        self.fail_with = fail_with
        self.ids: set[str] = set()
        self.attached: list[FakeBrowser] = []

    async def attach(self, browser) -> None:
        self.attached.append(browser)

    async def context_ids(self) -> set[str]:
        if self.fail_with is not None and len(self.attached) == 1:
            raise self.fail_with("CDPSession.send: Target page, context or browser has been closed")
        ids = set(self.ids)
        self.ids.add(f"ctx-{len(self.ids)}")
        return ids

    def register(self, *args) -> None:
        pass

    def forget(self, *args) -> None:
        pass


def _host(fail_with: type[Exception] | None) -> tuple[BrowserHost, list[FakeBrowser]]:
    launched: list[FakeBrowser] = []

    class Chromium:
        async def launch(self, **options) -> FakeBrowser:
            launched.append(FakeBrowser(len(launched) + 1))
            return launched[-1]

    host = BrowserHost(max_contexts=4, max_memory_percent=100)
    host._pw = type("Playwright", (), {"chromium": Chromium()})()
    host.proxy = type("Proxy", (), {"port": 1})()
    host.navigation = FakeGuard(fail_with)
    return host, launched


async def test_a_browser_found_closed_is_relaunched_once():
    host, launched = _host(TargetClosedError)
    await host.ensure_browser()
    context = await host.new_context(viewport={"width": 1280, "height": 720})
    assert isinstance(context, FakeContext)
    assert [b.number for b in launched] == [1, 2] and launched[0].closed
    assert host.browser is launched[1] and host.navigation.attached == launched


async def test_other_failures_do_not_relaunch_a_shared_browser():
    host, launched = _host(RuntimeError)
    await host.ensure_browser()
    with pytest.raises(RuntimeError):
        await host.new_context(viewport={"width": 1280, "height": 720})
    assert len(launched) == 1 and not launched[0].closed
