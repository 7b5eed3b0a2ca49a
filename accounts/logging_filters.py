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


#: The attributes every record has; anything else on a record came in as ``extra``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_PLAIN = (int, float, bool, type(None))


class RedactPIIFilter(logging.Filter):
    """Render the message, scrub it, and drop the arguments so nothing raw is formatted later.

    The traceback is rendered and scrubbed too (an exception's message quotes what a view was sent:
    ``invalid literal for int(): '4111 1111 …'``), and so is every ``extra``: Django's ``request``
    (whose text is the path with any token), Celery's task arguments (addresses). A formatter that
    writes extras then writes only scrubbed text.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call must not break the request
            message = str(record.msg)
        record.msg = scrub(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        record.exc_info = None
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and not isinstance(value, _PLAIN):
                setattr(record, key, scrub(value if isinstance(value, str) else repr(value)))
        return True
