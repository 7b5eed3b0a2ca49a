"""Channel-layer group names. Built only here, only from ids the server holds."""

from __future__ import annotations


def session_group(session_id: int) -> str:
    """All sockets of one co-browse session: ``cobrowse.<session>`` (state and mode changes)."""
    return f"cobrowse.{int(session_id)}"


def agents_group(session_id: int) -> str:
    """The agent and viewers of a session: what the customer's page sends, after redaction."""
    return f"cobrowse.{int(session_id)}.agents"


def customer_group(session_id: int) -> str:
    """The customer's page: guidance, requests and snapshot requests from the agent side."""
    return f"cobrowse.{int(session_id)}.customer"


def team_viewer_group(session_id: int, team_viewer_id: int) -> str:
    """One team member's watch socket: told when they are removed or leave."""
    return f"cobrowse.{int(session_id)}.team.{int(team_viewer_id)}"


def browser_control_group(session_id: int) -> str:
    """A server-side browser session's runner: requests, viewer input, viewer reports."""
    return f"browser.{int(session_id)}.control"


def browser_viewers_group(session_id: int) -> str:
    """Every screencast viewer of a server-side browser session: frames and browser status."""
    return f"browser.{int(session_id)}.viewers"


def managers_approvals_group() -> str:
    """Every manager's page: told the number of Full Control requests waiting for a manager."""
    return "managers.approvals"
