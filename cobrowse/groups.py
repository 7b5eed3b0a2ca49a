"""Channel-layer group names. Built only here, only from ids the server holds."""

from __future__ import annotations


def session_group(session_id: int) -> str:
    """All sockets of one co-browse session: ``cobrowse.<session>``."""
    return f"cobrowse.{int(session_id)}"
