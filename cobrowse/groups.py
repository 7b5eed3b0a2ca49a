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
