"""Retention: the daily task shreds exactly the expired recordings, once, even when run twice at once."""

from __future__ import annotations

import threading

import pytest
from django.core.cache import cache
from django.db import connections

from audit.models import AuditEvent
from recordings import services, tasks
from recordings.blobstore import BlobStore
from recordings.models import DeletionReason, Recording
from tests.factories import make_user
from tests.recordings.rec_helpers import age, build_recording, recorded_session, recording_env  # noqa: F401

pytestmark = pytest.mark.usefixtures("recording_env")


def _recordings(agent, count: int) -> list[Recording]:
    out = []
    for i in range(count):
        customer = make_user(f"ret-customer-{i}", role="customer", account=None)
        out.append(build_recording(recorded_session(agent, customer)))
    return out


@pytest.mark.django_db
def test_task_deletes_exactly_the_expired_ones(agent):
    expired, boundary, fresh = _recordings(agent, 3)
    age(expired, 1)
    age(boundary, 0)
    age(fresh, -1)
    result = tasks.purge_expired_recordings()
    assert result == {"ran": True, "deleted": 2, "failed": 0, "closed": 0}
    for recording in (expired, boundary):
        recording.refresh_from_db()
        assert recording.deletion_reason == DeletionReason.RETENTION
        assert bytes(recording.wrapped_key) == b"" and BlobStore().chunk_indices(recording.pk) == []
    fresh.refresh_from_db()
    assert fresh.deleted_at is None and BlobStore().chunk_indices(fresh.pk)
    # Running again changes nothing.
    assert tasks.purge_expired_recordings()["deleted"] == 0
    assert AuditEvent.objects.filter(action="recording.deleted").count() == 2


@pytest.mark.django_db
def test_a_held_lock_skips_the_run(agent):
    (recording,) = _recordings(agent, 1)
    age(recording, 1)
    cache.add(services.RETENTION_LOCK_KEY, "someone-else", 60)
    assert services.purge_expired().ran is False
    recording.refresh_from_db()
    assert recording.deleted_at is None


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_delete_each_recording_once(agent):
    recordings = _recordings(agent, 4)
    for recording in recordings[:3]:
        age(recording, 2)
    barrier = threading.Barrier(2)
    results: list = []
    errors: list = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(services.purge_expired())
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    deleted = sorted(pk for result in results for pk in result.deleted)
    assert deleted == sorted(r.pk for r in recordings[:3])
    assert AuditEvent.objects.filter(action="recording.deleted").count() == 3
    assert Recording.objects.filter(deleted_at__isnull=True).get().pk == recordings[3].pk


@pytest.mark.django_db(transaction=True)
def test_concurrent_deletions_without_the_lock_are_still_single(agent):
    (recording,) = _recordings(agent, 1)
    barrier = threading.Barrier(2)
    outcomes: list[bool] = []

    def run() -> None:
        try:
            barrier.wait()
            outcomes.append(services.delete_recording(recording.pk, reason=DeletionReason.RETENTION))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == [False, True]
    assert AuditEvent.objects.filter(action="recording.deleted").count() == 1


@pytest.mark.django_db
def test_expired_access_links_are_closed(agent, customer, manager):
    from datetime import timedelta

    from django.utils import timezone

    from recordings.models import AccessRequestState

    recording = build_recording(recorded_session(agent, customer))
    req = services.request_access(recording, customer=customer)
    services.decide_access_request(req.pk, manager=manager, approve=True)
    req.refresh_from_db()
    assert services.expire_access_links(timezone.now() + timedelta(days=8)) == 1
    req.refresh_from_db()
    assert req.state == AccessRequestState.EXPIRED and req.token_hash == ""
