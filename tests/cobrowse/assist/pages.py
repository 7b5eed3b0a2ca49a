"""Recorded page contexts: ``page`` message data as the widget sends it, and sequences of them."""

from __future__ import annotations

from typing import Any

SECRETS = {
    "card": "4111 1111 1111 1111",
    "pan": "ABCDE1234F",
    "aadhaar": "2345 6789 0123",
    "mother": "Asha Rao Kumar",  # harmless-looking, masked only by the account's selector
}


def field(
    field_id: str, *, label: str = "", value: str | None = "", masked: bool = False, **extra: Any
) -> dict:
    out: dict[str, Any] = {
        "id": field_id,
        "name": extra.pop("name", field_id),
        "label": label or field_id.replace("_", " ").capitalize(),
        "type": extra.pop("type", "text"),
        "status": extra.pop("status", "pending"),
        "error": extra.pop("error", ""),
        "masked": masked,
    }
    if not masked and value is not None:
        out["value"] = value
    return out


def loan_page(**overrides: Any) -> dict:
    """The demo site's application form, the customer focused on the PIN code field."""
    page: dict[str, Any] = {
        "page_id": "p-loan",
        "url": "http://localhost:8001/apply",
        "title": "Apply for a home loan",
        "fields": [
            field("full_name", label="Full name", value="Meera Iyer", status="complete"),
            field("property_pin_code", label="Property PIN code", status="active"),
            field("city", label="City", value=""),
            field("password", label="Password", masked=True, type="password"),
        ],
        "completion": 50,
        "focused": "property_pin_code",
        "stalled_ms": 0,
        "rage_clicks": 0,
        "scroll_depth": 40,
    }
    page.update(overrides)
    return page


def heartbeats(start_ms: int, stop_ms: int, step_ms: int = 5000, **overrides: Any) -> list[dict]:
    """The widget's page messages every ``step_ms`` while nothing happens on the page."""
    return [loan_page(stalled_ms=ms, **overrides) for ms in range(start_ms, stop_ms + 1, step_ms)]
