"""Encrypted chunk blobs in Django storage: ``recordings/<recording_id>/<index>.bin``.

The storage is ``STORAGES["recordings"]`` when configured (e.g. a private S3 bucket through
django-storages), else the default storage (MEDIA_ROOT, outside the web root). A file-system storage
that would put blobs under a directory the web server serves is refused.

Chunk writes are all-or-nothing: on a local file system a chunk is written to a temporary file and
hard-linked into place (atomic, never overwrites); object stores replace whole objects on PUT. So a
crash mid-write leaves either the whole chunk or none of it, and the reader sees a clean tail.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage, storages

from recordings.crypto import normalize_recording_id

try:  # the S3 backend's client (boto3 is a requirement; the file system needs none of this)
    from botocore.exceptions import BotoCoreError, ClientError

    _OBJECT_STORE_ERRORS: tuple[type[Exception], ...] = (BotoCoreError, ClientError)
except ImportError:  # pragma: no cover - a deployment without boto3 stores on the file system
    _OBJECT_STORE_ERRORS = ()

STORAGE_ALIAS = "recordings"
DEFAULT_PREFIX = "recordings"
_CHUNK_NAME = re.compile(r"^(0|[1-9][0-9]{0,9})\.bin$")


class BlobStoreError(Exception):
    pass


class ChunkExistsError(BlobStoreError):
    """A different blob is already stored at this index (two writers on one recording?)."""


class StorageUnavailable(OSError):
    """The object store could not be reached or refused a read. Its client's own errors (botocore's)
    are not ``OSError``s; raised as one, every reader handles an object store's outage as it handles a
    file system's: the replay says "unreadable", never a server error."""


@contextlib.contextmanager
def _as_os_errors() -> Iterator[None]:
    try:
        yield
    except OSError:
        raise
    except _OBJECT_STORE_ERRORS as exc:
        raise StorageUnavailable(f"object store: {exc.__class__.__name__}") from exc


def recordings_storage() -> Storage:
    """``STORAGES["recordings"]`` if configured, else the default storage."""
    if STORAGE_ALIAS in getattr(settings, "STORAGES", {}):
        return storages[STORAGE_ALIAS]
    return default_storage


def _local_root(storage: Storage) -> Path | None:
    try:
        return Path(storage.path("")).resolve()
    except NotImplementedError:
        return None


def _web_roots() -> list[Path]:
    roots = [getattr(settings, "STATIC_ROOT", None), getattr(settings, "WHITENOISE_ROOT", None)]
    for entry in getattr(settings, "STATICFILES_DIRS", []):
        roots.append(entry[1] if isinstance(entry, tuple | list) else entry)
    return [Path(root).resolve() for root in roots if root]


def refuse_web_root(storage: Storage, prefix: str = DEFAULT_PREFIX) -> None:
    """Raise if a local storage would place recording blobs inside a directory that is served."""
    root = _local_root(storage)
    if root is None:
        return
    blob_dir = (root / prefix).resolve()
    for web_root in _web_roots():
        if blob_dir == web_root or web_root in blob_dir.parents:
            raise ImproperlyConfigured(
                f"recording blobs would be stored at {blob_dir}, inside the served directory {web_root}; "
                "set MEDIA_ROOT (or STORAGES['recordings']) outside the web root"
            )


class BlobStore:
    """Chunk blobs of recordings, addressed by recording id and chunk index."""

    def __init__(self, storage: Storage | None = None, *, prefix: str = DEFAULT_PREFIX) -> None:
        self.storage = storage if storage is not None else recordings_storage()
        self.prefix = prefix.strip("/")
        refuse_web_root(self.storage, self.prefix)
        self._local = _local_root(self.storage) is not None

    @property
    def is_local(self) -> bool:
        """True for a local file system (cheap reads); False for object stores (one request per chunk)."""
        return self._local

    def recording_dir(self, recording_id: Any) -> str:
        return f"{self.prefix}/{normalize_recording_id(recording_id)}"

    def chunk_path(self, recording_id: Any, index: int) -> str:
        if index < 0:
            raise ValueError("chunk index must be >= 0")
        return f"{self.recording_dir(recording_id)}/{index}.bin"

    def put_chunk(self, recording_id: Any, index: int, blob: bytes) -> str:
        """Store a chunk once. Storing the same bytes again is a no-op (a retried write)."""
        name = self.chunk_path(recording_id, index)
        if self.storage.exists(name):
            if self.get_chunk(recording_id, index) == blob:
                return name
            raise ChunkExistsError(f"{name} already holds a different chunk")
        if self._local:
            self._put_local(name, blob)
        else:
            saved = self.storage.save(name, ContentFile(blob))
            if saved != name:  # the storage picked another name: someone wrote this index meanwhile
                self.storage.delete(saved)
                raise ChunkExistsError(f"{name} was written concurrently")
        return name

    def _put_local(self, name: str, blob: bytes) -> None:
        final = Path(self.storage.path(name))
        mode = getattr(self.storage, "directory_permissions_mode", None)
        final.parent.mkdir(parents=True, exist_ok=True, **({"mode": mode} if mode is not None else {}))
        tmp = final.with_name(f".{final.name}.{secrets.token_hex(6)}.tmp")
        # Owner-only, whatever FILE_UPLOAD_PERMISSIONS says: only the app decrypts and serves these.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(blob)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(tmp, final)  # atomic and exclusive: never replaces an existing chunk
            except FileExistsError:
                if final.read_bytes() != blob:
                    raise ChunkExistsError(f"{name} was written concurrently") from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        dir_fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def get_chunk(self, recording_id: Any, index: int) -> bytes:
        with _as_os_errors(), self.storage.open(self.chunk_path(recording_id, index), "rb") as handle:
            return handle.read()

    def _listdir(self, recording_id: Any) -> list[str]:
        try:
            with _as_os_errors():
                return self.storage.listdir(self.recording_dir(recording_id))[1]
        except FileNotFoundError:
            return []

    def chunk_indices(self, recording_id: Any) -> list[int]:
        """Indices of the stored chunks, ascending (gaps included as they are)."""
        return sorted(
            int(m.group(1)) for name in self._listdir(recording_id) if (m := _CHUNK_NAME.match(name))
        )

    def stored_bytes(self, recording_id: Any) -> int:
        directory = self.recording_dir(recording_id)
        return sum(self.storage.size(f"{directory}/{name}") for name in self._listdir(recording_id))

    def delete_recording(self, recording_id: Any) -> int:
        """Delete every blob of the recording; returns how many were deleted. Idempotent."""
        directory = self.recording_dir(recording_id)
        names = self._listdir(recording_id)
        for name in names:
            self.storage.delete(f"{directory}/{name}")
        if self._local:
            with contextlib.suppress(FileNotFoundError, OSError):
                os.rmdir(self.storage.path(directory))
        return len(names)


def shred_recording(
    recording_id: Any, destroy_key: Callable[[], None], store: BlobStore | None = None
) -> int:
    """Crypto-shred a recording: destroy its wrapped data key first, then delete its blobs.

    ``destroy_key`` must durably set the stored wrapped key to ``b""`` (and commit) before returning;
    if it raises, no blob is touched. Once it has returned the recording is unreadable, even if blob
    deletion fails or copies of the blobs survive in backups. Safe to call again.
    """
    recording_id = normalize_recording_id(recording_id)
    destroy_key()
    return (store or BlobStore()).delete_recording(recording_id)
