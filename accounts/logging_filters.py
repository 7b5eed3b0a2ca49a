"""Scrub personal data out of log records before any handler writes them."""

from __future__ import annotations

import logging
import re

_PATTERNS = [
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "[email]"),
    (re.compile(r"\b(?:\d[ -]?){13,19}\b"), "[number]"),
    (re.compile(r"\b\d{3}-\d{2}-\d{4}\b"), "[ssn]"),
    (re.compile(r"\b[A-Z]{5}\d{4}[A-Z]\b"), "[pan]"),
    (re.compile(r"\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b"), "[iban]"),
    # Token-bearing paths (whoever holds the URL holds the access): the customer's join link, a team
    # member's watch link, a customer's recording copy link (and its events), password reset links.
    (re.compile(r"(/[jw]/)[A-Za-z0-9_-]{16,}"), r"\1[token]"),
    (re.compile(r"(/recordings/copy/)[A-Za-z0-9_-]{16,}"), r"\1[token]"),
    (re.compile(r"(/password-reset/)[A-Za-z0-9_-]+/[A-Za-z0-9]+-[A-Za-z0-9]+"), r"\1[uid]/[token]"),
    # Grants in fragments and any token-like query parameter.
    (re.compile(r"(tandem=)[A-Za-z0-9_.:-]+"), r"\1[grant]"),
    (re.compile(r"([?&](?:token|grant|key|code|signature)=)[^&#\s\"']+", re.IGNORECASE), r"\1[token]"),
    # API credentials in a logged header.
    (re.compile(r"\b(Token|Bearer)\s+[A-Za-z0-9_.~+/=-]{20,}"), r"\1 [credential]"),
]


def scrub(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactPIIFilter(logging.Filter):
    """Render the message, scrub it, and drop the arguments so nothing raw is formatted later."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call must not break the request
            message = str(record.msg)
        record.msg = scrub(message)
        record.args = None
        return True
