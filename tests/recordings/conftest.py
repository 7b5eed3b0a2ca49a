"""Fixtures for recording tests: a throwaway key ring and a file-system blob store in a temp dir."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage

from recordings.keys import KeyRing, generate_entry, parse_keyring


@pytest.fixture
def keyring() -> KeyRing:
    return parse_keyring([generate_entry("k1")])


@pytest.fixture
def store(tmp_path: Path):
    from recordings.blobstore import BlobStore

    return BlobStore(FileSystemStorage(location=tmp_path / "media"))


def blob_path(store, recording_id: str, index: int) -> Path:
    return Path(store.storage.path(store.chunk_path(recording_id, index)))
