from django.core.management.base import BaseCommand, CommandError

from audit.services import verify


class Command(BaseCommand):
    help = (
        "Verify the audit chain (keyed hashes, links) against the anchors written outside the database; "
        "exits non-zero on any problem."
    )

    def handle(self, *args, **options):
        result = verify()
        summary = f"{result.events} events"
        if result.legacy_events:
            summary += f", of which {result.legacy_events} predate keying (linked by unkeyed SHA-256 only)"
        if result.latest_anchor is not None:
            latest = result.latest_anchor
            summary += (
                f"; {result.anchors} anchors in {result.store}, the latest (anchor {latest.seq}) "
                f"at event #{latest.head_id}, {latest.at}"
            )
        else:
            summary += f"; no anchor yet in {result.store} (run manage.py anchor_audit)"
        if result.intact:
            self.stdout.write(self.style.SUCCESS(f"Audit chain intact ({summary})."))
            return
        for problem in result.problems:
            self.stderr.write(f"  {problem}")
        if result.more_problems:
            self.stderr.write(f"  … and {result.more_problems} more")
        first = result.problems[0]
        where = f" at event #{first.event_id}" if first.event_id is not None else ""
        raise CommandError(f"Audit chain broken{where}: {first.reason} ({summary}).")
