from django.core.management.base import BaseCommand, CommandError

from audit.anchors import AnchorStoreError
from audit.services import anchor_chain


class Command(BaseCommand):
    help = "Write the audit chain's head (id, hash, time) to the anchor store now."

    def handle(self, *args, **options):
        try:
            anchor = anchor_chain()
        except AnchorStoreError as exc:
            raise CommandError(f"Audit chain not anchored: {exc}") from None
        self.stdout.write(
            self.style.SUCCESS(f"Anchor {anchor.seq} written: event #{anchor.head_id} at {anchor.at}.")
        )
