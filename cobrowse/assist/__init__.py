"""The co-browse assistant: the shared session context and the proposals made from it.

:mod:`~cobrowse.assist.context` keeps each session's latest page (the relay reports it) and builds
the context the web session and a voice channel share; :mod:`~cobrowse.assist.providers` turns a
context into proposals (prompt, highlight, autofill, scroll, speech, browse). Nothing here applies
a proposal: that follows the session's mode and approvals wherever it is shown (docs/assistant.md).
"""

from __future__ import annotations

from cobrowse.assist.providers import propose

__all__ = ["propose"]
