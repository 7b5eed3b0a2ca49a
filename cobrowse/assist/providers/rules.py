"""The default provider: fixed rules over the shared context, cheap enough for every page message.

Triggers (issue 16's table; thresholds in settings):

* **stall**: a focused field and ``stall_duration_ms`` at or past ``ASSIST_STALL_THRESHOLD_MS``
  (20 s): highlight it, and fill it from data on file when a key matches (else ask whether help
  is wanted);
* **validation error**: a field in error and no activity for ``ASSIST_ERROR_THRESHOLD_MS`` (10 s)
  since: the widget reports no error age, and an error left untouched that long is one that
  persists; the prompt explains the error from its text and the field's kind;
* **rage click**: ``rage_clicks`` counts bursts of 3+ clicks on one spot (the widget's detector),
  so one burst is enough;
* **scroll thrash** and **exit intent**: the page's numbers cannot show them (its scroll depth is
  the deepest reached); they fire when the context is built for that signal (``page.trigger``),
  exit intent only with completion between 30 % and 90 %;
* **idle**: no scroll, click or key for ``ASSIST_IDLE_THRESHOLD_MS`` (45 s) with no field in focus
  (with a focus, the stall help already speaks).

Never an autofill without data on file, for a masked field or one whose words say it is a secret;
a field already holding the value on file is not filled again. With a call on, the first prompt is
also offered as speech.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from cobrowse.assist.providers.matching import field_concept, match, never_fill

RAGE_CLICK_BURSTS = 1
EXIT_MIN_PCT = 30
EXIT_MAX_PCT = 90

# What each kind of field wants, for explaining its validation error.
_HINTS: dict[str, str] = {
    "postal": "Enter the postal (PIN) code as digits only, without spaces.",
    "phone": "Enter the number as digits only, without spaces or a leading 0.",
    "dob": "Enter the date in the format the field shows, for example DD/MM/YYYY.",
    "email": "An e-mail address looks like name@example.com, without spaces.",
}
_TYPE_HINTS: dict[str, str] = {
    "email": _HINTS["email"],
    "tel": _HINTS["phone"],
    "date": _HINTS["dob"],
    "number": "Enter digits only.",
    "url": "Enter the full address, starting with https://.",
}
_REQUIRED = ("required", "must be filled", "can't be blank", "cannot be blank", "is missing")

_DIGITS = re.compile(r"\b(\d{1,2})[ -]?digits?\b")


@dataclass(frozen=True)
class Thresholds:
    stall_ms: int = 20_000
    error_ms: int = 10_000
    idle_ms: int = 45_000

    @classmethod
    def from_settings(cls) -> Thresholds:
        return cls(
            stall_ms=int(getattr(settings, "ASSIST_STALL_THRESHOLD_MS", cls.stall_ms)),
            error_ms=int(getattr(settings, "ASSIST_ERROR_THRESHOLD_MS", cls.error_ms)),
            idle_ms=int(getattr(settings, "ASSIST_IDLE_THRESHOLD_MS", cls.idle_ms)),
        )


def _label(field: Mapping[str, Any]) -> str:
    return str(field.get("label") or field.get("name") or field.get("id") or "this field")


def explain_error(field: Mapping[str, Any]) -> str:
    """The field's own error in plain words, and what the field expects."""
    label = _label(field)
    error = str(field.get("error") or "").strip().rstrip(".")
    lowered = error.lower()
    text = f"{label} isn't accepted yet." if not error or lowered == "invalid" else f"{label}: {error}."
    if any(s in lowered for s in _REQUIRED):
        return f"{text} This field must be filled in before you can continue."
    concept = field_concept(field)
    hint = _HINTS.get(concept or "") or _TYPE_HINTS.get(str(field.get("type") or "").lower())
    digits = _DIGITS.search(lowered)
    value = field.get("value")
    if digits and isinstance(value, str) and not field.get("masked"):
        have = sum(ch.isdigit() for ch in value)
        return f"{text} It needs {digits.group(1)} digits; {have} are entered."
    return f"{text} {hint}" if hint else text


