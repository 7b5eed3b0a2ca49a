"""Refusals of the browser's services, each with an HTTP status and a stable code for the API."""

from __future__ import annotations


class BrowserError(Exception):
    """A refusal with an HTTP status and a stable code; nothing was changed."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status


class RunnerUnavailable(BrowserError):
    status = 503
    code = "browser_unavailable"


class RunnerTimeout(BrowserError):
    status = 504
    code = "browser_timeout"


class NotDriving(BrowserError):
    status = 409
    code = "not_allowed"


class RateLimited(BrowserError):
    status = 429
    code = "rate_limited"
