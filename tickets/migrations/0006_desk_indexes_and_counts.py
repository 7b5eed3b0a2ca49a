"""The desk at a million tickets: indexes that match each list's filter and order, and the
queue's counters.

- Composite indexes for the queue (-updated_at, -id: all, active, mine+active, unassigned+active),
  the portal (requester, -updated_at, -id), the API list (-created_at, -number; per requester for
  customers, which also serves the ticket page's other tickets) and a ticket's thread and activity
  (ticket, created_at, id). The single-column indexes of requester, assignee, team and of the
  comments' and events' ticket are dropped: a composite index leading with the same column serves
  their lookups.
- ``QueueCount``: tickets per (status, assignee), filled here from the tickets; the managers'
  group views it like every other tickets model.

Building the indexes blocks writes to the tickets meanwhile: about 20 s for a million tickets and
their threads on PostgreSQL.
"""

import importlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import Count

_earlier = importlib.import_module("tickets.migrations.0003_managers_manage_teams")
CODENAMES = ("view_queuecount",)


def fill_counts(apps, schema_editor):
    """The counters from the tickets as they are (``tickets.counts.rebuild`` with the migration's models)."""
    alias = schema_editor.connection.alias
    Ticket = apps.get_model("tickets", "Ticket")
    QueueCount = apps.get_model("tickets", "QueueCount")
    rows = (
        Ticket.objects.using(alias).values("status", "assignee_id").annotate(n=Count("id")).order_by()
    )
    QueueCount.objects.using(alias).bulk_create(
        QueueCount(status=row["status"], assignee_key=row["assignee_id"] or 0, tickets=row["n"])
        for row in rows
    )


def grant(apps, schema_editor):
    _earlier.grant(apps, schema_editor, codenames=CODENAMES)


def revoke(apps, schema_editor):
    _earlier.revoke(apps, schema_editor, codenames=CODENAMES)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0005_certifications'),
        ('tickets', '0005_managers_view_satisfaction'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='QueueCount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('status', models.CharField(choices=[('new', 'New'), ('open', 'Open'), ('pending', 'Pending'), ('resolved', 'Resolved'), ('closed', 'Closed')], max_length=10)),
                ('assignee_key', models.PositiveBigIntegerField(default=0)),
                ('tickets', models.BigIntegerField(default=0)),
            ],
        ),
        migrations.AlterField(
            model_name='ticket',
            name='assignee',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='assigned_tickets', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='ticket',
            name='requester',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='requested_tickets', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='ticket',
            name='team',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='tickets', to='tickets.team'),
        ),
        migrations.AlterField(
            model_name='ticketcomment',
            name='ticket',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='comments', to='tickets.ticket'),
        ),
        migrations.AlterField(
            model_name='ticketevent',
            name='ticket',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='events', to='tickets.ticket'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(condition=models.Q(('status__in', ('resolved', 'closed')), _negated=True), fields=['-updated_at', '-id'], name='ticket_active_updated_idx'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(condition=models.Q(('status__in', ('resolved', 'closed')), _negated=True), fields=['assignee', '-updated_at', '-id'], name='ticket_mine_active_idx'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(condition=models.Q(models.Q(('status__in', ('resolved', 'closed')), _negated=True), ('assignee__isnull', True)), fields=['-updated_at', '-id'], name='ticket_unassigned_active_idx'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(fields=['-updated_at', '-id'], name='ticket_updated_idx'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(fields=['-created_at', '-number'], name='ticket_created_idx'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(fields=['requester', '-created_at', '-number'], name='ticket_requester_created_idx'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(fields=['requester', '-updated_at', '-id'], name='ticket_requester_updated_idx'),
        ),
        migrations.AddIndex(
            model_name='ticketcomment',
            index=models.Index(fields=['ticket', 'created_at', 'id'], name='ticket_comment_thread_idx'),
        ),
        migrations.AddIndex(
            model_name='ticketevent',
            index=models.Index(fields=['ticket', 'created_at', 'id'], name='ticket_event_thread_idx'),
        ),
        migrations.AddConstraint(
            model_name='queuecount',
            constraint=models.UniqueConstraint(fields=('status', 'assignee_key'), name='queue_count_one_row_per_key'),
        ),
        migrations.RunPython(fill_counts, migrations.RunPython.noop),
        migrations.RunPython(grant, revoke),
    ]
