"""Which elements are masked or blocked: the markup rules and the account's selectors.

Masked (value, text and every non-structural attribute): ``input[type=password]``,
``input[type=hidden]``, any ``autocomplete`` token starting with ``cc-``, ``[data-sensitive]``,
``[data-pii]``, rrweb's ``.rr-mask``, and the account's own selectors and its industry presets'
(:mod:`masking.presets`). Blocked (children dropped, later events for it dropped):
``autocomplete=one-time-code`` and ``.rr-block``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from cobrowse.masking.nodes import BLOCKED, MASKED, PLAIN
from masking.selector import Selector, parse_selectors

# The attributes that decide an element's marking (the account's selectors add theirs).
_BASE_RELEVANT = frozenset(
    {"type", "autocomplete", "data-sensitive", "data-pii", "class", "id", "name", "maxlength"}
    | {"contenteditable"}
)


class ElementRules:
    """An account's element rules, compiled once per session; the redactor is one."""

    def __init__(self, selectors: Iterable[str] = ()) -> None:
        self.selectors = parse_selectors(selectors)
        # "[attr*=word i]" selectors (the presets have many) become one regular expression per attribute.
        words: dict[str, list[str]] = {}
        self._general: list[Selector] = []
        for sel in self.selectors:
            only = sel.attrs[0] if len(sel.attrs) == 1 and not (sel.tag or sel.ids or sel.classes) else None
            if only and only[1] == "*=" and only[3] and only[2]:
                words.setdefault(only[0], []).append(re.escape(only[2]))
            else:
                self._general.append(sel)
        self._contains = tuple((name, re.compile("|".join(found))) for name, found in words.items())
        self._relevant = _BASE_RELEVANT.union(*(s.attribute_names for s in self.selectors))
        # Selectors that can match an element without any of the relevant attributes.
        self._tag_selectors = any(not s.attribute_names for s in self.selectors)

    def _classify(self, tag: str, attrs: dict[str, str]) -> int:
        if not attrs and not self._tag_selectors:
            return PLAIN
        tokens = attrs.get("autocomplete", "").lower().split()
        classes = attrs.get("class", "").split()
        if "one-time-code" in tokens or "rr-block" in classes:
            return BLOCKED
        if tag in ("input", "") and attrs.get("type", "").strip().lower() in ("password", "hidden"):
            return MASKED
        if any(t.startswith("cc-") for t in tokens) or "rr-mask" in classes:
            return MASKED
        if "data-sensitive" in attrs or "data-pii" in attrs:
            return MASKED
        if any(sel.matches(tag, attrs) for sel in self._general):
            return MASKED
        if self._contains:
            for name, pattern in self._contains:
                value = attrs.get(name)
                if value and pattern.search(value.lower()):
                    return MASKED
        return PLAIN

    def _relevant_attrs(self, attrs: dict) -> dict[str, str]:
        out = {}
        for name, value in attrs.items():
            if isinstance(name, str) and name.lower() in self._relevant:
                out[name.lower()] = value if isinstance(value, str) else ("" if value is not None else None)
        return {k: v for k, v in out.items() if v is not None}
