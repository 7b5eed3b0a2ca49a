"""Fields that higher apps add to the ticket API, without tickets importing them.

A provider is registered once (in its app's ``AppConfig.ready``) and called for each ticket the API
renders, with the reader; it returns the field's value, or ``None`` to leave the field out for this
reader (a customer never gets staff-only data).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tickets.models import Ticket

Provider = Callable[[Ticket, Any], Any]
_providers: dict[str, Provider] = {}


def register(name: str, provider: Provider) -> None:
    _providers[name] = provider


def extra_fields(ticket: Ticket, reader: Any) -> dict[str, Any]:
    out = {}
    for name, provider in _providers.items():
        value = provider(ticket, reader)
        if value is not None:
            out[name] = value
    return out
