"""Upgrading a deployment whose chain was written unkeyed: old rows keep verifying as they were."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from audit import crypto, services
from audit.models import Scheme


@pytest.mark.django_db(transaction=True)
def test_rows_written_before_the_scheme_migration_stay_unkeyed_and_the_chain_continues():
    executor = MigrationExecutor(connection)
    executor.migrate([("audit", "0001_initial")])
    old_state = executor.loader.project_state([("audit", "0001_initial")])
    OldEvent = old_state.apps.get_model("audit", "AuditEvent")
    prev = services.GENESIS
    for i in range(2):
        row = OldEvent(created_at=timezone.now(), action=f"old.{i}", object_id=str(i), details={"i": i})
        row.actor_id = None
        row.scheme = Scheme.LEGACY  # how the code before keying hashed (the same fields, SHA-256)
        row.prev_hash, row.hash = prev, crypto.row_digest(prev, row)
        row.save()
        prev = row.hash

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    from audit.models import AuditEvent

    assert set(AuditEvent.objects.values_list("scheme", flat=True)) == {Scheme.LEGACY}
    keyed = services.record("test.after_upgrade")
    assert keyed.prev_hash == prev and keyed.scheme == Scheme.HMAC
    result = services.verify()
    assert result.intact and (result.events, result.legacy_events) == (3, 2)
