"""The keyed chain and its anchors: tampering by someone who can write the database is detected."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from audit import crypto, services
from audit.anchors import Anchor, AnchorStoreError, FileAnchorStore, StorageAnchorStore
from audit.models import AuditEvent, Scheme
from audit.tasks import anchor_audit_chain

pytestmark = pytest.mark.django_db


def _chain(n: int = 4, start: int = 0) -> list[AuditEvent]:
    return [
        services.record(f"test.{i}", object_type="thing", object_id=i, details={"i": i})
        for i in range(start, start + n)
    ]


def _raw_delete(queryset) -> None:
    queryset._raw_delete(AuditEvent.objects.db)


def _legacy_row(prev_hash: str, i: int) -> AuditEvent:
    """A row as the code before keying wrote it: plain SHA-256 over the same fields."""
    event = AuditEvent(
        created_at=timezone.now(),
        action=f"old.{i}",
        object_type="thing",
        object_id=str(i),
        details={"i": i},
        scheme=Scheme.LEGACY,
        prev_hash=prev_hash,
    )
    event.hash = crypto.row_digest(prev_hash, event)
    event.save()
    return event


def _rewrite_from(event_id: int, change: dict, *, scheme: str) -> None:
    """What a database writer does to hide an edit: change a row, then recompute every later hash."""
    rows = list(AuditEvent.objects.filter(pk__gte=event_id).order_by("id"))
    before = AuditEvent.objects.filter(pk__lt=event_id).order_by("-id").first()
    prev = before.hash if before else services.GENESIS
    for row in rows:
        if row.pk == event_id:
            for name, value in change.items():
                setattr(row, name, value)
        row.scheme = scheme
        row.prev_hash = prev
        # Keyed rows are recomputed with whatever AUDIT_KEY is configured at the time: the tests
        # switch it to model a writer without the key, or keep it to model one who holds it too.
        row.hash = crypto.row_digest(prev, row)
        AuditEvent.objects.filter(pk=row.pk).update(
            scheme=row.scheme, prev_hash=row.prev_hash, hash=row.hash, details=row.details
        )
        prev = row.hash


def _problems() -> list[str]:
    return [str(p) for p in services.verify().problems]


# --- keyed rows ------------------------------------------------------------------------------------


def test_new_rows_are_keyed_and_not_plain_sha256():
    event = _chain(1)[0]
    assert event.scheme == Scheme.HMAC
    plain = AuditEvent(**{f.attname: getattr(event, f.attname) for f in AuditEvent._meta.concrete_fields})
    plain.scheme = Scheme.LEGACY
    assert crypto.row_digest(event.prev_hash, plain) != event.hash


def test_a_row_edited_and_rehashed_without_the_key_is_detected(settings):
    events = _chain(3)
    # Recomputed with another key: the database writer does not hold AUDIT_KEY.
    real = settings.AUDIT_KEY
    settings.AUDIT_KEY = "x" * 40
    _rewrite_from(events[1].pk, {"details": {"i": 99}}, scheme=Scheme.HMAC)
    settings.AUDIT_KEY = real
    problems = services.verify().problems
    assert [p.event_id for p in problems][:1] == [events[1].pk]
    assert "does not match its hash" in problems[0].reason


def test_a_keyed_chain_rewritten_as_unkeyed_rows_is_detected_as_a_downgrade():
    events = _chain(4)
    _rewrite_from(events[2].pk, {"details": {"i": 99}}, scheme=Scheme.LEGACY)
    problems = services.verify().problems
    assert problems and problems[0].event_id == events[2].pk
    assert "unkeyed row after keyed rows" in problems[0].reason


def test_upgrade_first_keyed_row_chains_from_the_last_unkeyed_hash(capsys):
    first = _legacy_row(services.GENESIS, 1)
    second = _legacy_row(first.hash, 2)
    keyed = services.record("test.after_upgrade")
    assert keyed.scheme == Scheme.HMAC and keyed.prev_hash == second.hash
    result = services.verify()
    assert result.intact and (result.events, result.legacy_events) == (3, 2)
    call_command("verify_audit")
    assert "2 predate keying" in capsys.readouterr().out


# --- anchors ---------------------------------------------------------------------------------------


def test_anchor_writes_the_head_and_records_itself_in_the_chain(_anchor_file):
    _chain(3)
    call_command("anchor_audit")
    head = AuditEvent.objects.order_by("-id").first()
    assert head.action == services.ANCHOR_ACTION and head.details["seq"] == 1
    [line] = _anchor_file.read_text().splitlines()
    anchor = Anchor.from_json(line)
    assert (anchor.seq, anchor.head_id, anchor.head_hash, anchor.prev_mac) == (1, head.pk, head.hash, "")
    assert anchor.key_id == crypto.key_id() and anchor.mac == anchor.expected_mac()
    second = services.anchor_chain()
    assert second.seq == 2 and second.prev_mac == anchor.mac
    assert services.verify().intact
    call_command("verify_audit")


def test_a_fresh_chain_with_no_anchor_verifies():
    assert services.verify().intact
    _chain(2)
    result = services.verify()
    assert result.intact and result.anchors == 0


def test_tail_truncation_is_detected():
    _chain(3)
    anchor = services.anchor_chain()
    _chain(2, start=3)
    # Cut back to before the anchored head: a valid, shorter chain by its links alone.
    _raw_delete(AuditEvent.objects.filter(pk__gte=anchor.head_id))
    problems = services.verify().problems
    assert any(p.event_id == anchor.head_id and "truncated" in p.reason for p in problems)
    with pytest.raises(CommandError, match="truncated"):
        call_command("verify_audit")


def test_a_rewritten_row_with_recomputed_hashes_is_detected_by_the_anchor():
    events = _chain(4)
    anchor = services.anchor_chain()
    # Even with the key, every hash recomputed: links and row hashes are all consistent again.
    _rewrite_from(events[1].pk, {"details": {"i": 99}}, scheme=Scheme.HMAC)
    assert not any("does not match" in p for p in _problems())
    problems = services.verify().problems
    assert [(p.event_id, "chain was rewritten" in p.reason) for p in problems] == [(anchor.head_id, True)]
    with pytest.raises(CommandError, match="rewritten"):
        call_command("verify_audit")


def test_a_deleted_newest_anchor_is_detected(_anchor_file):
    _chain(2)
    services.anchor_chain()
    services.anchor_chain()
    lines = _anchor_file.read_text().splitlines()
    _anchor_file.write_text(lines[0] + "\n")
    problems = _problems()
    assert any("records anchor 2, which is not in the anchor store" in p for p in problems)
    with pytest.raises(CommandError):
        call_command("verify_audit")


@pytest.mark.parametrize("removed", [0, 1])
def test_a_deleted_older_anchor_is_detected(_anchor_file, removed):
    _chain(2)
    for _ in range(3):
        services.anchor_chain()
    lines = _anchor_file.read_text().splitlines()
    del lines[removed]
    _anchor_file.write_text("\n".join(lines) + "\n")
    assert any(f"anchor {removed + 1} is missing" in p for p in _problems())
    with pytest.raises(CommandError):
        call_command("verify_audit")


def test_an_altered_anchor_is_detected(_anchor_file):
    _chain(2)
    services.anchor_chain()
    data = json.loads(_anchor_file.read_text())
    data["head_hash"] = hashlib.sha256(b"forged").hexdigest()
    _anchor_file.write_text(json.dumps(data) + "\n")
    assert any("does not match its MAC" in p for p in _problems())


def test_an_unreadable_anchor_store_is_reported_not_crashed(_anchor_file):
    _chain(1)
    _anchor_file.write_text("not json\n")
    with pytest.raises(CommandError, match="unreadable anchor record"):
        call_command("verify_audit")


def test_anchors_written_under_another_key_are_named_as_such(settings):
    _chain(1)
    services.anchor_chain()
    settings.AUDIT_KEY = "another-audit-key-of-at-least-32-characters"
    assert any("written under another AUDIT_KEY" in p for p in _problems())


def test_a_store_that_cannot_be_written_leaves_no_anchor_event(tmp_path):
    _chain(1)
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    with pytest.raises(AnchorStoreError):
        services.anchor_chain(FileAnchorStore(blocked / "anchors.jsonl"))
    assert not AuditEvent.objects.filter(action=services.ANCHOR_ACTION).exists()
    assert services.verify().intact


def test_anchor_audit_command_reports_an_unwritable_store(settings, tmp_path):
    (tmp_path / "file-not-dir").write_text("")
    settings.AUDIT_ANCHOR_PATH = tmp_path / "file-not-dir" / "anchors.jsonl"
    with pytest.raises(CommandError, match="not anchored"):
        call_command("anchor_audit")


def test_the_scheduled_anchor_skips_when_nothing_happened_since(_anchor_file):
    _chain(1)
    assert anchor_audit_chain() == 1
    assert anchor_audit_chain() is None
    _chain(1, start=1)
    assert anchor_audit_chain() == 2
    assert len(_anchor_file.read_text().splitlines()) == 2


def test_beat_schedules_the_anchor(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["audit-anchor"]
    assert entry["task"] == anchor_audit_chain.name
    assert entry["schedule"] == settings.AUDIT_ANCHOR_INTERVAL_SECONDS


# --- the storage-backed writer ---------------------------------------------------------------------


@pytest.fixture
def storage_store(settings, tmp_path):
    settings.AUDIT_ANCHOR_STORE = "storage"
    settings.STORAGES = {
        **settings.STORAGES,
        "audit_anchors": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "bucket")},
        },
    }
    return StorageAnchorStore(FileSystemStorage(location=str(tmp_path / "bucket")))


def test_storage_anchors_are_one_write_once_object_each(storage_store):
    _chain(2)
    assert services.verify().intact  # nothing stored yet
    call_command("anchor_audit")
    first = services.anchor_chain()
    assert [a.seq for a in storage_store.read_all()] == [1, 2]
    with pytest.raises(AnchorStoreError, match="already exists"):
        storage_store.append(first)
    call_command("verify_audit")


def test_storage_deleted_anchor_is_detected(storage_store):
    _chain(2)
    services.anchor_chain()
    services.anchor_chain()
    storage_store.storage.delete("audit-anchors/000000000002.json")
    with pytest.raises(CommandError, match="not in the anchor store"):
        call_command("verify_audit")


# --- the key comes from the environment ------------------------------------------------------------


def _load_settings(**environ: str) -> subprocess.CompletedProcess:
    from recordings.keys import generate_entry

    env = {k: v for k, v in os.environ.items() if k not in ("AUDIT_KEY", "DJANGO_DEBUG")}
    env.update(
        DJANGO_SECRET_KEY="s" * 60,
        RECORDING_KEYS=generate_entry("prod-1"),
        DJANGO_ALLOWED_HOSTS="desk.example",
        TANDEM_TESTING="false",
    )
    env.update(environ)
    return subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_settings_refuse_a_missing_or_development_audit_key_without_debug():
    from config.settings import _AUDIT_DEV_KEY

    missing = _load_settings(DJANGO_DEBUG="false")
    assert missing.returncode != 0 and "AUDIT_KEY must be set" in missing.stderr
    dev = _load_settings(DJANGO_DEBUG="false", AUDIT_KEY=_AUDIT_DEV_KEY)
    assert dev.returncode != 0 and "AUDIT_KEY must be set" in dev.stderr
    short = _load_settings(DJANGO_DEBUG="false", AUDIT_KEY="short")
    assert short.returncode != 0 and "at least 32 characters" in short.stderr
    ok = _load_settings(DJANGO_DEBUG="false", AUDIT_KEY="k" * 43)
    assert ok.returncode == 0, ok.stderr
    assert _load_settings(DJANGO_DEBUG="true").returncode == 0
