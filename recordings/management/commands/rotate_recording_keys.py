"""Re-wrap every live recording's data key under the active master key (docs/recordings-crypto.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recordings import services
from recordings.keys import KeyRingError, load_keyring


class Command(BaseCommand):
    help = "Re-wrap recording data keys under the first RECORDING_KEYS key; chunks are not touched."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch", type=int, default=services.ROTATION_BATCH, help="Rows per transaction."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            keyring = load_keyring()
        except KeyRingError as exc:
            raise CommandError(str(exc)) from exc
        report = services.rotate_keys(keyring=keyring, batch=options["batch"])
        self.stdout.write(
            f"Active key {keyring.active.key_id}: re-wrapped {report.rewrapped}, "
            f"already current {report.current}, deleted (no key) {report.shredded}, "
            f"failed {len(report.failed)}."
        )
        for ref, reason in sorted(report.failed.items()):
            self.stderr.write(f"recording {ref}: {reason}")
        if report.failed:
            raise CommandError(f"{len(report.failed)} recording key(s) could not be re-wrapped.")
