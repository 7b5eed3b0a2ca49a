"""``{{ person|name_for:user }}``: the one naming rule (accounts/names.py) in templates."""

from __future__ import annotations

from typing import Any

from django import template

from accounts import names

register = template.Library()


@register.filter
def name_for(person: Any, reader: Any) -> str:
    return names.name_for(person, reader)
