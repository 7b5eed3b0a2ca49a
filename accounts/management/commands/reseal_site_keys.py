"""Re-seal every widget site secret under the active RECORDING_KEYS master key.

Run after prepending a new master key and before dropping an old one (docs/recordings-crypto.md):
a secret sealed under a dropped key can no longer be opened, and its site must rotate.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from accounts import site_keys


class Command(BaseCommand):
    help = "Re-seal every widget site secret under the active RECORDING_KEYS master key."

    def handle(self, *args: Any, **options: Any) -> None:
        changed = site_keys.reseal_all()
        self.stdout.write(f"{changed} site key(s) re-sealed.")
