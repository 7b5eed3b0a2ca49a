"""When the assistant is asked, and what of its answer goes out: rate caps, dedupe, agent presence.

The relay (``live/consumers/customer.py``) calls :func:`rule_key` on every ``page`` message from its
event loop (no I/O): only a change the rules care about — a stall past its threshold, a field in
error past its threshold, a new rage-click burst, idleness — asks for proposals; a friction signal
the page's numbers cannot show (scroll thrash, exit intent) asks too. :func:`evaluate` then runs in
a worker thread (the providers may do I/O; the language model has a timeout) and answers with

* the ``assist`` message for the session's staff, only when the proposals differ from the last
  ones sent for this session (the digest is kept in the cache, so a reconnecting page does not
  repeat them), and at most one evaluation per :data:`PROPOSE_EVERY_S` per session;
* with no agent present, the first prompt for the customer's page (a guidance text), at most one
  per :data:`CUSTOMER_PROMPT_EVERY_S` per session and only when the mode allows guidance.

"Agent present": a participant row of the session's agent, or of whoever holds control, that has
not left (the agent socket joins it at connect and leaves it at disconnect; the admission re-check
clears rows of sockets that died). Viewers and the customer's team do not count: they cannot guide.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings
from django.core.cache import cache
from django.db.models import Q

from cobrowse import protocol
from cobrowse.assist.context import TRIGGERS, session_context
from cobrowse.assist.providers import Thresholds, propose, validate
from cobrowse.models import Participant, ParticipantRole

logger = logging.getLogger(__name__)

PROPOSE_EVERY_S = 2  # at most one evaluation per session this often (cache timeouts are whole seconds)
CUSTOMER_PROMPT_EVERY_S = 30  # with no agent present, at most one prompt to the page this often
#: Friction signals whose trigger the page's numbers cannot show: the context is built for them.
SIGNAL_TRIGGERS = frozenset({"scroll_thrash", "exit_intent"})
MAX_PROMPT_TEXT = protocol.MAX_TEXT_LABEL  # a guidance text on the page holds 200 characters
NO_AGENT_FILL_TEXT = "Need help with this field?"


@dataclass(frozen=True)
class CustomerPrompt:
    text: str
    field: str | None
    trigger: str | None


@dataclass(frozen=True)
class Outcome:
    """What one evaluation sends: ``assist`` data for staff and a prompt for the page (or None)."""

    assist: dict[str, Any] | None = None
    prompt: CustomerPrompt | None = None


def _key(session_id: int, what: str) -> str:
    return f"assist:{int(session_id)}:{what}"


def _number(value: Any) -> float:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else 0


def rule_key(page: Mapping[str, Any], thresholds: Thresholds | None = None) -> tuple | None:
    """What of a ``page`` message the rules react to, or None when none of them would fire.

    Pure and cheap (runs on the relay's event loop for every page message). The same key twice
    means the same situation (a heartbeat of the same stall): nothing to ask.
    """
    limits = thresholds or Thresholds.from_settings()
    stalled = _number(page.get("stalled_ms"))
    focused = page.get("focused") if isinstance(page.get("focused"), str) else None
    fields = [f for f in page.get("fields") or () if isinstance(f, Mapping)]
    errors = (
        tuple(sorted(str(f.get("id")) for f in fields if f.get("status") == "error"))
        if stalled >= limits.error_ms
        else ()
    )
    stall = focused if focused and stalled >= limits.stall_ms else None
    rage = int(_number(page.get("rage_clicks")))
    idle = not focused and stalled >= limits.idle_ms
    if not (errors or stall or rage or idle):
        return None
    return (stall, errors, rage, idle)


def agent_present(session_id: int) -> bool:
    """Whether someone who may guide is connected: the session's agent or the holder of control."""
    return Participant.objects.filter(
        Q(role=ParticipantRole.AGENT) | Q(holds_control=True),
        session_id=session_id,
        left_at__isnull=True,
        user__isnull=False,
    ).exists()


def _masked_ids(context: Mapping[str, Any]) -> set[str]:
    fields = context.get("page", {}).get("form_state", {}).get("fields", ())
    return {f["id"] for f in fields if isinstance(f, Mapping) and f.get("masked")}


def safe_proposals(raw: Any, context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The provider's proposals checked like a model's (known kinds and keys, fields on the page,
    autofills only of unmasked fields with a value on file); a masked field keeps no value."""
    masked = _masked_ids(context)
    out = []
    for proposal in validate(raw if isinstance(raw, list) else [], context):
        if proposal.get("field") in masked and "value" in proposal:
            continue
        out.append(proposal)
    return out


def summary(context: Mapping[str, Any], proposals: list[dict[str, Any]], trigger: str | None) -> dict:
    """What the console says about where the proposals come from."""
    page = context.get("page", {})
    form = page.get("form_state", {})
    first_prompt = next((p for p in proposals if p["kind"] == "prompt"), None)
    field = form.get("current_field_focus") or next((p["field"] for p in proposals if p.get("field")), None)
    return {
        "url": str(page.get("url") or "")[: protocol.MAX_URL],
        "field": field,
        "trigger": trigger or (first_prompt or {}).get("trigger"),
        "completion_pct": min(100, max(0, _number(form.get("completion_pct")))),
        "stall_ms": int(max(0, _number(page.get("stall_duration_ms")))),
    }


def _digest(proposals: list[dict[str, Any]]) -> str:
    return hashlib.sha256(orjson.dumps(proposals, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _ttl() -> int:
    return int(getattr(settings, "ASSIST_CONTEXT_TTL_SECONDS", 3600))


def last_sent(session_id: int) -> dict[str, Any] | None:
    """The last ``assist`` data sent for the session: a console that (re)connects starts from it."""
    stored = cache.get(_key(session_id, "sent"))
    return stored.get("data") if isinstance(stored, dict) else None


def customer_prompt(prompt: Mapping[str, Any], proposals: list[dict[str, Any]]) -> CustomerPrompt:
    """A prompt as the page shows it on its own: an offer to fill a field is the agent's to make
    (nobody is here to do it), so the page gets the plain question instead."""
    field = prompt.get("field")
    text = str(prompt["text"])
    if field and any(p["kind"] == "autofill" and p["field"] == field for p in proposals):
        text = NO_AGENT_FILL_TEXT
    if len(text) > MAX_PROMPT_TEXT:
        text = text[: MAX_PROMPT_TEXT - 1] + "…"
    return CustomerPrompt(text=text, field=field, trigger=prompt.get("trigger"))


def evaluate(session_id: int, *, trigger: str | None = None, guidance_allowed: bool = False) -> Outcome:
    """Ask the provider for the session's current context; what to send (sync, in one thread).

    ``guidance_allowed``: the session's mode lets a guidance text reach the page (the relay asks
    :mod:`cobrowse.policy`, which knows the mode it holds). The relay runs the same three steps
    itself, the provider's call in a thread of its own (:func:`prepare`, :func:`decide`).
    """
    context = prepare(session_id, trigger=trigger)
    if context is None:
        return Outcome()
    return decide(session_id, context, propose(context), trigger=trigger, guidance_allowed=guidance_allowed)


def prepare(session_id: int, *, trigger: str | None = None) -> dict[str, Any] | None:
    """The context to ask about, or None inside the session's rate window (database and cache)."""
    if not cache.add(_key(session_id, "rate"), 1, timeout=PROPOSE_EVERY_S):
        return None
    return dict(session_context(session_id, trigger=trigger if trigger in TRIGGERS else None))


def decide(
    session_id: int,
    context: Mapping[str, Any],
    raw: Any,
    *,
    trigger: str | None = None,
    guidance_allowed: bool = False,
) -> Outcome:
    """What to send for the provider's answer ``raw``: new proposals for the staff, and a prompt for
    the customer when nobody is there (database and cache; the provider is not called here)."""
    proposals = safe_proposals(raw, context)
    if not proposals:
        return Outcome()
    try:
        data = protocol.assist_data(proposals, summary(context, proposals, trigger))
    except protocol.ProtocolError:
        logger.exception("the assistant's proposals for session %s do not fit the protocol", session_id)
        return Outcome()
    digest = _digest(data["proposals"])
    previous = cache.get(_key(session_id, "sent"))
    if isinstance(previous, dict) and previous.get("digest") == digest:
        return Outcome()
    cache.set(_key(session_id, "sent"), {"digest": digest, "data": data}, timeout=_ttl())
    prompt = None
    first = next((p for p in data["proposals"] if p["kind"] == "prompt"), None)
    if (
        first is not None
        and guidance_allowed
        and not agent_present(session_id)
        and cache.add(_key(session_id, "prompted"), 1, timeout=CUSTOMER_PROMPT_EVERY_S)
    ):
        prompt = customer_prompt(first, data["proposals"])
    return Outcome(assist=data, prompt=prompt)
