"""The early exits of :func:`masking.patterns.find_spans` never change what it finds.

They run on the relay's hot path for every short text with digits (and for whole blocks of them read
together), so they must be cheap; this checks that they are also sound, against every pattern run
without them.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from masking import patterns


def _every_pattern(text: str) -> list[tuple[int, int]]:
    folded = patterns.fold_digits(text)
    spans: list[tuple[int, int]] = []
    patterns._iban_spans(folded, spans)
    spans.extend(m.span() for m in patterns._PAN.finditer(folded))
    patterns._card_spans(folded, spans)
    for match in patterns._SSN.finditer(folded):
        if match.group(2) == "-" or patterns._ssn_valid(match.group(1), match.group(3), match.group(4)):
            spans.append(match.span())
    spans.extend(m.span() for m in patterns._AADHAAR.finditer(folded))
    spans.extend(m.span(1) for m in patterns._LABELLED.finditer(folded))
    return patterns._merge(spans)


# Texts made of the pieces identifiers are built from: digit groups, separators, letters, labels.
_PIECES = st.sampled_from(
    ["4111", "1111", "37828224631", "0005", "123", "45", "6789", "2345", "GB82", "WEST", "ABCDE", "1234F",
     "DE89", "3704", " ", "-", ".", "/", "  ", " - ", "\u00a0", "\u200b", "Field", "SSN", "acct no.",
     "MRN:", "dob", "(required)", "a", "7", "99", "\uff14\uff11", "\u0661\u0662"]
)  # fmt: skip


@settings(max_examples=3000, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=14).map("".join))
def test_the_early_exits_find_what_every_pattern_finds(text):
    expected = _every_pattern(text) if len(text) >= patterns._MIN_SENSITIVE_LEN else []
    assert patterns.find_spans(text) == expected


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet="0123456789 -./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz:#", max_size=80))
def test_the_early_exits_hold_on_arbitrary_text(text):
    expected = _every_pattern(text) if len(text) >= patterns._MIN_SENSITIVE_LEN else []
    assert patterns.find_spans(text) == expected


def test_scattered_digits_take_the_early_exit():
    """Labels numbered one by one hold many digits but no identifier, and no pattern runs on them."""
    text = " ".join(f"Field {i} (required)" for i in range(20))
    assert patterns._DENSE_FIVE.search(text) is None
    assert patterns.find_spans(text) == []
