"""The account selector grammar: the subset of CSS both the widget and the server understand.

An account's ``redaction_selectors`` and its presets' (:mod:`masking.presets`) are written in it.
Supported: a tag, ``*``, ``#id``, ``.class``, ``[attr]``, ``[attr=value]``, ``[attr^=value]``,
``[attr$=value]``, ``[attr*=value]`` (each with an optional ``i`` flag: without regard to case),
compounds of these (``input.secret[name=pin]``) and comma-separated lists. No combinators or
pseudo-classes: those raise :class:`ValueError` so that a typo never silently turns masking off.

Plain Python, so the account model can validate its settings without the relay (and the relay can
match elements without the account model).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_SELECTOR_TOKEN = re.compile(
    r"""
    (?P<tag>^(?:\*|[a-zA-Z][a-zA-Z0-9-]*))
    | \#(?P<id>[A-Za-z0-9_-]+)
    | \.(?P<cls>[A-Za-z0-9_-]+)
    | \[\s*(?P<attr>[A-Za-z_:][A-Za-z0-9_:.-]*)\s*
        (?:(?P<op>\^=|\$=|\*=|=)\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[A-Za-z0-9_-]+))
        \s*(?:(?P<flag>[iIsS])\s*)?)?\]
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Selector:
    """One compound selector of the supported subset."""

    text: str
    tag: str | None = None
    ids: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    # (name, operator, value, case-insensitive): ``[name*=dob i]`` compares without regard to case.
    attrs: tuple[tuple[str, str | None, str, bool], ...] = ()

    def matches(self, tag: str, attrs: dict[str, str]) -> bool:
        """``tag`` lower case; an empty ``tag`` (unknown) matches any tag selector."""
        if self.tag and tag and self.tag != tag:
            return False
        if any(attrs.get("id") != ident for ident in self.ids):
            return False
        if self.classes:
            have = attrs.get("class", "").split()
            if any(cls not in have for cls in self.classes):
                return False
        for name, op, value, fold in self.attrs:
            actual = attrs.get(name)
            if actual is None:
                return False
            if fold:
                actual = actual.lower()
            if (
                (op == "=" and actual != value)
                or (op == "^=" and not (value and actual.startswith(value)))
                or (op == "$=" and not (value and actual.endswith(value)))
                or (op == "*=" and not (value and value in actual))
            ):
                return False
        return True

    @property
    def attribute_names(self) -> set[str]:
        names = {name for name, _, _, _ in self.attrs}
        if self.ids:
            names.add("id")
        if self.classes:
            names.add("class")
        return names


def _split_selector_list(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth, quote_char = 0, ""
    for ch in text:
        if quote_char:
            quote_char = "" if ch == quote_char else quote_char
        elif ch in "\"'":
            quote_char = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def parse_selector(text: str) -> Selector:
    """Parse one compound selector; raise ``ValueError`` naming anything outside the subset."""
    source = text.strip()
    if not source:
        raise ValueError("empty selector")
    pos, tag, ids, classes, attrs = 0, None, [], [], []
    while pos < len(source):
        match = _SELECTOR_TOKEN.match(source, pos)
        if match is None or match.end() == pos:
            raise ValueError(
                f"unsupported selector {text!r} at {source[pos:]!r}: use tag, #id, .class, [attr], "
                "[attr=value], [attr^=value], [attr$=value] or [attr*=value], without combinators"
            )
        if match.group("tag") is not None:
            tag = None if match.group("tag") == "*" else match.group("tag").lower()
        elif match.group("id") is not None:
            ids.append(match.group("id"))
        elif match.group("cls") is not None:
            classes.append(match.group("cls"))
        else:
            op = match.group("op")
            value = next(
                (v for v in (match.group("dq"), match.group("sq"), match.group("bare")) if v is not None), ""
            )
            fold = (match.group("flag") or "").lower() == "i"
            attrs.append((match.group("attr").lower(), op, value.lower() if fold else value, fold))
        pos = match.end()
    return Selector(source, tag, tuple(ids), tuple(classes), tuple(attrs))


def parse_selectors(selectors: Iterable[str]) -> tuple[Selector, ...]:
    """Parse an account's selectors (each may be a comma-separated list). Use it to validate settings."""
    parsed: list[Selector] = []
    for entry in selectors:
        if not isinstance(entry, str):
            raise ValueError(f"selector must be a string, not {type(entry).__name__}")
        parsed.extend(parse_selector(part) for part in _split_selector_list(entry))
    return tuple(parsed)
