"""CDP screencast of one page: JPEG frames as Chromium paints them, acknowledged without blocking.

Chromium sends the next frame only after the previous one is acknowledged, and the CDP event
handler must not wait for anything (docs/server-side-browser.md, "Screencast and frame policy"):
the ack is fired with ``ensure_future`` and the frame handed to a plain callback, which keeps only
the newest one.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from browser.framepolicy import QualityLevel

logger = logging.getLogger(__name__)

FrameCallback = Callable[[bytes, dict[str, Any]], None]


class Screencast:
    """Start, restart at another quality level, and stop the screencast of a Playwright page."""

    def __init__(self, page: Any, on_frame: FrameCallback) -> None:
        self.page = page
        self.on_frame = on_frame
        self.cdp: Any = None
        self.level: QualityLevel | None = None
        self.frames = 0
        self._acks: set[asyncio.Future] = set()

    async def start(self, level: QualityLevel) -> None:
        if self.cdp is None:
            self.cdp = await self.page.context.new_cdp_session(self.page)
            self.cdp.on("Page.screencastFrame", self._frame)
        self.level = level
        await self.cdp.send(
            "Page.startScreencast",
            {
                "format": "jpeg",
                "quality": level.quality,
                "maxWidth": level.max_width,
                "maxHeight": level.max_height,
                "everyNthFrame": 1,
            },
        )

    async def restart(self, level: QualityLevel) -> None:
        """A new quality or size: Chromium applies it only to a new screencast."""
        if self.cdp is None:
            await self.start(level)
            return
        with contextlib.suppress(Exception):
            await self.cdp.send("Page.stopScreencast")
        await self.start(level)

    async def stop(self) -> None:
        if self.cdp is None:
            return
        with contextlib.suppress(Exception):
            await self.cdp.send("Page.stopScreencast")
        with contextlib.suppress(Exception):
            await self.cdp.detach()
        for ack in list(self._acks):
            ack.cancel()
        self.cdp = None

    def _frame(self, params: dict[str, Any]) -> None:
        cdp = self.cdp
        if cdp is None:
            return
        ack = asyncio.ensure_future(cdp.send("Page.screencastFrameAck", {"sessionId": params["sessionId"]}))
        self._acks.add(ack)
        ack.add_done_callback(self._ack_done)
        self.frames += 1
        try:
            self.on_frame(base64.b64decode(params["data"]), params.get("metadata") or {})
        except Exception:
            logger.exception("screencast frame handler failed")

    def _ack_done(self, ack: asyncio.Future) -> None:
        self._acks.discard(ack)
        if not ack.cancelled() and ack.exception() is not None:
            logger.debug("screencast ack failed: %s", ack.exception())
