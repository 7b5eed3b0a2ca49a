"""Envelope encryption for recordings (docs/recordings.md; format in docs/recordings-crypto.md).

Each recording gets a fresh 256-bit data key. Chunks are gzip-compressed event JSON sealed with
AES-256-GCM under that key; the associated data binds the recording id, the chunk index and the final
flag, so a chunk that is altered, moved, reordered, taken from another recording or stripped of its
final marker does not open. The data key is stored only wrapped (AES-256-GCM) by the active master
key; the wrapped blob names the master key and the recording. Destroying the wrapped key (setting it
to ``b""``) shreds the recording: the chunks become undecryptable even if copies survive.
"""

from __future__ import annotations

import hashlib
import os
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from recordings.keys import KeyRing, load_keyring

DATA_KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
# Level 5: ~130 MB/s of event JSON per core and within 1 % of level 6's size on rrweb streams
# (bench/recordings.py); level 6 halves the speed for no gain.
GZIP_LEVEL = 5
# Authenticated chunks come from our own writer; the cap only bounds memory if that ever goes wrong.
MAX_CHUNK_PLAINTEXT = 64 * 1024 * 1024

RECORDING_ID_MAX = 64
_RECORDING_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")

# Wrapped data key: magic | key id length (u8) | key id | recording id length (u8) | recording id |
# nonce | AES-GCM(data key). Everything before the nonce is associated data.
WRAP_MAGIC = b"TRK1"
_WRAP_CONTEXT = b"tandem/recording/data-key/v1\x00"

# Chunk: magic | flags (u8) | index (u32 BE) | recording tag (8) | nonce | AES-GCM(gzip(events JSON)).
# The associated data is a context label, the full recording id and the header before the nonce.
CHUNK_MAGIC = b"TRC1"
_CHUNK_HEADER = struct.Struct(">4sBI8s12s")
CHUNK_HEADER_BYTES = _CHUNK_HEADER.size
CHUNK_OVERHEAD = CHUNK_HEADER_BYTES + TAG_BYTES
_CHUNK_CONTEXT = b"tandem/recording/chunk/v1\x00"
FLAG_FINAL = 0x01
_KNOWN_FLAGS = FLAG_FINAL
MAX_CHUNK_INDEX = 2**32 - 1


class RecordingCryptoError(Exception):
    """Base class: a recording or one of its keys cannot be opened."""


class InvalidRecordingId(RecordingCryptoError, ValueError):
    pass


class WrappedKeyError(RecordingCryptoError):
    """The wrapped data key is malformed, altered, or belongs to another recording."""


class UnknownKeyError(WrappedKeyError):
    """The master key that wrapped the data key is not in the key ring."""


class KeyShreddedError(WrappedKeyError):
    """The data key was destroyed: the recording is deleted and cannot be read."""


class ChunkError(RecordingCryptoError):
    """A chunk failed verification; ``index`` says which one and the message says why."""

    def __init__(self, recording_id: str, index: int, reason: str) -> None:
        self.recording_id = recording_id
        self.index = index
        self.reason = reason
        super().__init__(f"recording {recording_id} chunk {index}: {reason}")


class ChunkFormatError(ChunkError):
    """Not a chunk of a format this code writes (wrong magic, too short, unknown flags)."""


class ChunkOrderError(ChunkError):
    """A chunk is in the wrong place: another index, another recording, or after the final chunk."""


class ChunkAuthenticationError(ChunkError):
    """AES-GCM refused the chunk: its bytes (ciphertext, nonce or header) were altered."""


class ChunkMissingError(ChunkError):
    """A chunk in the middle of the recording is absent."""


class TruncatedRecordingError(ChunkError):
    """The recording has no final chunk (writer crashed, or chunks were removed from the end)."""


def normalize_recording_id(recording_id: Any) -> str:
    """Recording ids are strings of ``[A-Za-z0-9_-]`` (UUIDs, integers): safe as a storage path."""
    text = str(recording_id)
    if not text or len(text) > RECORDING_ID_MAX or not set(text) <= _RECORDING_ID_CHARS:
        raise InvalidRecordingId(f"invalid recording id {text[:80]!r}: use 1-64 of [A-Za-z0-9_-]")
    return text


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=DATA_KEY_BYTES * 8)


# --- data key wrapping ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WrappedKeyInfo:
    key_id: str
    recording_id: str


def _wrap_header(key_id: str, recording_id: str) -> bytes:
    kid = key_id.encode("ascii")
    rid = recording_id.encode("ascii")
    return WRAP_MAGIC + bytes([len(kid)]) + kid + bytes([len(rid)]) + rid


