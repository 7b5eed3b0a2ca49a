"""Keep ordinary events to one log line: a refused request and a closed tab are not errors.

* Django logs every 4xx answer it turns an exception into (``PermissionDenied``, ``Http404``,
  ``SuspiciousOperation``) with the exception attached, so a plain 403 printed a stack trace.
  Below 500 the traceback says nothing the status line does not: it is dropped.
* A customer closing a tab closes its WebSocket while a consumer task may be sending; uvicorn raises
  ``ClientDisconnected`` in that task, and asyncio reports it when the task is collected as "Task
  exception was never retrieved" with a traceback, at ERROR. It is one INFO line instead.
"""

from __future__ import annotations

import logging


def _client_disconnected(exc: BaseException | None) -> bool:
    """uvicorn's ``ClientDisconnected`` (an ``OSError``), matched by name so uvicorn stays optional."""
    classes = type(exc).__mro__ if exc is not None else ()
    return any(c.__name__ == "ClientDisconnected" and c.__module__.startswith("uvicorn") for c in classes)


class OneLineFilter(logging.Filter):
    """Strip the traceback from client errors and closed connections (see the module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if isinstance(record.exc_info, tuple) else None
        status_code = getattr(record, "status_code", None)  # set by Django's request logging
        if _client_disconnected(exc):
            where = record.name if record.name != "asyncio" else "a socket task"
            record.msg, record.args = "Client disconnected before %s finished sending; ignored.", (where,)
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info = record.exc_text = None
            record.stack_info = None
        elif isinstance(status_code, int) and status_code < 500:
            record.exc_info = record.exc_text = None
            record.stack_info = None
        return True