class RuleBasedProvider:
    """Proposals from the triggers above; pure and fast (no I/O, no model)."""

    name = "rules"

    def __init__(self, thresholds: Thresholds | None = None) -> None:
        self.thresholds = thresholds or Thresholds.from_settings()

    def propose(self, context: Mapping[str, Any]) -> list[dict[str, Any]]:
        page = context.get("page") or {}
        user = context.get("user") or {}
        form = page.get("form_state") or {}
        fields = {f["id"]: f for f in form.get("fields") or () if isinstance(f, Mapping) and f.get("id")}
        focus = form.get("current_field_focus")
        focused = fields.get(focus) if isinstance(focus, str) else None
        stall = int(page.get("stall_duration_ms") or 0)
        trigger = page.get("trigger")
        crm: Mapping[str, str] = user.get("crm_data") or {}
        out: list[dict[str, Any]] = []

        erroring = [f for f in fields.values() if f.get("status") == "error"]
        if focused is not None and focused in erroring:
            erroring.remove(focused)
            erroring.insert(0, focused)
        explained = None
        if erroring and stall >= self.thresholds.error_ms:
            explained = erroring[0]
            out.append(
                {
                    "kind": "prompt",
                    "trigger": "validation_error",
                    "field": explained["id"],
                    "text": explain_error(explained),
                }
            )
            if explained is not focused:
                out.append({"kind": "scroll", "field": explained["id"]})
            out.append({"kind": "highlight", "field": explained["id"]})
            out.extend(self._autofill(explained, crm))

        if (
            isinstance(focus, str)
            and focus
            and stall >= self.thresholds.stall_ms
            and focused is not explained
        ):
            out.extend(self._stall(focus, focused, crm))

        if int(page.get("rage_clicks") or 0) >= RAGE_CLICK_BURSTS:
            out.append(
                {
                    "kind": "prompt",
                    "trigger": "rage_click",
                    "text": "Something not responding? We can help you with it.",
                }
            )

        if trigger == "scroll_thrash":
            out.extend(self._thrash(fields))

        if trigger == "exit_intent":
            pct = float(form.get("completion_pct") or 0)
            if EXIT_MIN_PCT <= pct <= EXIT_MAX_PCT:
                out.append(
                    {
                        "kind": "prompt",
                        "trigger": "exit_intent",
                        "text": f"You're {round(pct)} % through. Want help finishing?",
                    }
                )

        if not focus and stall >= self.thresholds.idle_ms:
            out.append({"kind": "prompt", "trigger": "idle", "text": "Still there? We can help you finish."})

        if user.get("active_call"):
            first = next((p for p in out if p["kind"] == "prompt"), None)
            if first is not None:
                out.append({"kind": "speech", "text": first["text"]})
        return out

    def _autofill(self, field: Mapping[str, Any], crm: Mapping[str, str]) -> list[dict[str, Any]]:
        found = match(field, crm)
        if found is None or never_fill(field) or field.get("value") == found[1]:
            return []
        key, value = found
        return [{"kind": "autofill", "field": field["id"], "value": value, "source": f"crm_data.{key}"}]

    def _stall(
        self, focus: str, field: Mapping[str, Any] | None, crm: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        fill = self._autofill(field, crm) if field is not None else []
        out: list[dict[str, Any]] = [{"kind": "highlight", "field": focus}] if field is not None else []
        if fill:
            label = _label(field) if field is not None else "this field"
            text = f"We have your {label} on file. Fill it in for you?"
        else:
            text = "Need help with this field?"
        out.append({"kind": "prompt", "trigger": "stall", "field": focus, "text": text})
        return out + fill

    def _thrash(self, fields: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Scrolling up and down: point at where the form needs them, if anywhere."""
        target = next((f for f in fields.values() if f.get("status") == "error"), None) or next(
            (f for f in fields.values() if f.get("status") == "pending"), None
        )
        text = "Looking for something? "
        if target is None:
            return [{"kind": "prompt", "trigger": "scroll_thrash", "text": text + "We can guide you."}]
        return [
            {
                "kind": "prompt",
                "trigger": "scroll_thrash",
                "field": target["id"],
                "text": f"{text}The next field to fill in is {_label(target)}.",
            },
            {"kind": "scroll", "field": target["id"]},
        ]
