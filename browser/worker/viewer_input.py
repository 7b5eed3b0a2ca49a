"""The runner's viewer input: clicks, keys and text from the viewer sockets, after the never-list.

Part of :class:`browser.worker.runner.BrowserSessionRunner` (a mixin). The consumer has already
authorised and validated each input; here it meets the rate limit and the never-list, and the
customer's own input (while the customer holds the browser) runs with the page's submit gate open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from browser import guard, services
from browser.worker.errors import NavigationRefused, NeverAllowed, TooFast, short_error
from browser.worker.state import RunnerState
from cobrowse.browser.urlguard import UrlRefused
from cobrowse.models import ParticipantRole

logger = logging.getLogger(__name__)

GATE_CALL_TIMEOUT_S = 1.0

#: Viewer input that may submit a form: the customer's own runs with the page's submit gate open.
GATED_INPUT_KINDS = frozenset({"click", "dblclick", "key", "text"})


class ViewerInputMixin(RunnerState):
    """Input and presence reports from the viewer sockets."""

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
            logger.info("browser session %s: input %s failed: %s", self.session_id, kind, short_error(exc))

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
