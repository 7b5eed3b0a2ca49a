"""The runner's screencast output: the newest frame through the frame policy to the viewers.

Part of :class:`browser.worker.runner.BrowserSessionRunner` (a mixin: it uses the runner's policy,
screencast, layer and status). Only the newest frame is kept, so a slow publisher never builds a
queue; a frame too large for the channel layer steps the size down instead of being sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from browser.framepolicy import QualityLevel, Verdict
from browser.worker.state import RunnerState
from cobrowse.groups import browser_viewers_group

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 900 * 1024  # the channel layer refuses messages over 1 MB


class FramesMixin(RunnerState):
    """Frames out: publish, quality and size levels, fps."""

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
