"""Text and attribute rules: what of an element's values and attributes is relayed, and how.

A masked element keeps only its structural attributes (:data:`STRUCTURAL_ATTRS`); everything else
of it becomes :data:`~masking.patterns.MASK`. Elsewhere every string is pattern-masked, URLs by
their parts and CSS by its ``content:`` strings; values typed into free-text fields get the typing
rules (prefixes of identifiers masked too).
"""

from __future__ import annotations

from typing import Any

from masking.patterns import MASK, redact_text

# Input types a person types characters into one by one ("" = no type attribute, or unknown).
FREE_TEXT_TYPES = frozenset({"", "text", "search", "tel", "number", "email", "url", "hidden"})
FORM_TAGS = frozenset({"input", "textarea", "select"})
URL_ATTRS = frozenset(
    {"href", "src", "action", "formaction", "rr_src", "poster", "cite", "data", "background"}
)
# Inlined images: scanning them costs much and masking them breaks the replay.
UNSCANNED_ATTRS = frozenset({"rr_dataURL", "class"})
# CSS: only the strings of ``content:`` declarations are text a person reads.
CSS_ATTRS = frozenset({"style", "_csstext"})
# What a masked element keeps of its attributes: layout and identity, never text. Everything else
# (placeholder, title, aria-*, data-*, href, alt, value...) becomes MASK.
STRUCTURAL_ATTRS = frozenset(
    {
        "class", "id", "name", "type", "style", "rr_width", "rr_height", "autocomplete", "maxlength",
        "size", "tabindex", "role", "for", "disabled", "required", "readonly", "hidden", "dir", "lang",
        "width", "height",
    }
)  # fmt: skip
SCALARS = (int, float, bool, type(None))
_MAX_DEEP = 64


def redact_json(value: Any, depth: int = 0) -> Any:
    """Pattern-mask every string (keys too) in a JSON value of unknown shape."""
    if type(value) in SCALARS:
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        if depth >= _MAX_DEEP:
            return None
        return {
            redact_text(k) if isinstance(k, str) else k: redact_json(v, depth + 1) for k, v in value.items()
        }
    if isinstance(value, list):
        if depth >= _MAX_DEEP:
            return None
        return [redact_json(v, depth + 1) for v in value]
    return value


def free_text(tag: str, attrs: dict) -> bool:
    """Whether values of this element are typed character by character (unknown counts as yes)."""
    if tag == "textarea":
        return True
    kind = attrs.get("type")
    return tag in ("input", "") and (kind.strip().lower() if isinstance(kind, str) else "") in FREE_TEXT_TYPES


def typed_value(tag: str, attrs: dict) -> bool:
    """Whether a field's value gets the typing rules (prefixes of identifiers masked).

    A number field holds a quantity (a loan amount of 5000000 is not the start of a card number),
    so only complete identifiers are masked there, as the widget does (``isQuantityField``).
    """
    kind = attrs.get("type")
    if tag == "input" and isinstance(kind, str) and kind.strip().lower() == "number":
        return False
    return free_text(tag, attrs)


def mask_value(value: Any) -> Any:
    """A masked field's value: the fixed mask for any non-blank text, blanks kept for the layout."""
    if isinstance(value, str):
        return MASK if value.strip() else value
    return redact_json(value)
