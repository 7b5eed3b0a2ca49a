"""What a runner's action can end in besides success; shared by the runner's parts."""

from __future__ import annotations


class NeverAllowed(Exception):
    """An action on the never-list; it was not performed."""

    def __init__(self, reason: str, target: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.target = target


class NavigationRefused(NeverAllowed):
    """The navigation an action led to was refused by the navigation guard (already reported)."""


class TooFast(Exception):
    """More actions this second than the session allows; not performed."""


def short_error(exc: BaseException) -> str:
    """The first line of an exception, bounded: what the logs and the API's error message carry."""
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
