"""What people are called, and by whom: one rule so that customers never see a staff login name.

- The support team (agents, managers) sees everyone's ``display_name``: full name, else login name.
- Everyone else — customers, their team members, consent pages, e-mail and text invitations, the
  widget's badge — sees ``public_name``: a person's full name, else a role label ("Support agent").
  A login name is never a public name.
- A reader always sees their own display name.
"""

from __future__ import annotations

from typing import Any

ROLE_LABELS = {"agent": "Support agent", "manager": "Support manager", "customer": "Customer"}


def public_name(person: Any) -> str:
    """The name shown to customers and their team: full name, else a role label; never a login."""
    if person is None:
        return ""
    full = person.get_full_name() if hasattr(person, "get_full_name") else ""
    if full:
        return full
    return ROLE_LABELS.get(getattr(person, "role", ""), "Support team")


def is_support_reader(reader: Any) -> bool:
    from accounts import permissions

    return permissions.is_support_staff(reader)


def name_for(person: Any, reader: Any) -> str:
    """``person`` as ``reader`` may see them (see the module docstring)."""
    if person is None:
        return ""
    if is_support_reader(reader) or (reader is not None and getattr(reader, "pk", None) == person.pk):
        return person.display_name
    return public_name(person)
