"""Field checks for incoming messages: each returns the value or raises a :class:`ProtocolError`.

Strings never hold NUL (``\\u0000``): notes, signals and addresses reach PostgreSQL, which
refuses it. Lengths are counted in code points. A JavaScript ``.length`` counts UTF-16 units (never
fewer), so a string the widget accepts is always accepted here. Integers must be JSON integers
(``1.0`` and ``true`` are refused).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from cobrowse.protocol.messages import MAX_PAGE_ID, MAX_SAFE_INT, MAX_URL, ProtocolError

MISSING = object()
_CONTROL = re.compile(r"[\x00-\x1f\x7f\s]")


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def get_value(data: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> Any:
    value = data.get(key, MISSING)
    if value is MISSING and required:
        raise ProtocolError("missing_field", f"{path} is required", path)
    return value


def wrong_type(path: str, expected: str, value: Any) -> ProtocolError:
    return ProtocolError("wrong_type", f"{path} must be {expected}, not {type_name(value)}", path)


def check_int(value: Any, path: str, *, minimum: int | None = None, maximum: int = MAX_SAFE_INT) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise wrong_type(path, "an integer", value)
    if minimum is not None and value < minimum:
        raise ProtocolError("bad_value", f"{path} must be at least {minimum}", path)
    if value > maximum:
        raise ProtocolError("bad_value", f"{path} must be at most {maximum}", path)
    return value


def check_number(
    value: Any, path: str, *, minimum: float | None = None, maximum: float | None = None
) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise wrong_type(path, "a number", value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ProtocolError("bad_value", f"{path} must be between {minimum} and {maximum}", path)
    return value


def check_str(value: Any, path: str, *, max_len: int, min_len: int = 0) -> str:
    if not isinstance(value, str):
        raise wrong_type(path, "a string", value)
    if len(value) > max_len:
        raise ProtocolError("too_long", f"{path} must be at most {max_len} characters", path)
    if len(value) < min_len:
        raise ProtocolError("bad_value", f"{path} must not be empty", path)
    if "\x00" in value:  # no page sends one, and PostgreSQL refuses it in a text column
        raise ProtocolError("bad_value", f"{path} must not contain NUL characters", path)
    return value


def check_bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise wrong_type(path, "a boolean", value)
    return value


def check_choice(value: Any, path: str, choices: frozenset[str] | tuple[str, ...]) -> str:
    if not isinstance(value, str):
        raise wrong_type(path, "a string", value)
    if value not in choices:
        raise ProtocolError("bad_value", f"{path} must be one of {', '.join(sorted(choices))}", path)
    return value


def check_page_id(value: Any, path: str) -> str:
    text = check_str(value, path, max_len=MAX_PAGE_ID, min_len=1)
    if _CONTROL.search(text):
        raise ProtocolError("bad_value", f"{path} must not contain spaces or control characters", path)
    return text


_TAB_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


def check_tab_id(value: Any, path: str) -> str:
    """The widget's tab id: 8 to 64 letters, digits, ``-`` or ``_`` (it is stored beside a channel
    name in the relay's seat, so nothing else may appear in it)."""
    text = check_str(value, path, max_len=64, min_len=1)
    if not _TAB_ID.fullmatch(text):
        raise ProtocolError("bad_value", f"{path} must be 8 to 64 letters, digits, - or _", path)
    return text


def check_url(value: Any, path: str) -> str:
    text = check_str(value, path, max_len=MAX_URL, min_len=1)
    if not text.lower().startswith(("http://", "https://")):
        raise ProtocolError("bad_value", f"{path} must be an http or https URL", path)
    return text


def check_token(value: Any, path: str) -> str | int:
    """A request id or nonce: a short string or an integer, as the server issued it."""
    if isinstance(value, int) and not isinstance(value, bool):
        return check_int(value, path, minimum=0)
    if isinstance(value, str):
        return check_str(value, path, max_len=MAX_PAGE_ID, min_len=1)
    raise wrong_type(path, "a string or an integer", value)


def check_dict(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise wrong_type(path, "an object", value)
    return value
