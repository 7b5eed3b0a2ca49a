"""Writes of the analytics app: what the relay reports, kept for the manager pages."""

from __future__ import annotations

from analytics.models import Disconnect, PageSignal
from cobrowse import page_signals


def keep_signal(signal: page_signals.PageSignal) -> PageSignal:
    return PageSignal.objects.create(
        session_id=signal.session_id,
        kind=signal.kind,
        page_url=signal.page_url[:500],
        field=signal.field[:256],
        detail=signal.detail[:200],
    )


def keep_disconnect(disconnect: page_signals.Disconnect) -> Disconnect:
    return Disconnect.objects.create(
        session_id=disconnect.session_id, code=disconnect.code, cause=disconnect.cause
    )
