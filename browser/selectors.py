"""Reads for server-side browser sessions: the session row for a user, and runtime state in the cache.

Runtime state (current URL, title, fps, viewers, last frame) changes several times a second and
lives only while a runner does, so it is kept in the cache, never in the database.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from django.core.cache import cache

from cobrowse.models import SHARING_STATES, CoBrowseSession, SessionKind

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


def runner_key(session_id: int) -> str:
    return f"browser:{int(session_id)}:runner"


def state_key(session_id: int) -> str:
    return f"browser:{int(session_id)}:state"


def launching_key(session_id: int) -> str:
    return f"browser:{int(session_id)}:launching"


def browser_session_for_agent(user: User | AnonymousUser, pk: int) -> CoBrowseSession:
    """The browser session ``pk`` when ``user`` is its agent; ``DoesNotExist`` otherwise (a 404)."""
    session = (
        CoBrowseSession.objects.select_related("ticket__account", "agent", "customer")
        .filter(pk=pk, kind=SessionKind.BROWSER)
        .first()
    )
    if session is None or not getattr(user, "is_authenticated", False) or session.agent_id != user.pk:
        raise CoBrowseSession.DoesNotExist
    return session


def runner_info(session_id: int) -> dict[str, Any] | None:
    """The live runner's registration (channel, worker), or None when no runner holds the session."""
    info: dict[str, Any] | None = cache.get(runner_key(session_id))
    return info


def runtime_state(session_id: int) -> dict[str, Any]:
    return cache.get(state_key(session_id)) or {}


def status(session: CoBrowseSession) -> dict[str, Any]:
    """What ``GET …/status/`` shows: lifecycle from the row, the rest from the runner's state."""
    state = runtime_state(session.pk)
    now = time.time()
    last_activity = state.get("last_activity_at")
    last_frame = state.get("last_frame_at")
    return {
        "id": session.pk,
        "state": session.state,
        "mode": session.mode,
        "end_reason": session.end_reason,
        "browser": state.get("browser", "running" if runner_info(session.pk) else "stopped"),
        "url": state.get("url", ""),
        "title": state.get("title", ""),
        "loading": bool(state.get("loading", False)),
        "idle_seconds": round(now - last_activity, 1) if last_activity else None,
        "fps": state.get("fps", 0.0),
        "viewers": state.get("viewers", 0),
        "quality": state.get("quality", ""),
        "last_frame_age_seconds": round(now - last_frame, 2) if last_frame else None,
        "error": state.get("error", ""),
    }


def sharing_browser_session_ids() -> list[int]:
    """Browser sessions after consent and before their end: each should have a runner."""
    return list(
        CoBrowseSession.objects.filter(kind=SessionKind.BROWSER, state__in=SHARING_STATES)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
