"""Where chain heads are written so that a database writer cannot rewrite them (docs/audit.md).

An anchor is ``(seq, head id, head hash, time)``, HMAC-linked to the anchor before it. Two writers
behind one small interface:

- ``FileAnchorStore``: one JSON line per anchor appended to a file (``O_APPEND``); make the file
  append-only on the host (``chattr +a``) or ship it off the machine.
- ``StorageAnchorStore``: one write-once object per anchor in a Django storage; in production an S3
  bucket with Object Lock (django-storages), so not even the application's credentials can replace
  or delete an anchor within the retention period.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages

from audit import crypto


class AnchorStoreError(Exception):
    """The anchor store cannot be written or its content cannot be read as anchors."""


@dataclass(frozen=True)
class Anchor:
    seq: int
    head_id: int
    head_hash: str
    at: str
    key_id: str
    prev_mac: str
    mac: str = ""

    def signed_fields(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("mac")
        return data

    def expected_mac(self) -> str:
        return crypto.anchor_mac(self.signed_fields())

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Anchor:
        try:
            data = json.loads(text)
            return cls(
                seq=int(data["seq"]),
                head_id=int(data["head_id"]),
                head_hash=str(data["head_hash"]),
                at=str(data["at"]),
                key_id=str(data["key_id"]),
                prev_mac=str(data["prev_mac"]),
                mac=str(data["mac"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise AnchorStoreError(f"unreadable anchor record ({exc.__class__.__name__})") from None


class AnchorStore(Protocol):
    #: Where anchors go, for reports (a path or a storage alias; never a credential).
    location: str

    def append(self, anchor: Anchor) -> None:
        """Write one anchor; never replace one. Raise AnchorStoreError when it cannot be written."""

    def read_all(self) -> list[Anchor]:
        """Every anchor, in the order written."""


class FileAnchorStore:
    """Append-only JSON lines. The application never opens the file for anything but appending."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.location = str(self.path)

    def append(self, anchor: Anchor) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, (anchor.to_json() + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise AnchorStoreError(f"cannot append to {self.location}: {exc.strerror}") from None

    def read_all(self) -> list[Anchor]:
        if not self.path.exists():
            return []
        try:
            lines = self.path.read_text().splitlines()
        except OSError as exc:
            raise AnchorStoreError(f"cannot read {self.location}: {exc.strerror}") from None
        return [Anchor.from_json(line) for line in lines if line.strip()]


class StorageAnchorStore:
    """One write-once object per anchor, named by its sequence number, in a Django storage."""

    def __init__(self, storage: Storage, prefix: str = "audit-anchors/", location: str = "") -> None:
        self.storage = storage
        self.prefix = prefix
        self.location = location or prefix

    def _name(self, seq: int) -> str:
        return f"{self.prefix}{seq:012d}.json"

    def append(self, anchor: Anchor) -> None:
        name = self._name(anchor.seq)
        try:
            if self.storage.exists(name):
                raise AnchorStoreError(f"anchor {anchor.seq} already exists in {self.location}; not replaced")
            saved = self.storage.save(name, ContentFile(anchor.to_json().encode()))
        except AnchorStoreError:
            raise
        except Exception as exc:  # backend errors (network, permissions) are reported, not crashed on
            raise AnchorStoreError(f"cannot write to {self.location}: {exc.__class__.__name__}") from None
        if saved != name:
            raise AnchorStoreError(
                f"{self.location} renamed anchor {anchor.seq}; the store is not write-once"
            )

    def read_all(self) -> list[Anchor]:
        try:
            _, files = self.storage.listdir(self.prefix.rstrip("/"))
            anchors = []
            for filename in sorted(f for f in files if f.endswith(".json")):
                with self.storage.open(f"{self.prefix}{filename}", "rb") as handle:
                    anchors.append(Anchor.from_json(handle.read().decode()))
        except FileNotFoundError:  # nothing anchored yet (a file system storage without the folder)
            return []
        except AnchorStoreError:
            raise
        except Exception as exc:
            raise AnchorStoreError(f"cannot read {self.location}: {exc.__class__.__name__}") from None
        return sorted(anchors, key=lambda a: a.seq)


def get_store() -> AnchorStore:
    """The configured anchor store (``AUDIT_ANCHOR_STORE``: ``file`` or ``storage``)."""
    kind = getattr(settings, "AUDIT_ANCHOR_STORE", "file")
    if kind == "file":
        return FileAnchorStore(settings.AUDIT_ANCHOR_PATH)
    if kind == "storage":
        alias = getattr(settings, "AUDIT_ANCHOR_STORAGE_ALIAS", "audit_anchors")
        return StorageAnchorStore(storages[alias], location=f"storage '{alias}'")
    raise ImproperlyConfigured(f"AUDIT_ANCHOR_STORE must be 'file' or 'storage', not {kind!r}.")
