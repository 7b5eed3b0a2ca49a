"""Chunk blobs in Django storage, and crypto-shredding (recordings/blobstore.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage

from recordings.blobstore import BlobStore, ChunkExistsError, recordings_storage, shred_recording
from recordings.crypto import (
    InvalidRecordingId,
    KeyShreddedError,
    new_wrapped_key,
    open_chunk,
    seal_chunk,
    unwrap_data_key,
)
from tests.recordings.conftest import blob_path


def test_chunks_live_at_recordings_id_index_bin(store):
    assert store.chunk_path("abc-1", 12) == "recordings/abc-1/12.bin"
    store.put_chunk("abc-1", 0, b"zero")
    store.put_chunk("abc-1", 10, b"ten")
    store.put_chunk("abc-1", 2, b"two")
    assert store.chunk_indices("abc-1") == [0, 2, 10]
    assert store.get_chunk("abc-1", 10) == b"ten"
    assert blob_path(store, "abc-1", 2).read_bytes() == b"two"
    assert store.stored_bytes("abc-1") == 10
    assert store.chunk_indices("never-written") == []


@pytest.mark.parametrize("bad", ["../../etc", "a/b", "..", "", "x" * 65])
def test_path_traversal_ids_are_refused(store, bad):
    with pytest.raises(InvalidRecordingId):
        store.put_chunk(bad, 0, b"x")


def test_a_chunk_is_written_once_and_a_retry_of_the_same_bytes_is_harmless(store):
    store.put_chunk("r1", 0, b"first")
    store.put_chunk("r1", 0, b"first")
    with pytest.raises(ChunkExistsError):
        store.put_chunk("r1", 0, b"other")
    assert store.get_chunk("r1", 0) == b"first"


def test_local_writes_leave_no_temporary_files_and_are_private(store):
    store.put_chunk("r1", 0, b"data")
    directory = blob_path(store, "r1", 0).parent
    assert [p.name for p in directory.iterdir()] == ["0.bin"]
    assert blob_path(store, "r1", 0).stat().st_mode & 0o777 == 0o600


def test_stray_files_are_ignored_by_the_listing_but_deleted(store):
    store.put_chunk("r1", 0, b"data")
    directory = blob_path(store, "r1", 0).parent
    (directory / ".0.bin.abc.tmp").write_bytes(b"torn")
    (directory / "01.bin").write_bytes(b"not canonical")
    assert store.chunk_indices("r1") == [0]
    assert store.delete_recording("r1") == 3
    assert not directory.exists()


def test_delete_is_idempotent(store):
    for index in range(3):
        store.put_chunk("r1", index, b"x")
    store.put_chunk("r2", 0, b"y")
    assert store.delete_recording("r1") == 3
    assert store.delete_recording("r1") == 0
    assert store.chunk_indices("r1") == []
    assert store.get_chunk("r2", 0) == b"y"


def test_storage_inside_the_web_root_is_refused(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "public"
    with pytest.raises(ImproperlyConfigured, match="outside the web root"):
        BlobStore(FileSystemStorage(location=tmp_path / "public" / "media"))
    settings.STATIC_ROOT = tmp_path / "recordings"  # blobs would land exactly in a served directory
    with pytest.raises(ImproperlyConfigured):
        BlobStore(FileSystemStorage(location=tmp_path))
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATICFILES_DIRS = [("assets", str(tmp_path / "media"))]
    with pytest.raises(ImproperlyConfigured):
        BlobStore(FileSystemStorage(location=tmp_path / "media"))
    settings.STATICFILES_DIRS = []
    BlobStore(FileSystemStorage(location=tmp_path / "media"))


def test_configured_default_media_root_is_outside_the_web_root(settings):
    from django.conf import settings as conf

    media = Path(conf.MEDIA_ROOT).resolve()
    BlobStore()  # raises if the project's own configuration were wrong
    assert Path(conf.STATIC_ROOT).resolve() not in media.parents


def test_a_dedicated_recordings_storage_is_used_when_configured(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private")},
        },
    }
    store = BlobStore()
    assert recordings_storage() is store.storage
    store.put_chunk("r1", 0, b"x")
    assert (tmp_path / "private" / "recordings" / "r1" / "0.bin").read_bytes() == b"x"


# --- crypto-shredding -------------------------------------------------------------------------------


def _recorded(store, keyring, rid="shred-1", count=4):
    data_key, wrapped = new_wrapped_key(rid, keyring)
    for index in range(count):
        payload = b'[{"type":3,"data":{"i":%d}}]' % index
        store.put_chunk(rid, index, seal_chunk(data_key, rid, index, payload, final=index == count - 1))
    assert open_chunk(unwrap_data_key(wrapped, rid, keyring), rid, 0, store.get_chunk(rid, 0)).payload
    return wrapped


def test_shredding_destroys_the_key_before_the_blobs(store, keyring):
    row = {"wrapped_key": _recorded(store, keyring)}
    seen = []

    def destroy_key():
        seen.append(store.chunk_indices("shred-1"))  # the blobs still exist at this point
        row["wrapped_key"] = b""

    deleted = shred_recording("shred-1", destroy_key, store)
    assert seen and len(seen[0]) == deleted > 1
    assert row["wrapped_key"] == b""
    assert store.chunk_indices("shred-1") == []
    assert shred_recording("shred-1", destroy_key, store) == 0  # idempotent


def test_failed_key_destruction_leaves_the_blobs_alone(store, keyring):
    _recorded(store, keyring)
    before = store.chunk_indices("shred-1")

    def destroy_key():
        raise RuntimeError("database unavailable")

    with pytest.raises(RuntimeError):
        shred_recording("shred-1", destroy_key, store)
    assert store.chunk_indices("shred-1") == before


def test_blobs_that_survive_shredding_stay_unreadable(store, keyring, tmp_path):
    row = {"wrapped_key": _recorded(store, keyring)}
    backup = {i: store.get_chunk("shred-1", i) for i in store.chunk_indices("shred-1")}
    shred_recording("shred-1", lambda: row.update(wrapped_key=b""), store)
    for index, blob in backup.items():  # e.g. restored from a backup of the media volume
        store.put_chunk("shred-1", index, blob)
    with pytest.raises(KeyShreddedError):
        unwrap_data_key(row["wrapped_key"], "shred-1", keyring)
    # The master keys are not the data key: nothing still configured opens a surviving chunk.
    for master in keyring.keys:
        with pytest.raises(Exception, match="authentication failed"):
            open_chunk(master.secret, "shred-1", 0, backup[0])
