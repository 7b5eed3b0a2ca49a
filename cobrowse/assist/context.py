"""The shared session context: the one object the web session and a voice channel both read.

Shape (docs/assistant.md)::

    {"page": {"url", "title",
              "form_state": {"completion_pct", "current_field_focus",
                             "fields": [{"id", "label", "value", "status", "error", ...}]},
              "stall_duration_ms", "rage_clicks", "scroll_depth_pct"},
     "user": {"id", "crm_data": {...}, "active_call", "call_transcript_last_30s"}}

Each field also carries ``name``, ``type`` and ``masked``: the rules match a field to data on file
by its name and input type too, and must know which fields they may never fill. A masked field's
``value`` is always None.

The page part comes from the session's latest validated ``page`` message, which the relay hands to
:func:`page_seen` after its redactor ran (one Redis write, nothing else). Building the context runs
the server's redactor over it once more with the account's selectors: a field masked by a selector
or whose value matches an identifier pattern loses its value even if the page sent one, whoever
stored the page.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterable
from typing import Any

from accounts import profile
from cobrowse.assist import store, voice
from cobrowse.masking import Redactor, parse_selectors
from cobrowse.models import CoBrowseSession

logger = logging.getLogger(__name__)

#: Friction signals a context can be built for (the relay's ``signal`` kinds).
TRIGGERS = frozenset({"stall", "validation_error", "rage_click", "scroll_thrash", "idle", "exit_intent"})

_redact_lock = threading.Lock()


async def page_seen(session_id: int, page: dict[str, Any]) -> None:
    """The relay saw a (validated, redacted) ``page`` message: keep it as the session's latest.

    A failure is logged and swallowed: the assistant is never a reason to drop a relayed frame.
    """
    try:
        await store.save_page(session_id, page)
    except Exception:
        logger.warning("could not keep the page context of session %s", session_id, exc_info=True)


def usable_selectors(selectors: Iterable[str]) -> tuple[str, ...]:
    """The selectors the server redactor understands (a bad one is skipped, never fatal)."""
    usable = []
    for selector in selectors:
        try:
            parse_selectors([selector])
        except ValueError:
            continue
        usable.append(selector)
    return tuple(usable)


@functools.lru_cache(maxsize=128)
def _redactor(selectors: tuple[str, ...]) -> Redactor:
    """Compiling an account's rules costs up to ~1.4 ms with two presets: once per selector set."""
    return Redactor(usable_selectors(selectors))


def redact_page(page: dict[str, Any], selectors: Iterable[str] = ()) -> dict[str, Any]:
    """The page message with every field the account's selectors or the patterns mask made valueless.

    Stateless: the shared redactor forgets the page at once (the relay's own per-session redactor
    keeps the sticky per-page state).
    """
    redactor = _redactor(tuple(selectors))
    page_id = page.get("page_id") if isinstance(page.get("page_id"), str) else ""
    with _redact_lock:
        try:
            redacted = redactor.redact_page(page)
        finally:
            redactor.forget_page(page_id or "")
    return redacted if isinstance(redacted, dict) else {}


def _number(value: Any, default: float = 0) -> float:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else default


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _field(item: dict[str, Any]) -> dict[str, Any]:
    masked = item.get("masked") is not False
    value = item.get("value")
    return {
        "id": _text(item.get("id")),
        "label": _text(item.get("label")),
        "value": None if masked or not isinstance(value, str) else value,
        "status": _text(item.get("status")),
        "error": _text(item.get("error")),
        "name": _text(item.get("name")),
        "type": _text(item.get("type")),
        "masked": masked,
    }


def empty_page() -> dict[str, Any]:
    return {
        "url": "",
        "title": "",
        "form_state": {"completion_pct": 0, "current_field_focus": None, "fields": []},
        "stall_duration_ms": 0,
        "rage_clicks": 0,
        "scroll_depth_pct": 0,
    }


def page_context(page: dict[str, Any] | None, selectors: Iterable[str] = ()) -> dict[str, Any]:
    """The context's ``page`` part from a ``page`` message (redacted again here)."""
    if not page:
        return empty_page()
    safe = redact_page(page, selectors)
    fields = [_field(f) for f in safe.get("fields") or () if isinstance(f, dict)]
    focused = safe.get("focused")
    return {
        "url": _text(safe.get("url")),
        "title": _text(safe.get("title")),
        "form_state": {
            "completion_pct": _number(safe.get("completion")),
            "current_field_focus": focused if isinstance(focused, str) and focused else None,
            "fields": fields,
        },
        "stall_duration_ms": int(_number(safe.get("stalled_ms"))),
        "rage_clicks": int(_number(safe.get("rage_clicks"))),
        "scroll_depth_pct": _number(safe.get("scroll_depth")),
    }


def build_context(
    page: dict[str, Any] | None,
    *,
    selectors: Iterable[str] = (),
    user_id: int | None = None,
    crm_data: dict[str, str] | None = None,
    call: voice.CallState | None = None,
    trigger: str | None = None,
) -> dict[str, Any]:
    """The shared context from its parts (pure: no I/O). ``trigger`` names the friction signal the
    context answers, when a caller evaluates one the page numbers cannot show (scroll thrash, exit
    intent); it is kept as ``page["trigger"]``."""
    call = call if call is not None else voice.CallState()
    context_page = page_context(page, selectors)
    if trigger in TRIGGERS:
        context_page["trigger"] = trigger
    return {
        "page": context_page,
        "user": {
            "id": user_id,
            "crm_data": {str(k): str(v) for k, v in (crm_data or {}).items() if v not in (None, "")},
            "active_call": bool(call.active),
            "call_transcript_last_30s": list(call.transcript_last_30s),
        },
    }


def session_context(session_id: int, *, trigger: str | None = None) -> dict[str, Any]:
    """The context of one session: its latest page, its customer's data on file and its call.

    Raises ``CoBrowseSession.DoesNotExist`` for an unknown session (a 404 for a view).
    """
    session = CoBrowseSession.objects.select_related("ticket__account", "customer", "ticket__requester").get(
        pk=session_id
    )
    account = session.ticket.account
    customer = session.customer or session.ticket.requester
    return build_context(
        store.load_page(session_id),
        selectors=account.masking_selectors if account else (),
        user_id=customer.pk if customer else None,
        crm_data=profile.crm_data(customer) if customer else {},
        call=voice.call_state(session_id),
        trigger=trigger,
    )
