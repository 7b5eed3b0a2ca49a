"""Cost of the assistant's trigger evaluation per page message, on one core.

    .venv/bin/python bench/assist.py [--messages 20000]

What the server does for each ``page`` message when it evaluates triggers: build the shared context
(:func:`cobrowse.assist.context.build_context`: the redactor's re-check of every field with the
account's selectors, the context's shape) and run the rules
(:class:`cobrowse.assist.providers.RuleBasedProvider`). Workloads, built here like the widget sends
them:
* a 12-field loan form, nothing firing (the common heartbeat);
* the same form stalled on the PIN code with data on file (stall, highlight, autofill);
* the same with a field in error, a call on and rage clicks (most rules at once);
* a 60-field form stalled, and the same with the healthcare and finance presets (138 selectors).
Each message is timed alone after a warm-up, in CPU time of the thread (what the evaluation costs;
the machine may be shared) and in wall time (what a message waited, preemption included); prints
p50 and p99 of each and the worst wall time, in microseconds. Target: p99 <= 1 ms. Never fails on
time. The relay's own share is one
Redis SET from its event loop (``page_seen``), measured with the relay (bench/relay.py), not here.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # this file is bench/assist.py: keep it from shadowing the app
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")  # a development secret key; nothing is served

import django  # noqa: E402

django.setup()

from cobrowse.assist.context import build_context  # noqa: E402
from cobrowse.assist.providers import RuleBasedProvider, Thresholds  # noqa: E402
from cobrowse.assist.voice import CallState  # noqa: E402
from masking.presets import preset_selectors  # noqa: E402

SELECTORS = [".secret", "[name=mothers_name]"]
CRM = {
    "known_pin": "560001",
    "city": "Bengaluru",
    "address_line1": "12 MG Road",
    "phone": "9876543210",
    "date_of_birth": "1990-04-01",
}
LABELS = [
    "Full name",
    "Email",
    "Mobile",
    "Address line",
    "City",
    "PIN code",
    "PAN",
    "Employer",
    "Income",
    "Notes",
]


def field(i: int, label: str, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": extra.pop("id", f"f{i}"),
        "name": extra.pop("name", f"field_{i}"),
        "label": label,
        "type": extra.pop("type", "text"),
        "status": extra.pop("status", "complete"),
        "error": extra.pop("error", ""),
        "masked": extra.pop("masked", False),
    }
    if not out["masked"]:
        out["value"] = extra.pop("value", f"answer {i}")
    return out


def loan_form(n_fields: int, **overrides: Any) -> dict[str, Any]:
    fields = [field(i, f"{LABELS[i % len(LABELS)]} {i}") for i in range(n_fields)]
    fields[1] = field(1, "Property PIN code", id="property_pin_code", name="pin", status="active", value="")
    fields[2] = field(2, "Password", type="password", masked=True)
    fields[3] = field(3, "Mother's name", name="mothers_name", value="Asha Rao Kumar")
    fields[4] = field(4, "PAN", value="ABCDE1234F")
    page: dict[str, Any] = {
        "page_id": "p-bench",
        "url": "https://loans.example.com/apply/step-2?ref=campaign",
        "title": "Apply for a home loan",
        "fields": fields,
        "completion": 45,
        "focused": "property_pin_code",
        "stalled_ms": 5_000,
        "rage_clicks": 0,
        "scroll_depth": 40,
    }
    page.update(overrides)
    return page


def measure(label: str, page: dict[str, Any], selectors: list[str], call: CallState, messages: int) -> None:
    rules = RuleBasedProvider(Thresholds())

    def one() -> int:
        context = build_context(page, selectors=selectors, user_id=1, crm_data=CRM, call=call)
        return len(rules.propose(context))

    proposals = one()
    for _ in range(200):  # warm-up: compiled rules, caches
        one()
    cpu, wall = [], []
    for _ in range(messages):
        start_cpu, start_wall = time.thread_time_ns(), time.perf_counter_ns()
        one()
        cpu.append(time.thread_time_ns() - start_cpu)
        wall.append(time.perf_counter_ns() - start_wall)
    print(
        f"{label:<40} {len(page['fields']):2d} fields {proposals} proposals"
        f" | CPU p50 {_pct(cpu, 50):6.1f} p99 {_pct(cpu, 99):6.1f}"
        f" | wall p50 {_pct(wall, 50):6.1f} p99 {_pct(wall, 99):7.1f} max {max(wall) / 1000:8.1f} µs"
    )


def _pct(times: list[int], pct: int) -> float:
    ordered = sorted(times)
    return ordered[max(0, round(len(ordered) * pct / 100) - 1)] / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000, help="timed page messages per line")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core

    quiet = CallState()
    on_call = CallState(
        active=True,
        transcript_last_30s=[
            {"speaker": "customer", "text": "which PIN code?", "at": "2026-12-04T10:00:00Z"}
        ],
    )
    error = field(5, "City", status="error", error="Enter your city.", value="")
    presets = SELECTORS + list(preset_selectors(["healthcare", "finance"]))
    print(
        f"python {sys.version.split()[0]}, one core, µs per page message, {args.messages} messages per line"
    )
    measure("12 fields, nothing fires", loan_form(12), SELECTORS, quiet, args.messages)
    measure(
        "12 fields, PIN stall with data on file",
        loan_form(12, stalled_ms=21_000),
        SELECTORS,
        quiet,
        args.messages,
    )
    busy = loan_form(12, stalled_ms=21_000, rage_clicks=2, focused="f5")
    busy["fields"][5] = error | {"id": "f5"}
    measure("12 fields, error + rage + call", busy, SELECTORS, on_call, args.messages)
    measure("60 fields, PIN stall", loan_form(60, stalled_ms=21_000), SELECTORS, quiet, args.messages)
    measure(
        "60 fields, PIN stall, two presets", loan_form(60, stalled_ms=21_000), presets, quiet, args.messages
    )


if __name__ == "__main__":
    main()
