"""Cost of server-side redaction (and protocol validation) per rrweb message, on one core.

    .venv/bin/python bench/masking.py [--seconds 2]

Two workloads, both built here in the rrweb 2.x format:
* a ~2 KB batch of incremental events (mouse moves, keystrokes with their input values, a small
  mutation): what a customer socket sends several times a second while someone fills a form;
* a full snapshot of a 60-field form (34.5 KB; docs/benchmarks.md);
both also with the healthcare and finance presets on (136 more selectors).
Prints microseconds per message, messages/s and events/s; never fails on time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cobrowse.masking import Redactor

try:
    from masking.presets import preset_selectors
except ImportError:  # a checkout from before the masking package, for before/after figures
    try:
        from masking.presets import preset_selectors
    except ImportError:  # from before the presets
        preset_selectors = None
from cobrowse.protocol import CUSTOMER, parse_message

T0 = 1_732_000_000_000
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


def snapshot_60_fields() -> dict:
    """A full snapshot of a 60-field form with labels, help text and a few sensitive inputs."""
    next_id = iter(range(10, 100_000))
    rows = []
    for i in range(60):
        label = LABELS[i % len(LABELS)]
        attrs = {
            "id": f"f-{i}",
            "name": f"field_{i}",
            "type": "text",
            "class": "form-control",
            "value": f"answer {i}",
        }
        if i % 15 == 0:
            attrs["data-sensitive"] = ""
        if i % 20 == 7:
            attrs["value"] = "ABCDE1234F"
        rows.append(
            {
                "type": 2,
                "tagName": "div",
                "attributes": {"class": "field"},
                "id": next(next_id),
                "childNodes": [
                    {
                        "type": 2,
                        "tagName": "label",
                        "attributes": {"for": f"f-{i}"},
                        "id": next(next_id),
                        "childNodes": [{"type": 3, "textContent": f"{label} {i}", "id": next(next_id)}],
                    },
                    {
                        "type": 2,
                        "tagName": "input",
                        "attributes": attrs,
                        "id": next(next_id),
                        "childNodes": [],
                    },
                    {
                        "type": 2,
                        "tagName": "p",
                        "attributes": {"class": "help", "id": f"f-{i}-help"},
                        "id": next(next_id),
                        "childNodes": [
                            {
                                "type": 3,
                                "textContent": "As on your documents.",
                                "id": next(next_id),
                            }
                        ],
                    },
                ],
            }
        )
    body = {"type": 2, "tagName": "body", "attributes": {}, "id": 5, "childNodes": rows}
    html = {"type": 2, "tagName": "html", "attributes": {"lang": "en"}, "id": 3, "childNodes": [body]}
    return {
        "type": 2,
        "timestamp": T0,
        "data": {"node": {"type": 0, "id": 1, "childNodes": [html]}, "initialOffset": {"top": 0, "left": 0}},
    }


def batch_2kb() -> list[dict]:
    events: list[dict] = []
    for i in range(3):
        positions = [{"x": 100 + j, "y": 200 + j, "id": 10, "timeOffset": -j * 16} for j in range(3)]
        events.append({"type": 3, "timestamp": T0 + i * 50, "data": {"source": 1, "positions": positions}})
    for i, text in enumerate(["B", "Be", "Ben", "Beng", "Benga", "Bengal", "Bengalu", "Bengaluru"]):
        events.append(
            {
                "type": 3,
                "timestamp": T0 + 400 + i * 90,
                "data": {"source": 5, "text": text, "isChecked": False, "id": 14, "userTriggered": True},
            }
        )
    events.append(
        {
            "type": 3,
            "timestamp": T0 + 1200,
            "data": {
                "source": 0,
                "texts": [{"id": 16, "value": "Enter a valid 6-digit PIN code."}],
                "attributes": [{"id": 14, "attributes": {"aria-invalid": "true"}}],
                "removes": [],
                "adds": [],
            },
        }
    )
    events.append(
        {"type": 3, "timestamp": T0 + 1300, "data": {"source": 2, "type": 2, "id": 20, "x": 5, "y": 9}}
    )
    return events


def measure(label: str, func, events_per_call: int, size: int, seconds: float, rounds: int = 5) -> None:
    """CPU time (not wall time: the machine may be shared), best of ``rounds`` rounds."""
    func()  # warm up
    best = float("inf")
    for _ in range(rounds):
        calls, start = 0, time.process_time()
        while (elapsed := time.process_time() - start) < seconds / rounds:
            for _ in range(10):
                func()
            calls += 10
        best = min(best, elapsed / calls)
    print(
        f"{label:<40} {size / 1024:5.1f} KB {best * 1e6:9.1f} µs/msg {1 / best:8.0f} msg/s"
        f" {events_per_call / best:9.0f} events/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core

    batch = batch_2kb()
    snapshot = snapshot_60_fields()
    batch_frame = json.dumps({"type": "rrweb", "seq": 1, "ts": T0, "data": {"events": batch, "page_id": "p"}})
    snap_frame = json.dumps(
        {"type": "rrweb", "seq": 2, "ts": T0, "data": {"events": [snapshot], "page_id": "p"}}
    )

    redactor = Redactor([".secret", "[name=mothers_name]"])
    redactor.redact_events([snapshot], "p")  # the page's state, as in a live session

    print(f"python {sys.version.split()[0]}, one core, CPU time, {args.seconds:.1f} s per line")
    measure(
        "redact 2 KB incremental batch",
        lambda: redactor.redact_events(batch, "p"),
        len(batch),
        len(batch_frame),
        args.seconds,
    )
    measure(
        "redact full snapshot (60-field form)",
        lambda: redactor.redact_events([snapshot], "p"),
        1,
        len(snap_frame),
        args.seconds,
    )
    if preset_selectors is not None:
        presets = Redactor([".secret", "[name=mothers_name]", *preset_selectors(["healthcare", "finance"])])
        presets.redact_events([snapshot], "p")
        measure(
            "redact 2 KB batch, two presets",
            lambda: presets.redact_events(batch, "p"),
            len(batch),
            len(batch_frame),
            args.seconds,
        )
        measure(
            "redact full snapshot, two presets",
            lambda: presets.redact_events([snapshot], "p"),
            1,
            len(snap_frame),
            args.seconds,
        )
    measure(
        "parse+validate 2 KB frame",
        lambda: parse_message(batch_frame, CUSTOMER),
        len(batch),
        len(batch_frame),
        args.seconds,
    )
    measure(
        "parse+validate snapshot frame",
        lambda: parse_message(snap_frame, CUSTOMER),
        1,
        len(snap_frame),
        args.seconds,
    )

    def both(frame: str) -> None:
        message = parse_message(frame, CUSTOMER)
        redactor.redact_message(message)

    measure(
        "parse+validate+redact 2 KB frame",
        lambda: both(batch_frame),
        len(batch),
        len(batch_frame),
        args.seconds,
    )
    measure(
        "parse+validate+redact snapshot frame", lambda: both(snap_frame), 1, len(snap_frame), args.seconds
    )


if __name__ == "__main__":
    main()
