import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit import services
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def _chain(n=4):
    return [
        services.record(f"test.{i}", object_type="thing", object_id=i, details={"i": i}) for i in range(n)
    ]


def test_intact_chain_verifies():
    _chain()
    assert services.verify_chain() is None
    call_command("verify_audit")


def test_rows_are_append_only_through_the_orm():
    event = _chain(1)[0]
    event.action = "changed"
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()


def test_edited_row_is_detected_and_named():
    events = _chain()
    AuditEvent.objects.filter(pk=events[2].pk).update(details={"i": 99})
    problem = services.verify_chain()
    assert problem is not None and problem.event_id == events[2].pk
    with pytest.raises(CommandError, match=f"#{events[2].pk}"):
        call_command("verify_audit")


def test_deleted_row_is_detected_at_the_next_row():
    events = _chain()
    AuditEvent.objects.filter(pk=events[1].pk)._raw_delete(AuditEvent.objects.db)
    problem = services.verify_chain()
    assert problem is not None and problem.event_id == events[2].pk
    with pytest.raises(CommandError):
        call_command("verify_audit")


def test_without_an_anchor_a_truncated_tail_still_verifies_and_the_count_is_reported(capsys):
    # Links alone cannot see a missing tail: that is what anchors are for (tests/audit/test_anchors.py).
    _chain(2)
    call_command("verify_audit")
    out = capsys.readouterr().out
    assert "2 events" in out and "no anchor yet" in out
