"""The runner's page events: navigations judged by the session's rule, popups, egress refusals.

Part of :class:`browser.worker.runner.BrowserSessionRunner` (a mixin). The navigation guard
(``guard.NavigationGuard``, registered per context by the host) refuses top-level navigations before
they leave; this side tells the viewers and the activity feed, keeps one shared tab (popups are
closed or taken over) and matches the egress proxy's refusals to this session's own requests.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any
from urllib.parse import urlsplit

from channels.db import database_sync_to_async

from browser import guard, services
from browser.egress_proxy import Refusal
from browser.worker.errors import NeverAllowed
from browser.worker.state import RunnerState

logger = logging.getLogger(__name__)

SETTLE_TIMEOUT_MS = 3000
NAV_TIMEOUT_MS = 15000
NAVIGATION_LOG_EVERY_S = 2.0


class NavigationMixin(RunnerState):
    """Page events: where the page went, whether it may be there, what the proxy refused."""

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


def _origin_of(url: str) -> str:
    """``scheme://host:port`` only: no path, no query (they may carry personal data)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"[:200] if parts.scheme else ""
