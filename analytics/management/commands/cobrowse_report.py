"""``manage.py cobrowse_report --month 2026-10 [--format html|pdf] [--output FILE]``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics import pdf, report
from analytics.periods import Period, PeriodError


class Command(BaseCommand):
    help = (
        "Write the monthly co-browse report (a PDF printed by Chromium, or the HTML page) for a calendar "
        "month in the desk's time zone; no server or browser worker needs to run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", help="YYYY-MM (default: last month)")
        parser.add_argument("--format", choices=sorted(report.FORMATS), default="pdf")
        parser.add_argument("--output", help="file to write (default: cobrowse-report-YYYY-MM.pdf|html here)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            month = Period.month(options["month"]) if options["month"] else Period.last_month()
        except PeriodError as exc:
            raise CommandError(f"--month: {exc}") from None
        fmt = options["format"]
        monthly = report.monthly(month)
        path = Path(options["output"] or f"{monthly.filename_stem}.{fmt}")
        try:
            content = report.document(monthly, fmt)
        except pdf.PdfError as exc:
            raise CommandError(f"The PDF was not rendered: {exc}") from None
        try:
            path.write_bytes(content)
        except OSError as exc:
            raise CommandError(f"Cannot write {path}: {exc.strerror}") from None
        self.stdout.write(self.style.SUCCESS(f"Wrote {path} ({len(content):,} bytes, {month.label})."))
