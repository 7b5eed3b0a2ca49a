"""Who may send what, in which mode (docs/relay.md, "Messages"). The one place for these rules.

Consumers call :func:`check` for every incoming message; services call it before acting. The
answer is a :class:`Decision`; ``needs_approval`` marks an action the customer must approve first
(``controlled`` mode).

Guidance and actions are judged against the capabilities of the person sending them (``holder``:
the participant holding control, not the session's agent): control needs co-browse rights of one's
own, so a hand-over can never lend them to someone without.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from accounts import permissions
from accounts.models import User
from cobrowse.models import SHARING_STATES, ControlMode, SessionState, mode_rank
from cobrowse.protocol import ANNOTATE_KINDS

ROLE_CUSTOMER = "customer"
ROLE_AGENT = "agent"
ROLE_VIEWER = "viewer"
ROLE_TEAM = "team"  # a member of the customer's team: watches, nothing else, ever
ROLES = frozenset({ROLE_CUSTOMER, ROLE_AGENT, ROLE_VIEWER, ROLE_TEAM})

#: Wire protocol message types per sender (docs/relay.md, "Messages").
CUSTOMER_MESSAGE_TYPES = frozenset({"rrweb", "page", "signal", "decision", "pong", "action_result"})
AGENT_MESSAGE_TYPES = frozenset({"annotate", "action", "mode_request", "note", "resync", "ping", "handover"})
#: Viewers watch: they may keep the socket alive, ask for a snapshot and write notes.
VIEWER_MESSAGE_TYPES = frozenset({"note", "resync", "ping"})
#: The customer's team members may only keep the socket alive and ask for a snapshot (no notes:
#: those are internal notes on the ticket).
TEAM_MESSAGE_TYPES = frozenset({"resync", "ping"})

#: Annotation kinds (guided and above): the wire protocol's list, one source of truth.
ANNOTATION_KINDS = ANNOTATE_KINDS
#: Actions that change the page (controlled and above); ``scroll`` is guidance, not control.
CONTROL_ACTIONS = frozenset({"click", "type", "autofill", "select", "navigate"})
GUIDANCE_ACTIONS = frozenset({"scroll"})
#: Never allowed, in any mode.
FORBIDDEN_ACTIONS = frozenset({"submit", "pay", "read", "read_masked", "upload"})
_FORBIDDEN_INPUT_TYPES = frozenset({"password", "file"})
_SENSITIVE_AUTOCOMPLETE_PREFIXES = ("cc-", "one-time-code", "current-password", "new-password")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    needs_approval: bool = False

    def __bool__(self) -> bool:
        return self.allowed


def _deny(reason: str) -> Decision:
    return Decision(False, reason)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _allowed_origins(session: Any) -> set[str]:
    origins = {origin_of(o) or o.rstrip("/").lower() for o in _account_origins(session)}
    if session.target_url:
        origins.add(origin_of(session.target_url))
    return {o for o in origins if o}


def _account_origins(session: Any) -> Iterable[str]:
    account = getattr(session.ticket, "account", None)
    return list(getattr(account, "allowed_origins", None) or [])


def never_reason(session: Any, action: Mapping[str, Any]) -> str:
    """Why an action is on the never-list, or ``""``."""
    kind = str(action.get("kind", "")).lower()
    if kind in FORBIDDEN_ACTIONS:
        return f"'{kind}' is never allowed"
    if action.get("submits") or action.get("form_submit"):
        return "submitting a form is never allowed"
    if action.get("masked") or action.get("sensitive"):
        return "masked fields can never be read or changed"
    input_type = str(action.get("input_type", "")).lower()
    if input_type in _FORBIDDEN_INPUT_TYPES:
        return f"{input_type} fields are never touched"
    autocomplete = str(action.get("autocomplete", "")).lower()
    if autocomplete.startswith(_SENSITIVE_AUTOCOMPLETE_PREFIXES):
        return "payment, password and one-time-code fields are never touched"
    if kind == "navigate":
        url = str(action.get("url", ""))
        if not url or origin_of(url) not in _allowed_origins(session):
            return "navigating to another origin is never allowed"
    return ""


def holder_reason(holder: User | None) -> str:
    """Why this person may not guide or act on a customer's page, or ``""`` (None: not judged here)."""
    if holder is None or permissions.can_start_cobrowse(holder):
        return ""
    return "guiding or acting on a customer's page needs co-browse rights (L2 or above, or a certified L1)"


def check(
    session: Any,
    role: str,
    message_type: str,
    action: Mapping[str, Any] | None = None,
    *,
    holder: User | None = None,
) -> Decision:
    """May this participant send this message type (with this action) in this session, now?

    ``holder`` is the user who would guide or act (for ``annotate`` and ``action``); their own
    co-browse rights are checked, whoever the session's agent is.
    """
    if role not in ROLES:
        return _deny(f"unknown role '{role}'")
    if session.state not in SHARING_STATES:
        if session.state == SessionState.INVITED:
            return _deny("the customer has not consented yet")
        return _deny("the session has ended")
    if role == ROLE_CUSTOMER:
        if message_type in CUSTOMER_MESSAGE_TYPES:
            return Decision(True, "customer message")
        return _deny(f"customers cannot send '{message_type}'")
    if role == ROLE_TEAM:
        if message_type in TEAM_MESSAGE_TYPES:
            return Decision(True, "watching")
        return _deny(f"you are watching only: '{message_type}' is not available to you")
    allowed_types = AGENT_MESSAGE_TYPES if role == ROLE_AGENT else VIEWER_MESSAGE_TYPES
    if message_type not in allowed_types:
        return _deny(f"a {role} cannot send '{message_type}'")
    if message_type in ("annotate", "action") and (reason := holder_reason(holder)):
        return _deny(reason)
    if message_type == "annotate":
        return _check_annotation(session, action)
    if message_type == "action":
        return check_action(session, action or {}, holder=holder)
    return Decision(True, "allowed in every consented mode")


def _check_annotation(session: Any, annotation: Mapping[str, Any] | None) -> Decision:
    if mode_rank(session.mode) < mode_rank(ControlMode.GUIDED):
        return _deny("annotations need guidance mode")
    if session.state == SessionState.RECONNECTING:
        return _deny("the customer is reconnecting")
    kind = str((annotation or {}).get("kind", "highlight")).lower()
    if kind not in ANNOTATION_KINDS:
        return _deny(f"unknown annotation '{kind}'")
    return Decision(True, "guidance allowed")


def check_action(session: Any, action: Mapping[str, Any], *, holder: User | None = None) -> Decision:
    """An agent's action on the customer's page. Never-list first, then who acts, then the mode."""
    reason = never_reason(session, action) or holder_reason(holder)
    if reason:
        return _deny(reason)
    kind = str(action.get("kind", "")).lower()
    if session.state not in SHARING_STATES:
        return _deny("the session has ended")
    if session.state == SessionState.RECONNECTING:
        return _deny("the customer is reconnecting")
    if kind in GUIDANCE_ACTIONS:
        if mode_rank(session.mode) < mode_rank(ControlMode.GUIDED):
            return _deny("scrolling needs guidance mode")
        return Decision(True, "guidance allowed")
    if kind not in CONTROL_ACTIONS:
        return _deny(f"unknown action '{kind}'")
    if session.mode == ControlMode.FULL:
        return Decision(True, "full control")
    if session.mode == ControlMode.CONTROLLED:
        return Decision(True, "needs the customer's approval", needs_approval=True)
    return _deny("actions need control mode")
