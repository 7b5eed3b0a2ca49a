"""The runner's actions: API requests, the never-list, the rate limit, and each action in the page.

Part of :class:`browser.worker.runner.BrowserSessionRunner` (a mixin). Requests arrive from the web
processes over the channel layer (``services.arequest``) and are answered with
``services.send_reply``; every action meets the egress rules and the never-list before it reaches
the page, and a refusal is logged to the activity feed and the recording.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from browser import guard, services
from browser.worker.errors import NavigationRefused, NeverAllowed, TooFast, short_error
from browser.worker.navigation import NAV_TIMEOUT_MS, SETTLE_TIMEOUT_MS
from browser.worker.state import RunnerState
from cobrowse.browser.urlguard import UrlRefused, check_url

logger = logging.getLogger(__name__)

ELEMENT_TIMEOUT_MS = 5000
RATE_WINDOW_S = 1.0

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


class ActionsMixin(RunnerState):
    """Requests from the API and the actions they (and navigation input) perform."""

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
            error = {"code": code, "message": short_error(exc)}
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
            logger.info("browser session %s: probe failed: %s", self.session_id, short_error(exc))
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
