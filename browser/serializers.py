"""Validation of what agents and viewers ask the server-side browser to do (API and viewer socket)."""

from __future__ import annotations

import re
from typing import Any

from rest_framework import serializers

from cobrowse.browser.urlguard import UrlRefused, check_url
from consent.models import DeliveryChannel

ACTION_KINDS = ("click", "type", "press", "scroll", "goto", "back", "forward", "reload", "wait")
INPUT_KINDS = (
    "click",
    "dblclick",
    "move",
    "wheel",
    "key",
    "text",
    "goto",
    "back",
    "forward",
    "reload",
    "stop",
)
DIRECTIONS = ("up", "down", "left", "right")
MAX_WAIT_MS = 30_000
# Playwright key names: "Enter", "Shift+Tab", "Control+a", or one character.
_KEY_RE = re.compile(r"^(?:(?:Shift|Control|Alt|Meta|ControlOrMeta)\+)*(?:[A-Za-z][A-Za-z0-9]{0,19}|\S)$")


def _checked_url(value: str) -> str:
    try:
        return check_url(value)
    except UrlRefused as refused:
        raise serializers.ValidationError(f"This address may not be opened: {refused.reason}.") from None


def _key(value: str) -> None:
    if not _KEY_RE.match(value):
        raise serializers.ValidationError(
            "Use a key name such as Enter, Tab, Shift+Tab or a single character."
        )


class BrowserSessionCreateSerializer(serializers.Serializer):
    ticket = serializers.CharField(max_length=20, help_text="Ticket number, e.g. T-1042 or 1042.")
    start_url = serializers.CharField(max_length=2000, help_text="First page; must pass the egress rules.")
    channel = serializers.ChoiceField(choices=DeliveryChannel.choices, default=DeliveryChannel.COPY)

    def validate_start_url(self, value: str) -> str:
        return _checked_url(value.strip())


class BrowserSessionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    ticket = serializers.CharField(source="ticket.reference")
    kind = serializers.CharField()
    state = serializers.CharField()
    mode = serializers.CharField()
    target_url = serializers.CharField()
    end_reason = serializers.CharField()
    join_url = serializers.CharField(
        required=False, help_text="The customer's consent link (empty when the browser was launched)."
    )
    launched = serializers.BooleanField(
        required=False, help_text="True: the consented session's browser starts."
    )
    viewer_url = serializers.CharField(required=False)


class ActionSerializer(serializers.Serializer):
    """One action. Fields that do not belong to ``kind`` are ignored.

    Agent tool integrations name the action ``action`` (``{"action": "click", "selector": ...}``);
    it is accepted as another name for ``kind``. Both given and different is a 400.
    """

    kind = serializers.ChoiceField(choices=ACTION_KINDS, required=False)
    action = serializers.ChoiceField(
        choices=ACTION_KINDS, required=False, help_text="Another name for kind (tool integrations)."
    )
    selector = serializers.CharField(required=False, max_length=500)
    x = serializers.FloatField(required=False, min_value=0, max_value=10_000)
    y = serializers.FloatField(required=False, min_value=0, max_value=10_000)
    text = serializers.CharField(required=False, max_length=5000, allow_blank=True, trim_whitespace=False)
    clear = serializers.BooleanField(required=False, default=False)
    key = serializers.CharField(required=False, max_length=60, validators=[_key])
    direction = serializers.ChoiceField(choices=DIRECTIONS, required=False, default="down")
    amount = serializers.IntegerField(required=False, min_value=1, max_value=10_000, default=400)
    url = serializers.CharField(required=False, max_length=2000)
    timeout = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_WAIT_MS,
        default=5000,
        help_text="wait: milliseconds, ≤ 30000.",
    )
    screenshot = serializers.BooleanField(
        required=False, default=False, help_text="Return a PNG (base64) once the page settled."
    )

    def validate_url(self, value: str) -> str:
        return _checked_url(value.strip())

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        given: str | None = data.get("kind")
        alias: str | None = data.get("action")
        if given is not None and alias is not None and given != alias:
            raise serializers.ValidationError({"action": "Give 'kind' or 'action', not two different ones."})
        kind = given or alias
        if kind is None:
            raise serializers.ValidationError({"kind": "This field is required (or give it as 'action')."})
        need: dict[str, tuple[str, ...]] = {"type": ("selector", "text"), "press": ("key",), "goto": ("url",)}
        need["wait"] = ("selector",)
        missing = {f: f"This field is required for '{kind}'." for f in need.get(kind, ()) if f not in data}
        if kind == "click" and "selector" not in data and not ("x" in data and "y" in data):
            missing["selector"] = "Give a selector, or both x and y."
        if missing:
            raise serializers.ValidationError(missing)
        keep = {
            "click": ("selector", "x", "y"),
            "type": ("selector", "text", "clear"),
            "press": ("key",),
            "scroll": ("direction", "amount"),
            "goto": ("url",),
            "wait": ("selector", "timeout"),
        }.get(kind, ())
        cleaned = {"kind": kind, "screenshot": data.get("screenshot", False)}
        cleaned.update({f: data[f] for f in keep if f in data})
        return cleaned


class ActionResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    action = serializers.CharField()
    url = serializers.CharField(required=False)
    title = serializers.CharField(required=False)
    error = serializers.DictField(
        required=False, help_text="code (timeout, failed, url_refused) and message."
    )
    screenshot = serializers.CharField(required=False, help_text="PNG, base64, when asked for.")


class StatusSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()
    mode = serializers.CharField()
    end_reason = serializers.CharField()
    browser = serializers.CharField(help_text="starting, live, reconnecting, no_capacity, ended, stopped")
    url = serializers.CharField()
    title = serializers.CharField()
    loading = serializers.BooleanField()
    idle_seconds = serializers.FloatField(allow_null=True)
    fps = serializers.FloatField()
    viewers = serializers.IntegerField()
    quality = serializers.CharField()
    last_frame_age_seconds = serializers.FloatField(allow_null=True)
    error = serializers.CharField()


class _Link(serializers.Serializer):
    index = serializers.IntegerField()
    text = serializers.CharField()
    href = serializers.CharField()


class _Input(serializers.Serializer):
    index = serializers.IntegerField()
    tag = serializers.CharField()
    type = serializers.CharField()
    name = serializers.CharField()
    id = serializers.CharField()
    # DRF's metaclass takes declared fields off the class, so this never shadows Field.label.
    label = serializers.CharField()  # type: ignore[assignment]
    placeholder = serializers.CharField()
    value = serializers.CharField(help_text="Redacted; empty for sensitive fields.")
    masked = serializers.BooleanField()


class _Button(serializers.Serializer):
    index = serializers.IntegerField()
    text = serializers.CharField()


class OutlineSerializer(serializers.Serializer):
    url = serializers.CharField()
    title = serializers.CharField()
    text = serializers.CharField(help_text="Visible text, capped at 20,000 characters, redacted.")
    text_truncated = serializers.BooleanField()
    links = _Link(many=True)
    inputs = _Input(many=True)
    buttons = _Button(many=True)


class InputSerializer(serializers.Serializer):
    """Viewer socket input, in page (CSS pixel) coordinates."""

    kind = serializers.ChoiceField(choices=INPUT_KINDS)
    x = serializers.FloatField(required=False, min_value=0, max_value=10_000)
    y = serializers.FloatField(required=False, min_value=0, max_value=10_000)
    button = serializers.ChoiceField(choices=("left", "middle", "right"), required=False, default="left")
    dx = serializers.FloatField(required=False, min_value=-10_000, max_value=10_000, default=0)
    dy = serializers.FloatField(required=False, min_value=-10_000, max_value=10_000, default=0)
    key = serializers.CharField(required=False, max_length=60, validators=[_key])
    text = serializers.CharField(required=False, max_length=1000, trim_whitespace=False)
    url = serializers.CharField(required=False, max_length=2000)

    def validate_url(self, value: str) -> str:
        return _checked_url(value.strip())

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        kind = data["kind"]
        need = {"click": ("x", "y"), "dblclick": ("x", "y"), "move": ("x", "y"), "key": ("key",)}
        need.update({"text": ("text",), "goto": ("url",)})
        missing = {f: f"This field is required for '{kind}'." for f in need.get(kind, ()) if f not in data}
        if missing:
            raise serializers.ValidationError(missing)
        return data
