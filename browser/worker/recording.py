"""The runner's part of the session recording: frames go in as published, actions as codes.

Part of :class:`browser.worker.runner.BrowserSessionRunner` (a mixin). The recorder comes from
``recordings.live`` and is opened only for sessions that record; an action is kept as its kind, a
description of its target and its outcome, never typed text or a URL's query.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any
from urllib.parse import urlsplit

from browser.worker.state import RunnerState

logger = logging.getLogger(__name__)


class RecordingMixin(RunnerState):
    """Open, append to and close the session's recorder."""

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


def _origin_path(url: str) -> str:
    from cobrowse.masking import redact_url

    parts = urlsplit(url)
    return redact_url(f"{parts.scheme}://{parts.netloc}{parts.path}") if parts.scheme else ""
