"""A customer's data on file, as the co-browse assistant reads it.

The assistant fills a stalled field from what the desk already knows about the customer (address,
city, postal code, phone, date of birth …) instead of asking for it again. This is the one entry
point it uses; until a profile is kept, nothing is on file and the assistant only prompts.
"""

from __future__ import annotations

from accounts.models import User


def crm_data(user: User) -> dict[str, str]:
    """The customer's data on file, by key (``"known_pin"``, ``"city"`` …); empty when none is kept."""
    return {}
