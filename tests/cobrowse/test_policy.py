"""cobrowse.policy: the mode table, the never-list, and nothing before consent or after the end.

Pure checks on unsaved sessions (no database needed).
"""

from __future__ import annotations

import pytest

from accounts.models import CustomerAccount
from cobrowse import policy
from cobrowse.models import CoBrowseSession, SessionState
from tickets.models import Ticket


def _session(mode="view_only", state="consented", target="https://app.example.com/apply"):
    account = CustomerAccount(name="A", allowed_origins=["https://app.example.com"])
    ticket = Ticket(number=1, account=account)
    return CoBrowseSession(ticket=ticket, mode=mode, state=state, target_url=target)


MODES = ["view_only", "guided", "controlled", "full"]


@pytest.mark.parametrize("mode", MODES)
def test_customer_message_types_allowed_in_every_mode(mode):
    session = _session(mode)
    for message_type in ("rrweb", "page", "signal", "decision", "pong"):
        assert policy.check(session, "customer", message_type).allowed
    assert not policy.check(session, "customer", "action", {"kind": "click"}).allowed
    assert not policy.check(session, "customer", "annotate").allowed


@pytest.mark.parametrize(
    ("mode", "annotate", "action", "approval"),
    [
        ("view_only", False, False, False),
        ("guided", True, False, False),
        ("controlled", True, True, True),
        ("full", True, True, False),
    ],
)
def test_mode_table(mode, annotate, action, approval):
    session = _session(mode)
    assert policy.check(session, "agent", "annotate", {"kind": "highlight"}).allowed is annotate
    decision = policy.check(session, "agent", "action", {"kind": "click", "target": "node:1"})
    assert decision.allowed is action
    assert decision.needs_approval is approval
    for message_type in ("note", "resync", "ping", "mode_request"):
        assert policy.check(session, "agent", message_type).allowed


def test_scroll_is_guidance():
    assert not policy.check(_session("view_only"), "agent", "action", {"kind": "scroll"}).allowed
    decision = policy.check(_session("guided"), "agent", "action", {"kind": "scroll"})
    assert decision.allowed and not decision.needs_approval


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "action",
    [
        {"kind": "submit"},
        {"kind": "pay"},
        {"kind": "click", "form_submit": True},
        {"kind": "read_masked"},
        {"kind": "type", "masked": True},
        {"kind": "type", "input_type": "password"},
        {"kind": "click", "input_type": "file"},
        {"kind": "autofill", "autocomplete": "cc-number"},
        {"kind": "type", "autocomplete": "one-time-code"},
        {"kind": "navigate", "url": "https://evil.example/steal"},
        {"kind": "navigate", "url": "javascript:alert(1)"},
        {"kind": "navigate"},
    ],
)
def test_never_list_in_every_mode(mode, action):
    decision = policy.check(_session(mode), "agent", "action", action)
    assert not decision.allowed and decision.reason


def test_navigate_within_allowed_origin_in_full():
    decision = policy.check(
        _session("full"), "agent", "action", {"kind": "navigate", "url": "https://app.example.com/x"}
    )
    assert decision.allowed


@pytest.mark.parametrize("state", ["invited", "ended", "denied", "expired", "revoked", "timed_out"])
def test_nothing_before_consent_or_after_end(state):
    session = _session("full", state=state)
    for role, message_type in [
        ("customer", "rrweb"),
        ("agent", "ping"),
        ("agent", "annotate"),
        ("viewer", "note"),
    ]:
        assert not policy.check(session, role, message_type).allowed
    assert not policy.check(session, "agent", "action", {"kind": "click"}).allowed


def test_viewers_only_watch():
    session = _session("full")
    assert policy.check(session, "viewer", "ping").allowed
    assert policy.check(session, "viewer", "note").allowed
    assert not policy.check(session, "viewer", "annotate").allowed
    assert not policy.check(session, "viewer", "action", {"kind": "click"}).allowed
    assert not policy.check(session, "viewer", "mode_request").allowed
    assert not policy.check(session, "intruder", "ping").allowed


def test_reconnecting_pauses_guidance_and_control():
    session = _session("full", state=SessionState.RECONNECTING)
    assert not policy.check(session, "agent", "annotate").allowed
    assert not policy.check(session, "agent", "action", {"kind": "click"}).allowed
    assert policy.check(session, "agent", "ping").allowed


def test_unknown_types_and_actions_refused():
    session = _session("full")
    assert not policy.check(session, "agent", "rrweb").allowed
    assert not policy.check(session, "agent", "action", {"kind": "teleport"}).allowed
    assert not policy.check(session, "agent", "annotate", {"kind": "confetti"}).allowed


# --- judged against the holder's own rights --------------------------------------------------------


def _person(role="agent", level="L2", certified=False):
    from django.utils import timezone

    from accounts.models import User

    return User(
        username=f"{role}-{level}",
        role=role,
        agent_level=level,
        is_active=True,
        cobrowse_certified_at=timezone.now() if certified else None,
    )


@pytest.mark.parametrize(
    ("holder", "allowed"),
    [
        (_person("agent", "L1"), False),
        (_person("agent", "L1", certified=True), True),
        (_person("agent", "L2"), True),
        (_person("manager", ""), True),
        (_person("customer", ""), False),
    ],
)
def test_guidance_and_actions_follow_the_holders_own_rights(holder, allowed):
    session = _session("full")
    annotate = policy.check(session, "agent", "annotate", {"kind": "highlight"}, holder=holder)
    action = policy.check(session, "agent", "action", {"kind": "click"}, holder=holder)
    direct = policy.check_action(session, {"kind": "click"}, holder=holder)
    assert (annotate.allowed, action.allowed, direct.allowed) == (allowed, allowed, allowed)
    if not allowed:
        assert "co-browse rights" in action.reason
    # Messages that do not touch the page are not about the holder's rights.
    assert policy.check(session, "agent", "ping", holder=holder).allowed
