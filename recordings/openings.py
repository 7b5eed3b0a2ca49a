"""Replay openings: one audit entry each time a replay is opened, however many chunks it then loads.

The ranged replay loads a small index, then chunks as the playhead needs them. Opening the index is
the audited view; it returns a random opening token that the page sends with each chunk request. A
chunk request without a valid token for the same user and recording (a script skipping the index,
or an expired opening) is audited on its own, so no content is ever served unaudited.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core.cache import cache

from recordings import services
from recordings.models import Recording

OPENING_SECONDS = 6 * 60 * 60
_TOKEN_MAX = 64


def _key(token: str) -> str:
    return f"recordings:opening:{token}"


def _owner(recording: Recording, user: Any) -> str:
    return f"{getattr(user, 'pk', '')}:{recording.pk}"


def open_replay(recording: Recording, user: Any, **details: Any) -> str:
    """Audit one view of ``recording`` by ``user`` and return the token its chunk requests carry."""
    services.note_access(recording, user, "viewed", **details)
    token = secrets.token_urlsafe(18)
    cache.set(_key(token), _owner(recording, user), OPENING_SECONDS)
    return token


def admit_chunk(recording: Recording, user: Any, token: str | None, **details: Any) -> None:
    """A chunk of an opened replay is not audited again; any other chunk request is."""
    if token and len(token) <= _TOKEN_MAX and cache.get(_key(token)) == _owner(recording, user):
        return
    services.note_access(recording, user, "viewed", chunk=True, **details)
