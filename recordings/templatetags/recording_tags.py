from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def duration(ms: int | None) -> str:
    """Milliseconds as ``m:ss`` (or ``h:mm:ss``)."""
    seconds = int((ms or 0) // 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.filter
def audit_label(action: str) -> str:
    labels = {
        "recording.started": "Recording started",
        "recording.ended": "Recording finished",
        "recording.viewed": "Watched",
        "recording.downloaded": "Downloaded",
        "recording.deleted": "Deleted",
        "recording.access_requested": "Customer asked for a copy",
        "recording.access_approved": "Copy approved",
        "recording.access_denied": "Copy declined",
        "recording.highlight_created": "Highlight added",
        "recording.highlight_deleted": "Highlight removed",
    }
    return labels.get(action, action.removeprefix("recording.").replace("_", " ").capitalize())
