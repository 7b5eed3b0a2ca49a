"""Values split over neighbouring nodes: how a page lays texts and inputs out, read together.

A number split over ``<span>``s, table cells or several inputs never appears whole in one node.
Block layout is read as the widget reads it (``masking.js``): a block's inline descendants are one
text; table cells and definition terms are read with their row (a label beside its value); three or
more short inputs under one close ancestor are the boxes of one value; and a mutation that completes
a number masks the nodes relayed before it. Everything works on one page's :class:`PageState`.
"""

from __future__ import annotations

import re
from typing import Any

from cobrowse.masking.nodes import MASKED, MAX_NODE_DEPTH, PageState, is_id, mark
from cobrowse.masking.values import free_text, mask_value
from masking.patterns import MASK, fold_digits, redact_fragments

# Block layout, as the widget reads it (masking.js): an element's inline descendants are read as one
# text; table cells and definition terms are read with their row (a label beside its value).
INLINE_TAGS = frozenset(
    {
        "a", "abbr", "b", "cite", "code", "em", "font", "i", "kbd", "label", "mark", "q", "s", "small",
        "span", "strong", "sub", "sup", "time", "u", "input", "wbr", "tspan", "textpath",
    }
)  # fmt: skip
CELL_TAGS = frozenset({"td", "th", "dt", "dd"})
SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "head", "textarea", "select"})
# Fragments are (container, key, text, node id); these separate what is not read together.
BOUNDARY = (None, None, "\n|\n", None)
CELL_JOIN = (None, None, " ; ", None)
SPACE = (None, None, " ", None)
MAX_FRAGMENTS = 64
SHORT_TEXT = 40  # longer texts hold their own numbers whole, or are prose
DIGIT = re.compile(r"[0-9]")
_SEGMENT_MAX_LENGTH = 6  # an input this short is one box of a value typed into several
_SEGMENT_GROUP = 3  # that many boxes under one close ancestor are one value (card, SSN, OTP, date)
_SEGMENT_LEVELS = 3
_MAX_DIGIT_TEXTS = 20_000


def segment(state: PageState, node_id: Any, info: dict[str, str]) -> None:
    """Register a short input; enough of them under one close ancestor are all masked.

    A card number typed into four boxes of four digits (``autocomplete=cc-number`` often on the
    first only), an SSN in three, a one-time code in six: no box ever holds a whole identifier.
    """
    if "maxlength" not in info or not is_id(node_id) or not free_text("input", info):
        return
    try:
        length = int(info.get("maxlength", ""))
    except ValueError:
        return
    if not 0 < length <= _SEGMENT_MAX_LENGTH:
        return
    ancestor = state.parents.get(node_id)
    for _ in range(_SEGMENT_LEVELS):
        if ancestor is None:
            return
        members = state.segments.setdefault(ancestor, set())
        members.add(node_id)
        if len(members) >= _SEGMENT_GROUP:
            for member in members:
                mark(state, member, MASKED, state.elements.get(member, ("", {}))[1])
                relayed = state.out_inputs.get(member)  # earlier boxes of this same snapshot
                if relayed is not None:
                    relayed["value"] = mask_value(relayed["value"])
        ancestor = state.parents.get(ancestor)


def block_of(state: PageState, node_id: int) -> int | None:
    """The nearest ancestor of a text node laid out as a block (as :func:`check_fragments` reads it)."""
    ancestor, seen = state.parents.get(node_id), 0
    while ancestor is not None and seen <= MAX_NODE_DEPTH:
        tag = state.elements.get(ancestor, ("",))[0]
        if tag and tag not in INLINE_TAGS and tag not in CELL_TAGS:
            return ancestor if tag not in SKIP_TAGS else None
        ancestor, seen = state.parents.get(ancestor), seen + 1
    return None


def remember_text(state: PageState, node_id: Any, text: str) -> None:
    """Keep a short text with digits (a group of a number, perhaps) and note it as touched."""
    if not is_id(node_id) or len(text) > SHORT_TEXT or not DIGIT.search(fold_digits(text)):
        return
    known = state.digit_texts.get(node_id)
    if known == text:
        return  # relayed as it was: its block reads as when it was last checked
    if known is None:
        if len(state.digit_texts) >= _MAX_DIGIT_TEXTS:
            return
        block = block_of(state, node_id)
        if block is None:
            return
        state.block_texts.setdefault(block, []).append(node_id)
    state.digit_texts[node_id] = text
    state.touched.append(node_id)


def remask_blocks(state: PageState, texts: list) -> None:
    """After a mutation: read each touched block's short texts together, mask what was relayed."""
    blocks = {b for node_id in state.touched if (b := block_of(state, node_id)) is not None}
    state.touched.clear()
    by_id = {t["id"]: t for t in texts if isinstance(t, dict) and is_id(t.get("id"))}
    for block in blocks:
        members = sorted(i for i in set(state.block_texts.get(block, ())) if i in state.digit_texts)
        if len(members) < 2:
            continue
        pieces = [piece for i in members for piece in (state.digit_texts[i], " ")]
        redacted = redact_fragments(pieces)
        if redacted is None:
            continue
        for n, node_id in enumerate(members):
            value = redacted[2 * n]
            if value == state.digit_texts[node_id]:
                continue
            state.digit_texts[node_id] = value
            if node_id in by_id:
                by_id[node_id]["value"] = value
            else:
                by_id[node_id] = {"id": node_id, "value": value}
                texts.append(by_id[node_id])


def check_fragments(state: PageState, frags: list) -> None:
    """Mask every fragment's part of an identifier that only the fragments read together show."""
    if len(frags) < 2:
        return
    redacted = redact_fragments([f[2] for f in frags])
    if redacted is None:
        return
    for i, (container, key, text, node_id) in enumerate(frags):
        if container is None or redacted[i] == text:
            continue
        if key == "value":
            container[key] = MASK
            if is_id(node_id):
                mark(state, node_id, MASKED, state.elements.get(node_id, ("", {}))[1])
        else:
            container[key] = redacted[i]
            if container.get("id") in state.digit_texts:
                state.digit_texts[container["id"]] = redacted[i]
        frags[i] = (container, key, container[key], node_id)
