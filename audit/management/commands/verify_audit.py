from django.core.management.base import BaseCommand, CommandError

from audit.models import AuditEvent
from audit.services import verify_chain


class Command(BaseCommand):
    help = "Verify the hash chain of the audit trail; exits non-zero at the first broken row."

    def handle(self, *args, **options):
        problem = verify_chain()
        if problem:
            raise CommandError(f"Audit chain broken at event #{problem.event_id}: {problem.reason}")
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact ({AuditEvent.objects.count()} events)."))
