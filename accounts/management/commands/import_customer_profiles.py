"""``manage.py import_customer_profiles FILE.csv``: load customers' data on file from a CSV export.

The first row names the columns: ``username`` or ``email`` (which customer), then any of
``address_line1``, ``address_line2``, ``city``, ``postal_code``, ``phone``, ``date_of_birth``
(YYYY-MM-DD) and ``extra.<name>`` for an extra item. An empty cell leaves that item as it is. Each
row is validated like the portal's form; the report names rows by line number and never repeats a
value (the file is personal data). ``--atomic`` saves nothing unless every row is good;
``--dry-run`` validates and reports, then saves nothing.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts import services
from accounts.forms import PROFILE_FORM_FIELDS, CustomerProfileForm
from accounts.models import CustomerProfile, Role, User, validate_profile_extra
from audit import services as audit

IDENTITY_COLUMNS = ("username", "email")
FIELD_COLUMNS = PROFILE_FORM_FIELDS
EXTRA_PREFIX = "extra."


class _RollBack(Exception):
    """Raised to undo a dry run or a failed all-or-nothing import."""


@dataclass
class Report:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    saved: list[tuple[int, str]] = field(default_factory=list)


class Command(BaseCommand):
    help = "Create or update customers' profiles (data on file) from a CSV file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CSV with a header row: username or email, then profile columns.")
        parser.add_argument("--atomic", action="store_true", help="Save nothing unless every row is valid.")
        parser.add_argument("--dry-run", action="store_true", help="Validate and report; save nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        atomic, dry_run = bool(options["atomic"]), bool(options["dry_run"])
        try:
            handle = path.open(newline="", encoding="utf-8-sig")
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
        with handle:
            reader = csv.DictReader(handle)
            identity = self._check_header(reader.fieldnames)
            report = Report()
            try:
                with transaction.atomic():
                    for row in reader:
                        self._import_row(reader.line_num, row, identity, report)
                    if dry_run or (atomic and report.skipped):
                        raise _RollBack
            except UnicodeDecodeError:
                raise CommandError("The file is not UTF-8 text.") from None
            except csv.Error as exc:
                raise CommandError(f"Line {reader.line_num}: not valid CSV ({exc}).") from None
            except _RollBack:
                pass
        self._print(report, atomic=atomic, dry_run=dry_run)
        if atomic and report.skipped:
            raise CommandError(f"{len(report.skipped)} row(s) invalid: nothing was saved (--atomic).")

    def _check_header(self, names: Any) -> str:
        if not names:
            raise CommandError("The file is empty: the first row must name the columns.")
        names = [str(n).strip() for n in names]
        identity = [n for n in names if n in IDENTITY_COLUMNS]
        if len(identity) != 1:
            raise CommandError('The header needs exactly one of the columns "username" or "email".')
        unknown = [
            n
            for n in names
            if n not in (*IDENTITY_COLUMNS, *FIELD_COLUMNS) and not n.startswith(EXTRA_PREFIX)
        ]
        if unknown:
            raise CommandError(f"Unknown column(s): {', '.join(unknown)}.")
        if len(set(names)) != len(names):
            raise CommandError("A column is named twice in the header.")
        return identity[0]

    def _customer(self, identity: str, value: str) -> User | str:
        """The customer the row names, or why none can be chosen (the value itself is never shown)."""
        if not value:
            return f"no {identity} given"
        if identity == "username":
            users = list(User.objects.filter(username=value)[:2])
        else:
            users = list(User.objects.filter(email__iexact=value)[:2])
        if not users:
            return f"no user with that {identity}"
        if len(users) > 1:
            return f"more than one user has that {identity}; use username"
        if users[0].role != Role.CUSTOMER:
            return "that user is not a customer"
        return users[0]

    def _import_row(self, line: int, row: dict[str | None, Any], identity: str, report: Report) -> None:
        if None in row:
            report.skipped.append((line, "more cells than columns"))
            return
        cells = {str(k).strip(): (v or "").strip() for k, v in row.items()}
        customer = self._customer(identity, cells.get(identity, ""))
        if isinstance(customer, str):
            report.skipped.append((line, customer))
            return
        profile = CustomerProfile.objects.filter(user=customer).first()
        data: dict[str, str] = {}
        for name in FIELD_COLUMNS:
            current: Any = getattr(profile, name, None) if profile else None
            if isinstance(current, date):
                current = current.isoformat()
            data[name] = cells.get(name) or (current or "")
        extra = dict(profile.extra) if profile and isinstance(profile.extra, dict) else {}
        extra.update(
            {k[len(EXTRA_PREFIX) :]: v for k, v in cells.items() if k.startswith(EXTRA_PREFIX) and v}
        )
        form = CustomerProfileForm(data, instance=CustomerProfile(user=customer))
        errors = (
            [f"{name}: {' '.join(str(m) for m in messages)}" for name, messages in form.errors.items()]
            if not form.is_valid()
            else []
        )
        try:
            validate_profile_extra(extra)
        except ValidationError as exc:
            errors.append(f"extra: {' '.join(exc.messages)}")
        if errors:
            report.skipped.append((line, "; ".join(errors)))
            return
        values = form.profile_values()
        values["extra"] = extra
        try:
            with transaction.atomic():
                _profile, created, changed = services.save_customer_profile(
                    customer, values, actor=None, source="import", record=False
                )
        except ValidationError as exc:
            report.skipped.append((line, " ".join(exc.messages)))
            return
        if created:
            report.created += 1
            report.saved.append((line, "created"))
        elif changed:
            report.updated += 1
            report.saved.append((line, f"updated ({', '.join(changed)})"))
        else:
            report.unchanged += 1

    def _print(self, report: Report, *, atomic: bool, dry_run: bool) -> None:
        saved = not dry_run and not (atomic and report.skipped)
        would = "" if saved else "would be "
        lines = [(n, f"{would}{what}") for n, what in report.saved] + [
            (n, f"skipped: {why}") for n, why in report.skipped
        ]
        for line, text in sorted(lines):
            self.stdout.write(f"line {line}: {text}")
        if saved and (report.created or report.updated):
            audit.record(
                "accounts.profiles_imported",
                details={
                    "created": report.created,
                    "updated": report.updated,
                    "skipped": len(report.skipped),
                },
            )
        prefix = "Dry run, nothing saved: " if dry_run else ("Nothing saved: " if not saved else "")
        self.stdout.write(
            f"{prefix}{report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
            f"{len(report.skipped)} skipped."
        )
