"""The disabled-features switch in real Chromium: it keeps Playwright's list and it takes effect."""

from __future__ import annotations

import os
import re
from collections.abc import Callable

import pytest
from playwright.async_api import async_playwright

from browser.egress_proxy import EgressProxy
from browser.launch import (
    DISABLED_FEATURES,
    DISABLED_FEATURES_ARG,
    TANDEM_DISABLED_FEATURES,
    browser_launch_options,
    context_options,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def _our_browser_cmdline() -> str:
    """The command line of the Chromium browser process below this test process."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    todo = [os.getpid()]
    while todo:
        for child in children.get(todo.pop(), []):
            todo.append(child)
            with open(f"/proc/{child}/cmdline", "rb") as fh:
                cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace")
            if "chrom" in cmdline.split(" ", 1)[0] and "--type=" not in cmdline:
                return cmdline
    raise AssertionError("no Chromium browser process below this one")


async def _launch(adjust: Callable[[list[str]], list[str]]) -> tuple[list[str], str]:
    """Launch as production does (args adjusted), open two sessions; browser-UI targets and cmdline."""
    async with EgressProxy() as proxy, async_playwright() as pw:
        options = browser_launch_options(proxy.port)
        options["args"] = adjust(options["args"])
        browser = await pw.chromium.launch(**options)
        try:
            cmdline = _our_browser_cmdline()
            for _ in range(2):
                context = await browser.new_context(**context_options())
                await context.new_page()
            cdp = await browser.new_browser_cdp_session()
            targets = (await cdp.send("Target.getTargets"))["targetInfos"]
            return [t["url"] for t in targets if t["type"] == "browser_ui"], cmdline
        finally:
            await browser.close()


async def test_playwrights_list_is_kept_and_the_omnibox_popups_are_gone():
    ui, cmdline = await _launch(lambda args: args)
    switches = re.findall(r"--disable-features=(\S+)", cmdline)
    assert switches[-1] == DISABLED_FEATURES_ARG.split("=", 1)[1]  # ours is the one Chromium keeps
    playwright_list = set(switches[0].split(","))
    missing = playwright_list - set(DISABLED_FEATURES)
    assert not missing, f"Playwright disables more features now; add them to launch.py: {missing}"
    assert ui == []  # no omnibox popup WebUI (and its renderer) per window


async def test_without_our_features_each_window_preloads_the_omnibox_popup():
    """Control: the same launch without the Tandem features shows the popups (the test can fail)."""
    without = "--disable-features=" + ",".join(
        f for f in DISABLED_FEATURES if f not in TANDEM_DISABLED_FEATURES
    )
    ui, _ = await _launch(lambda args: [without if a == DISABLED_FEATURES_ARG else a for a in args])
    assert any("omnibox-popup" in url for url in ui)