def _parse_wrapped(wrapped: bytes) -> tuple[WrappedKeyInfo, bytes, bytes, bytes]:
    """Split a wrapped key into (info, header, nonce, ciphertext) without decrypting it."""
    if not wrapped:
        raise KeyShreddedError("the recording's data key was destroyed (shredded); it cannot be read")
    data = bytes(wrapped)
    try:
        if data[:4] != WRAP_MAGIC:
            raise ValueError("unknown format marker")
        pos = 4
        kid_len = data[pos]
        key_id = data[pos + 1 : pos + 1 + kid_len].decode("ascii")
        pos += 1 + kid_len
        rid_len = data[pos]
        recording_id = data[pos + 1 : pos + 1 + rid_len].decode("ascii")
        pos += 1 + rid_len
        if len(key_id) != kid_len or len(recording_id) != rid_len:
            raise ValueError("header is cut short")
    except (IndexError, ValueError, UnicodeDecodeError) as exc:
        raise WrappedKeyError(f"wrapped data key is malformed: {exc}") from None
    nonce, ciphertext = data[pos : pos + NONCE_BYTES], data[pos + NONCE_BYTES :]
    if len(ciphertext) != DATA_KEY_BYTES + TAG_BYTES:
        raise WrappedKeyError(f"wrapped data key is malformed: {len(data)} bytes is the wrong length")
    return WrappedKeyInfo(key_id, recording_id), data[:pos], nonce, ciphertext


def wrapped_key_info(wrapped: bytes) -> WrappedKeyInfo:
    """Which master key and which recording a wrapped key names (unauthenticated, for listings)."""
    return _parse_wrapped(wrapped)[0]


def wrap_data_key(data_key: bytes, recording_id: Any, keyring: KeyRing | None = None) -> bytes:
    """Wrap ``data_key`` under the active master key, bound to ``recording_id``."""
    if len(data_key) != DATA_KEY_BYTES:
        raise ValueError(f"data keys are {DATA_KEY_BYTES} bytes")
    keyring = keyring or load_keyring()
    master = keyring.active
    header = _wrap_header(master.key_id, normalize_recording_id(recording_id))
    nonce = os.urandom(NONCE_BYTES)
    return header + nonce + AESGCM(master.secret).encrypt(nonce, data_key, _WRAP_CONTEXT + header)


def unwrap_data_key(wrapped: bytes, recording_id: Any, keyring: KeyRing | None = None) -> bytes:
    """Recover the data key with whichever master key wrapped it; it must belong to ``recording_id``."""
    recording_id = normalize_recording_id(recording_id)
    info, header, nonce, ciphertext = _parse_wrapped(wrapped)
    if info.recording_id != recording_id:
        raise WrappedKeyError(
            f"wrapped data key belongs to recording {info.recording_id}, not to recording {recording_id}"
        )
    keyring = keyring or load_keyring()
    master = keyring.get(info.key_id)
    if master is None:
        raise UnknownKeyError(
            f"recording {recording_id}: its data key is wrapped by master key {info.key_id!r}, which is "
            f"not in RECORDING_KEYS (configured: {', '.join(keyring.key_ids)})"
        )
    try:
        return AESGCM(master.secret).decrypt(nonce, ciphertext, _WRAP_CONTEXT + header)
    except InvalidTag:
        raise WrappedKeyError(
            f"recording {recording_id}: wrapped data key failed authentication under master key "
            f"{info.key_id!r} (altered bytes, or a different key under the same id)"
        ) from None


def new_wrapped_key(recording_id: Any, keyring: KeyRing | None = None) -> tuple[bytes, bytes]:
    """A fresh data key for a new recording: ``(data_key, wrapped)``; persist only ``wrapped``."""
    data_key = new_data_key()
    return data_key, wrap_data_key(data_key, recording_id, keyring)


def rewrap(wrapped: bytes, keyring: KeyRing | None = None) -> bytes:
    """Re-wrap a data key under the key ring's active key; chunks are untouched.

    Returns ``wrapped`` itself when it is already under the active key, and ``b""`` for a shredded key.
    """
    if not wrapped:
        return b""
    keyring = keyring or load_keyring()
    info = wrapped_key_info(wrapped)
    data_key = unwrap_data_key(wrapped, info.recording_id, keyring)
    if info.key_id == keyring.active.key_id:
        return bytes(wrapped)
    return wrap_data_key(data_key, info.recording_id, keyring)


@dataclass
class RotationReport:
    rewrapped: int = 0
    current: int = 0
    shredded: int = 0
    failed: dict[str, str] = field(default_factory=dict)


