"""A customer's data on file, as the assistant reads it.

:func:`crm_data` is the one shape the assistant's context (``user.crm_data``) is filled from: every
value a string, under stable keys, so a provider can match a stalled form field to an item on file
by name without knowing the model. Personal data: callers never log it.
"""

from __future__ import annotations

from typing import Any

from accounts.models import PROFILE_KEYS, CustomerProfile, Role

__all__ = ["PROFILE_KEYS", "crm_data", "format_extra", "parse_extra"]


def crm_data(user: Any) -> dict[str, str]:
    """The customer's profile flattened to strings: ``address``, ``city``, ``postal_code``, ``phone``,
    ``date_of_birth`` (ISO), then the extra items under their own keys. Empty items are left out;
    no profile, or someone who is not a customer, gives an empty dict."""
    if user is None or getattr(user, "pk", None) is None or getattr(user, "role", None) != Role.CUSTOMER:
        return {}
    profile = CustomerProfile.objects.filter(user_id=user.pk).first()
    if profile is None:
        return {}
    address = ", ".join(
        line.strip() for line in (profile.address_line1, profile.address_line2) if line.strip()
    )
    named = {
        "address": address,
        "city": profile.city.strip(),
        "postal_code": profile.postal_code.strip(),
        "phone": profile.phone.strip(),
        "date_of_birth": profile.date_of_birth.isoformat() if profile.date_of_birth else "",
    }
    data = {key: value for key, value in named.items() if value}
    extra = profile.extra if isinstance(profile.extra, dict) else {}
    for key in sorted(extra):
        value = extra[key]
        if key not in PROFILE_KEYS and isinstance(value, str) and value.strip():
            data[key] = value.strip()
    return data


def parse_extra(text: str) -> dict[str, str]:
    """``name: value`` lines (the portal's "Other details" box) into the extra items.

    Blank lines are skipped; a line without a colon raises ``ValueError`` naming its line number.
    The items are validated by the model afterwards (names, lengths, count).
    """
    items: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f'Line {number}: write each item as "name: value".')
        key = key.strip()
        if key in items:
            raise ValueError(f'Line {number}: "{key[:40]}" is given twice.')
        items[key] = value.strip()
    return items


def format_extra(extra: object) -> str:
    """The extra items as ``name: value`` lines, the form :func:`parse_extra` reads."""
    if not isinstance(extra, dict):
        return ""
    return "\n".join(f"{key}: {value}" for key, value in sorted(extra.items()))
