"""What the parts of :class:`browser.worker.runner.BrowserSessionRunner` share, declared once.

The runner is split by concern into mixins (``frames``, ``navigation``, ``viewer_input``, ``actions``,
``recording``) that read and write the same state and call each other. Each mixin derives from
:class:`RunnerState` so the type checker knows that state; the runner's ``__init__`` sets it. The
methods one part calls on another are declared here for the checker only: at run time this class
adds nothing, and the runner's MRO finds the real ones first.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from browser import guard
    from browser.framepolicy import FramePolicy
    from browser.screencast import Screencast
    from browser.worker.errors import NeverAllowed
    from cobrowse.models import CoBrowseSession
    from recordings.live import SessionRecorder


class RunnerState:
    """The runner's state, as its parts use it (set in ``BrowserSessionRunner.__init__``)."""

    session_id: int
    layer: Any  # a Channels layer (Channels ships no types)
    policy: FramePolicy
    context: Any  # Playwright's BrowserContext and Page, used through their dynamic API
    page: Any
    screencast: Screencast | None
    url: str
    title: str
    loading: bool
    frame_number: int
    first_frame_at: float | None
    last_activity: float
    last_frame_at: float | None
    end_reason: str
    _latest: tuple[bytes, dict[str, Any]] | None
    _last_published: dict[str, Any] | None
    _frame_ready: asyncio.Event
    _action_lock: asyncio.Lock
    _sent_times: deque[float]
    _blocked_hosts: set[str]
    _recent_requests: dict[tuple[str, int], float]
    _unclaimed: dict[tuple[str, int], tuple[float, str]]
    _viewport: dict[str, int]
    session: CoBrowseSession | None  # the row as loaded (account origins and selectors for the never-list)
    selectors: tuple[str, ...]
    recorder: SessionRecorder | None
    _action_times: deque[float]
    _recorded_seq: int
    _gate_token: str
    last_allowed_url: str
    _navigation_logged: dict[str, float]
    _navigation_refusals: int

    if TYPE_CHECKING:
        # Defined by the runner or by another part.

        def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]: ...

        async def _status(self, **extra: Any) -> None: ...

        def snapshot(self) -> dict[str, Any]: ...

        def _allowed(self, url: str) -> bool: ...

        def _count_action(self) -> None: ...

        async def _guard(
            self, kind: str, action: dict[str, Any], *, customer_holder: bool = False
        ) -> guard.Facts | None: ...

        async def _perform(self, action: dict[str, Any], *, guarded: bool = False) -> dict[str, Any]: ...

        async def _log_refusal(self, kind: str, refused: NeverAllowed, actor_id: Any) -> None: ...

        def _record_action(
            self, kind: str, action: dict[str, Any], outcome: str, *, target: str = ""
        ) -> None: ...
