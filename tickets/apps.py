from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"

    def ready(self) -> None:
        # Deletes bypass the services: the queue's counters follow them (tickets.counts).
        from django.conf import settings
        from django.db.models.signals import post_delete, pre_delete

        from tickets import counts
        from tickets.models import Ticket

        pre_delete.connect(
            counts.assignee_deleted, sender=settings.AUTH_USER_MODEL, dispatch_uid="tickets.counts.assignee"
        )
        post_delete.connect(counts.ticket_deleted, sender=Ticket, dispatch_uid="tickets.counts.ticket")