def rotate_wrapped_keys(
    items: Iterable[tuple[Any, bytes]], keyring: KeyRing | None = None, report: RotationReport | None = None
) -> Iterator[tuple[Any, bytes]]:
    """Yield ``(ref, new_wrapped)`` for each wrapped key not yet under the active master key.

    ``items`` are ``(ref, wrapped)`` pairs (``ref`` is the caller's row id). Keys already current and
    shredded keys are counted and skipped; failures are recorded in ``report.failed`` and skipped, so
    one damaged row never stops a rotation. Safe to run again: a second pass yields nothing.
    """
    keyring = keyring or load_keyring()
    report = report if report is not None else RotationReport()
    for ref, wrapped in items:
        if not wrapped:
            report.shredded += 1
            continue
        try:
            new = rewrap(wrapped, keyring)
        except RecordingCryptoError as exc:
            report.failed[str(ref)] = str(exc)
            continue
        if new == bytes(wrapped):
            report.current += 1
            continue
        report.rewrapped += 1
        yield ref, new


# --- chunks ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChunkHeader:
    index: int
    final: bool
    recording_tag: bytes
    nonce: bytes


@dataclass(frozen=True)
class OpenedChunk:
    index: int
    final: bool
    payload: bytes  # the events JSON, decompressed


def recording_tag(recording_id: str) -> bytes:
    """Eight bytes naming the recording in each chunk header, so a foreign chunk is reported as such."""
    return hashlib.sha256(b"tandem/recording/tag\x00" + recording_id.encode("ascii")).digest()[:8]


def _chunk_aad(recording_id: str, header: bytes) -> bytes:
    rid = recording_id.encode("ascii")
    return _CHUNK_CONTEXT + bytes([len(rid)]) + rid + header[: CHUNK_HEADER_BYTES - NONCE_BYTES]


def _gzip(data: bytes) -> bytes:
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)  # 31: gzip container
    return compressor.compress(data) + compressor.flush()


def _gunzip(recording_id: str, index: int, data: bytes) -> bytes:
    decompressor = zlib.decompressobj(31)
    try:
        out = decompressor.decompress(data, MAX_CHUNK_PLAINTEXT)
    except zlib.error as exc:
        raise ChunkFormatError(recording_id, index, f"authenticated but not valid gzip ({exc})") from None
    if decompressor.unconsumed_tail:
        raise ChunkFormatError(recording_id, index, f"expands beyond {MAX_CHUNK_PLAINTEXT} bytes")
    if not decompressor.eof:
        raise ChunkFormatError(recording_id, index, "authenticated but the gzip stream is incomplete")
    return out


def seal_chunk(data_key: bytes, recording_id: Any, index: int, payload: bytes, *, final: bool) -> bytes:
    """Compress and encrypt one chunk of events JSON as chunk ``index`` of ``recording_id``."""
    recording_id = normalize_recording_id(recording_id)
    if not 0 <= index <= MAX_CHUNK_INDEX:
        raise ValueError(f"chunk index {index} out of range")
    nonce = os.urandom(NONCE_BYTES)
    header = _CHUNK_HEADER.pack(
        CHUNK_MAGIC, FLAG_FINAL if final else 0, index, recording_tag(recording_id), nonce
    )
    return header + AESGCM(data_key).encrypt(nonce, _gzip(payload), _chunk_aad(recording_id, header))


def read_chunk_header(blob: bytes, recording_id: str = "?", position: int = -1) -> ChunkHeader:
    """Parse a chunk header without authenticating it (errors name ``position``)."""
    if len(blob) < CHUNK_OVERHEAD:
        raise ChunkFormatError(recording_id, position, f"only {len(blob)} bytes, shorter than any chunk")
    magic, flags, index, tag, nonce = _CHUNK_HEADER.unpack_from(blob)
    if magic != CHUNK_MAGIC:
        raise ChunkFormatError(recording_id, position, f"unknown format marker {magic!r}")
    if flags & ~_KNOWN_FLAGS:
        raise ChunkFormatError(recording_id, position, f"unknown flags 0x{flags:02x} in the header")
    return ChunkHeader(index, bool(flags & FLAG_FINAL), tag, nonce)


def open_chunk(data_key: bytes, recording_id: Any, index: int, blob: bytes) -> OpenedChunk:
    """Verify and decrypt the chunk stored at position ``index`` of ``recording_id``."""
    recording_id = normalize_recording_id(recording_id)
    header = read_chunk_header(blob, recording_id, index)
    if header.recording_tag != recording_tag(recording_id):
        raise ChunkOrderError(recording_id, index, "the chunk belongs to another recording")
    if header.index != index:
        raise ChunkOrderError(
            recording_id,
            index,
            f"stored at position {index} but written as chunk {header.index} "
            "(chunks were swapped or reordered)",
        )
    try:
        compressed = AESGCM(data_key).decrypt(
            header.nonce, blob[CHUNK_HEADER_BYTES:], _chunk_aad(recording_id, blob[:CHUNK_HEADER_BYTES])
        )
    except InvalidTag:
        raise ChunkAuthenticationError(
            recording_id,
            index,
            "authentication failed: its ciphertext, nonce or header (final flag) "
            "was altered, or it was not written with this recording's data key",
        ) from None
    return OpenedChunk(index, header.final, _gunzip(recording_id, index, compressed))
