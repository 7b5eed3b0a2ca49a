"""The pattern rules: where in a text a card number, SSN, Aadhaar, PAN, IBAN or labelled identifier is.

``frontend/widget/recorder/masking.js`` implements the same rules for the widget; both are held to
the one table of cases in ``tests/masking_cases.json``, so they cannot drift apart.

People and pages write numbers in more ways than "4111 1111 1111 1111": groups are separated by
dots, slashes, non-breaking, thin or zero-width spaces, runs of them, or nothing; digits may be
full-width or of another script. Matching runs on a copy of the text with every decimal digit of
the Basic Multilingual Plane folded to ASCII (same length, so spans carry over), and a group
separator is any run of up to three of :data:`SEP_CLASS`.

Everything here works on spans (``(start, end)`` pairs) so that a caller can find an identifier in
the combined text of several nodes and mask each node's part of it (:func:`redact_fragments`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MASK = "******"

# Spaces of every width (no-break, thin, figure, ideographic), zero-width characters and the soft
# hyphen (invisible, so "4111<ZWSP>1111" reads as one number), dashes, the minus sign, dot and slash.
SEP_CLASS = (
    "[ \\t\\n\\r\\u00a0\\u00ad\\u2000-\\u200d\\u2010-\\u2015\\u202f\\u205f\\u2060\\u2212\\u3000\\ufeff./-]"
)
_S1 = SEP_CLASS
_SR = SEP_CLASS + "{0,3}"

# The zero of every run of decimal digits in the BMP (tests check it against unicodedata).
DIGIT_ZEROS = (
    0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66,
    0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
)  # fmt: skip
_FOLD = {zero + i: 48 + i for zero in DIGIT_ZEROS for i in range(10)}

_DIGIT = re.compile(r"[0-9]")
_DIGITS = re.compile(r"[0-9]+")
_FIVE_DIGITS = re.compile(r"(?:[0-9][^0-9]*){5}")
_LETTER_DIGIT = re.compile(r"[A-Za-z][0-9]")
_ALNUM = re.compile(r"[0-9A-Za-z]")
_SEPS = re.compile(SEP_CLASS)
_MIN_SENSITIVE_LEN = 9  # the shortest pattern (a bare SSN after its label) has nine digits

# Five digits with at most three separators between neighbours: every card, SSN, Aadhaar and
# labelled number holds such a run. Digits scattered through prose ("Field 1 ... Field 2") do not.
_DENSE_FIVE = re.compile(rf"[0-9](?:{_S1}{{0,3}}[0-9]){{4}}")
_CARD_RUN = re.compile(rf"(?<![0-9])[0-9](?:{_SR}[0-9]){{12,}}(?![0-9])")
_SSN = re.compile(
    rf"(?<![0-9])(?<![0-9]{_S1})([0-9]{{3}})({_S1})([0-9]{{2}})\2([0-9]{{4}})(?![0-9])(?!{_S1}[0-9])"
)
_AADHAAR = re.compile(
    rf"(?<![0-9])(?<![0-9]{_S1})[2-9][0-9]{{3}}{_S1}?[0-9]{{4}}{_S1}?[0-9]{{4}}(?![0-9])(?!{_S1}[0-9])"
)
# Case-insensitive: forms often upper-case with CSS only, so the value itself is lower case.
_PAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{5}[0-9]{4}[A-Za-z](?![A-Za-z0-9])")
_IBAN = re.compile(rf"(?<![A-Za-z0-9])[A-Za-z]{{2}}[0-9]{{2}}(?:{_S1}?[A-Za-z0-9]){{11,30}}(?![A-Za-z0-9])")
# A number of five or more digits right after a word that says what it is ("MRN: 00123456",
# "Account no. 1234 5678", "SSN 123456789", "DOB 01/02/1990"). ASCII letters only, as in the widget.
_LABELS = (
    "ssn|social security|itin|tin|tax ?id|ein|mrn|medical record|patient id|member id|insurance|"
    "policy|subscriber|account|acct|routing|sort code|passport|licen[cs]e|dob|date of birth|"
    "birth ?date|born"
)
_LABELLED = re.compile(
    rf"(?<![A-Za-z0-9])(?:{_LABELS})(?![A-Za-z])(?:[^A-Za-z0-9]{{0,4}}(?:number|num|no|nr|id|#|code)(?![A-Za-z]))?"
    rf"[^A-Za-z0-9]{{0,6}}((?:[A-Za-z]{{1,3}}-?)?[0-9](?:{_S1}{{0,2}}[0-9]){{4,30}})(?![0-9])",
    re.IGNORECASE | re.ASCII,
)


def fold_digits(text: str) -> str:
    """``text`` with every BMP decimal digit as its ASCII digit; the same length."""
    return text if text.isascii() else text.translate(_FOLD)


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a string of ASCII digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = ord(ch) - 48
        if i % 2:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    """ISO 13616 mod-97 check of an IBAN written with or without separators, in either case."""
    compact = _SEPS.sub("", fold_digits(text)).upper()
    if not 15 <= len(compact) <= 34 or not compact.isalnum() or not compact.isascii():
        return False
    if not (compact[:2].isalpha() and compact[2:4].isdigit()):
        return False
    rearranged = compact[4:] + compact[:4]
    number = int("".join(str(int(ch, 36)) for ch in rearranged))
    return number % 97 == 1


def _ssn_valid(area: str, group: str, serial: str) -> bool:
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _card_spans(text: str, spans: list[tuple[int, int]]) -> None:
    """A run of digit groups: the whole run if it is a card, else every card-sized Luhn-valid window.

    Masking the union of all valid windows means a card inside a longer run (a phone number before
    it) is masked whole even when an earlier window also happens to pass the Luhn check.
    """
    for match in _CARD_RUN.finditer(text):
        groups = [(g.start(), g.end()) for g in _DIGITS.finditer(text, match.start(), match.end())]
        digits = [text[s:e] for s, e in groups]
        whole = "".join(digits)
        if 13 <= len(whole) <= 19 and luhn_valid(whole):
            spans.append(match.span())
            continue
        for i in range(len(groups)):
            window = ""
            for j in range(i, len(groups)):
                window += digits[j]
                if len(window) > 19:
                    break
                if len(window) >= 13 and luhn_valid(window):
                    spans.append((groups[i][0], groups[j][1]))


def _iban_spans(text: str, spans: list[tuple[int, int]]) -> None:
    """A candidate may run into the next word, so try shorter prefixes ending before a separator."""
    search = 0
    while (match := _IBAN.search(text, search)) is not None:
        candidate = match.group(0)
        ends = [len(candidate)] + [i for i in range(len(candidate) - 1, 14, -1) if _SEPS.match(candidate, i)]
        for end in ends:
            if iban_valid(candidate[:end]):
                spans.append((match.start(), match.start() + end))
                search = match.start() + end
                break
        else:
            search = match.start() + 1


def find_spans(text: str) -> list[tuple[int, int]]:
    """Sorted, merged spans of every identifier in ``text``."""
    if len(text) < _MIN_SENSITIVE_LEN:
        return []
    folded = fold_digits(text)
    if not _DIGIT.search(folded):
        return []
    five = _DENSE_FIVE.search(folded) is not None
    if not five and (len(text) < 10 or not _LETTER_DIGIT.search(folded)):
        return []  # no run of five digits for most, and no letter before a digit as in a PAN or an IBAN
    spans: list[tuple[int, int]] = []
    _iban_spans(folded, spans)
    spans.extend(m.span() for m in _PAN.finditer(folded))
    if five:  # cards, SSNs, Aadhaar and labelled numbers have a run of five digits or more
        _card_spans(folded, spans)
        for match in _SSN.finditer(folded):
            if match.group(2) == "-" or _ssn_valid(match.group(1), match.group(3), match.group(4)):
                spans.append(match.span())
        spans.extend(m.span() for m in _AADHAAR.finditer(folded))
        spans.extend(m.span(1) for m in _LABELLED.finditer(folded))
    return _merge(spans)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    if len(spans) < 2:
        return spans
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        last_start, last_end = merged[-1]
        if start <= last_end:
            merged[-1] = (last_start, max(last_end, end))
        else:
            merged.append((start, end))
    return merged


def apply_spans(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """Each span of ``text`` replaced by :data:`MASK`."""
    if not spans:
        return text
    out, emitted = [], 0
    for start, end in spans:
        out += [text[emitted:start], MASK]
        emitted = end
    out.append(text[emitted:])
    return "".join(out)


def redact_text(text: str) -> str:
    """Replace every card number, SSN, Aadhaar, PAN, IBAN and labelled identifier by :data:`MASK`."""
    if len(text) < _MIN_SENSITIVE_LEN or (text.isascii() and not _DIGIT.search(text)):
        return text  # the common case, on the relay's hot path: no call further
    return apply_spans(text, find_spans(text))


# While someone types a card number or an IBAN into an ordinary field, every keystroke sends the whole
# value and the prefixes are not valid numbers yet. In typed values anything that could still become an
# identifier is masked too (the widget does the same): 6+ digits, an IBAN start, a PAN start.
_DIGIT_RUN = re.compile(rf"(?<![0-9])[0-9](?:{_S1}?[0-9]){{5,}}(?![0-9])")
_IBAN_START = re.compile(rf"(?<![A-Za-z0-9])[A-Za-z]{{2}}[0-9]{{2}}(?:{_S1}?[A-Za-z0-9]){{4,}}")
_PAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{5}[0-9]{2,}[A-Za-z]?(?![A-Za-z0-9])")


def redact_typed_value(value: str) -> str:
    """:func:`redact_text` plus anything that may be the beginning of a card number, IBAN or PAN."""
    if len(value) < 6:
        return value
    folded = fold_digits(value)
    if not _DIGIT.search(folded) or not (_FIVE_DIGITS.search(folded) or _LETTER_DIGIT.search(folded)):
        return value  # neither six digits nor the letters-then-digits of an IBAN or PAN start
    spans = find_spans(value)
    for pattern in (_IBAN_START, _PAN_START, _DIGIT_RUN):
        spans.extend(m.span() for m in pattern.finditer(folded))
    return apply_spans(value, _merge(spans))


def redact_fragments(texts: Sequence[str]) -> list[str] | None:
    """Mask identifiers that only appear when neighbouring texts are read together.

    ``texts`` are the pieces as a page lays them side by side (``<span>4111</span> <span>1111</span>``
    or four inputs of four digits), each already redacted on its own. The part of every piece that
    lies inside an identifier of the joined text becomes :data:`MASK` (a piece of separators only is
    kept, so the layout stays). ``None`` when nothing changes.
    """
    # One piece with digits needs another piece that may be its label, and enough digits for one.
    # Every identifier split over nodes has five digits or more (a PAN split in two is let go); one
    # piece with digits needs another piece that may be its label, and all five digits itself.
    if len(texts) < 2:
        return None
    with_digits = [t for t in texts if _DIGIT.search(t if t.isascii() else fold_digits(t))]
    if not with_digits or not _FIVE_DIGITS.search(fold_digits("".join(with_digits))):
        return None
    joined = "".join(texts)
    spans = find_spans(joined)
    if not spans:
        return None
    out, offset, changed = [], 0, False
    for text in texts:
        start, end = offset, offset + len(text)
        offset = end
        pieces = [(max(s, start) - start, min(e, end) - start) for s, e in spans if s < end and e > start]
        pieces = [(s, e) for s, e in pieces if _ALNUM.search(fold_digits(text[s:e]))]
        if pieces:
            text = apply_spans(text, pieces)
            changed = True
        out.append(text)
    return out if changed else None


# --- CSS: text a page draws with ``content:`` -------------------------------------------------------

_CSS_CONTENT = re.compile(r"content\s*:([^;}]*)", re.IGNORECASE)
_CSS_STRING = re.compile(r""""((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'""")


def redact_css(css: str) -> str:
    """Mask identifiers in the strings of ``content:`` declarations, alone or read together in order.

    ``.a::before{content:"4111"} .b::before{content:"1111"} …`` draws a card number no text node holds.
    """
    if "ontent" not in css and "ONTENT" not in css:
        return css
    strings: list[tuple[int, int]] = []  # spans of string bodies inside content declarations
    for decl in _CSS_CONTENT.finditer(css):
        for lit in _CSS_STRING.finditer(css, decl.start(1), decl.end(1)):
            body = 1 if lit.group(1) is not None else 2
            strings.append(lit.span(body))
    if not strings:
        return css
    texts = [redact_text(css[s:e]) for s, e in strings]
    joined = redact_fragments(texts) or texts
    out, emitted = [], 0
    for (start, end), text in zip(strings, joined, strict=True):
        out += [css[emitted:start], text]
        emitted = end
    out.append(css[emitted:])
    return "".join(out)
