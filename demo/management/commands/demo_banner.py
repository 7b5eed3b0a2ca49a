"""Print where everything runs and how to sign in, once `make run` has started the processes."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from demo.management.commands.seed_demo import DEMO_PASSWORD, DEMO_USERS


class Command(BaseCommand):
    help = "Print the demo URLs and logins."

    def handle(self, *args: Any, **options: Any) -> None:
        base = settings.TANDEM_BASE_URL.rstrip("/")
        urls = [
            (f"{base}/", "support desk (sign in here)"),
            (f"{base}/agent/", "agent queue and ticket pages"),
            (f"{base}/portal/", "customer portal"),
            (f"{base}/admin/", "Django admin (manager)"),
            (f"{base}/api/docs/", "REST API docs (OpenAPI schema at /api/schema/)"),
            (settings.TANDEM_DEMO_SITE_URL, "Acme Home Loans demo site with the widget"),
        ]
        width = max(len(url) for url, _ in urls)
        out = self.stdout
        out.write("")
        out.write(self.style.SUCCESS("Tandem is running"))
        out.write("")
        for url, what in urls:
            out.write(f"  {url.ljust(width)}  {what}")
        out.write("")
        out.write(f"Demo logins (password for all: {DEMO_PASSWORD})")
        name_width = max(len(u.username) for u in DEMO_USERS)
        out.write(f"  {'user'.ljust(name_width)}  role")
        out.write(f"  {'-' * name_width}  {'-' * 40}")
        for user in DEMO_USERS:
            out.write(f"  {user.username.ljust(name_width)}  {user.summary}")
        out.write("")
