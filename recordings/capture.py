"""Buffered capture of a recording, and the verifying reader.

``RecordingWriter.append`` only serializes the event and adds it to an in-memory buffer; compression,
encryption and storage happen on a background thread (or in ``flush``/``aflush`` when started with
``background=False``). A chunk is cut when the buffer reaches ``chunk_bytes`` of event JSON or when
its oldest event is ``flush_interval`` seconds old, so a crashed process loses at most that interval.
``close`` writes the tail as the final chunk; a recording without one reads as incomplete.

Usage (the caller persists ``writer.wrapped_key`` with the recording before any chunk matters)::

    writer = RecordingWriter.start(recording.id)
    recording.wrapped_key = writer.wrapped_key
    ...
    writer.append(event)            # cheap, from the consumer
    summary = writer.close()        # or ``await writer.aclose()``
    playback = open_recording(recording.id, recording.wrapped_key).read()
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson

from recordings.blobstore import BlobStore
from recordings.crypto import (
    ChunkMissingError,
    ChunkOrderError,
    OpenedChunk,
    TruncatedRecordingError,
    new_wrapped_key,
    normalize_recording_id,
    open_chunk,
    seal_chunk,
    unwrap_data_key,
)
from recordings.keys import KeyRing

logger = logging.getLogger(__name__)

CHUNK_BYTES = 256 * 1024
FLUSH_INTERVAL = 5.0
MAX_PENDING_BYTES = 32 * 1024 * 1024
# Chunks fetched ahead in parallel when storage is remote (S3: one GET per chunk).
REMOTE_PREFETCH = 16


class CaptureError(Exception):
    pass


class CaptureClosedError(CaptureError):
    pass


class CaptureOverflowError(CaptureError):
    """Storage has fallen so far behind that the buffered events exceed ``max_pending_bytes``."""


class ResumeError(CaptureError):
    pass


@dataclass
class _Batch:
    index: int
    events: list[bytes]
    size: int
    final: bool
    blob: bytes | None = None  # sealed once, so a retried write stores identical bytes


@dataclass(frozen=True)
class CaptureSummary:
    recording_id: str
    chunks: int
    events: int
    json_bytes: int
    stored_bytes: int


class RecordingWriter:
    """Buffers events of one recording and writes them as encrypted chunks, in order."""

    def __init__(
        self,
        recording_id: Any,
        data_key: bytes,
        wrapped_key: bytes,
        *,
        store: BlobStore | None = None,
        start_index: int = 0,
        chunk_bytes: int = CHUNK_BYTES,
        flush_interval: float = FLUSH_INTERVAL,
        max_pending_bytes: int = MAX_PENDING_BYTES,
        background: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.recording_id = normalize_recording_id(recording_id)
        self.wrapped_key = wrapped_key
        self._data_key = data_key
        self._store = store or BlobStore()
        self._chunk_bytes = chunk_bytes
        self._flush_interval = flush_interval
        self._max_pending_bytes = max_pending_bytes
        self._clock = clock
        self._lock = threading.Lock()  # buffer, queue and counters
        self._io_lock = threading.Lock()  # one chunk write at a time, in index order
        self._buffer: list[bytes] = []
        self._buffer_bytes = 0
        self._buffer_since = 0.0
        self._queue: deque[_Batch] = deque()
        self._queued_bytes = 0
        self._next_index = start_index
        self._closed = False
        self._written_chunks = 0
        self._written_events = 0
        self._json_bytes = 0
        self._stored_bytes = 0
        self.last_error: BaseException | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(
                target=self._run, name=f"recording-writer-{self.recording_id}", daemon=True
            )
            self._thread.start()

    # --- construction --------------------------------------------------------------------------

    @classmethod
    def start(cls, recording_id: Any, *, keyring: KeyRing | None = None, **options: Any) -> RecordingWriter:
        """A writer for a new recording with a fresh data key; persist ``writer.wrapped_key``."""
        data_key, wrapped = new_wrapped_key(recording_id, keyring)
        return cls(recording_id, data_key, wrapped, **options)

    @classmethod
    def resume(
        cls,
        recording_id: Any,
        wrapped_key: bytes,
        *,
        keyring: KeyRing | None = None,
        store: BlobStore | None = None,
        **options: Any,
    ) -> RecordingWriter:
        """Continue an unfinished recording (e.g. after the writing process died) at the next index."""
        recording_id = normalize_recording_id(recording_id)
        data_key = unwrap_data_key(wrapped_key, recording_id, keyring)
        store = store or BlobStore()
        indices = store.chunk_indices(recording_id)
        start = 0
        if indices:
            last = open_chunk(data_key, recording_id, indices[-1], store.get_chunk(recording_id, indices[-1]))
            if last.final:
                raise ResumeError(f"recording {recording_id} is already closed (chunk {last.index} is final)")
            start = indices[-1] + 1
        return cls(recording_id, data_key, wrapped_key, store=store, start_index=start, **options)

    # --- capture -------------------------------------------------------------------------------

    def append(self, event: Any) -> None:
        """Buffer one event (any JSON-serializable value). Never touches storage."""
        data = orjson.dumps(event)
        cut = False
        with self._lock:
            if self._closed:
                raise CaptureClosedError(f"recording {self.recording_id} is closed")
            if self._queued_bytes + self._buffer_bytes + len(data) > self._max_pending_bytes:
                raise CaptureOverflowError(
                    f"recording {self.recording_id}: {self._queued_bytes} bytes wait for storage "
                    f"(last error: {self.last_error!r})"
                )
            if not self._buffer:
                self._buffer_since = self._clock()
            self._buffer.append(data)
            self._buffer_bytes += len(data)
            if self._buffer_bytes >= self._chunk_bytes:
                self._cut_locked(final=False)
                cut = True
        if cut:
            self._wake.set()

    def _cut_locked(self, *, final: bool) -> None:
        if not self._buffer and not final:
            return
        self._queue.append(_Batch(self._next_index, self._buffer, self._buffer_bytes, final))
        self._queued_bytes += self._buffer_bytes
        self._next_index += 1
        self._buffer = []
        self._buffer_bytes = 0

    def flush_due(self) -> bool:
        """True when the buffered events have waited ``flush_interval`` or a chunk waits for storage."""
        with self._lock:
            due = bool(self._buffer) and self._clock() - self._buffer_since >= self._flush_interval
            return due or bool(self._queue)

    def _cut_if_due(self) -> None:
        with self._lock:
            if self._buffer and self._clock() - self._buffer_since >= self._flush_interval:
                self._cut_locked(final=False)

    def flush(self) -> int:
        """Write the buffered events as one chunk now (plus anything queued); returns chunks written."""
        with self._lock:
            self._cut_locked(final=False)
        return self._drain()

    async def aflush(self) -> int:
        return await asyncio.to_thread(self.flush)

    def _drain(self) -> int:
        """Seal and store queued chunks in index order; on error the chunk stays queued for a retry."""
        written = 0
        with self._io_lock:
            while True:
                with self._lock:
                    if not self._queue:
                        return written
                    batch = self._queue[0]
                if batch.blob is None:
                    payload = b"[" + b",".join(batch.events) + b"]"
                    batch.blob = seal_chunk(
                        self._data_key, self.recording_id, batch.index, payload, final=batch.final
                    )
                self._store.put_chunk(self.recording_id, batch.index, batch.blob)
                with self._lock:
                    self._queue.popleft()
                    self._queued_bytes -= batch.size
                    self._written_chunks += 1
                    self._written_events += len(batch.events)
                    self._json_bytes += batch.size
                    self._stored_bytes += len(batch.blob)
                    self.last_error = None
                written += 1

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            if failures:
                timeout = min(0.1 * 2**failures, self._flush_interval)
            else:
                with self._lock:
                    waited = self._clock() - self._buffer_since if self._buffer else 0.0
                timeout = max(0.01, self._flush_interval - waited)
            self._wake.wait(timeout)
            self._wake.clear()
            if self._stop.is_set():
                return
            self._cut_if_due()
            try:
                self._drain()
                failures = 0
            except Exception as exc:  # storage trouble: keep the chunk queued and retry with backoff
                failures = min(failures + 1, 6)
                self.last_error = exc
                logger.warning("recording %s: chunk write failed, will retry: %r", self.recording_id, exc)

    def close(self) -> CaptureSummary:
        """Write the tail as the final chunk and stop. Raises if storage still fails (call again)."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._cut_locked(final=True)
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._drain()
        return self.summary()

    async def aclose(self) -> CaptureSummary:
        return await asyncio.to_thread(self.close)

    def summary(self) -> CaptureSummary:
        with self._lock:
            return CaptureSummary(
                self.recording_id,
                self._written_chunks,
                self._written_events,
                self._json_bytes,
                self._stored_bytes,
            )

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chunk:
    index: int
    final: bool
    events: list[Any]


@dataclass(frozen=True)
class Playback:
    events: list[Any]
    chunks: int
    complete: bool


class RecordingReader:
    """Reads a recording's chunks in order, verifying each one before yielding its events.

    A missing middle chunk, a chunk out of place or from another recording, an altered chunk, or
    chunks after the final one raise a ``ChunkError`` naming the chunk. A missing tail (no final
    chunk) is not an error unless ``require_complete``: ``complete`` is then False after reading.
    """

    def __init__(
        self,
        recording_id: Any,
        wrapped_key: bytes,
        *,
        keyring: KeyRing | None = None,
        store: BlobStore | None = None,
        expected_chunks: int | None = None,
        prefetch: int | None = None,
    ) -> None:
        self.recording_id = normalize_recording_id(recording_id)
        self._data_key = unwrap_data_key(wrapped_key, self.recording_id, keyring)
        self._store = store or BlobStore()
        self._expected_chunks = expected_chunks
        self._prefetch = (
            prefetch if prefetch is not None else (0 if self._store.is_local else REMOTE_PREFETCH)
        )
        self.complete: bool | None = None  # known once every chunk has been read

    def _indices(self) -> list[int]:
        indices = self._store.chunk_indices(self.recording_id)
        for position, index in enumerate(indices):
            if index != position:
                raise ChunkMissingError(
                    self.recording_id, position, "missing from storage (chunks follow it)"
                )
        if self._expected_chunks is not None and len(indices) < self._expected_chunks:
            raise ChunkMissingError(
                self.recording_id,
                len(indices),
                f"missing: {self._expected_chunks} chunks were written, {len(indices)} are stored",
            )
        return indices

    def _blobs(self, indices: list[int]) -> Iterator[tuple[int, bytes]]:
        """Chunk blobs in index order; with ``prefetch`` > 1, fetched that many at a time in parallel."""
        if self._prefetch <= 1:
            for index in indices:
                yield index, self._store.get_chunk(self.recording_id, index)
            return
        with ThreadPoolExecutor(self._prefetch, thread_name_prefix="recording-prefetch") as pool:
            ahead: deque[tuple[int, Future[bytes]]] = deque()
            pending = iter(indices)
            try:
                for index in pending:
                    ahead.append((index, pool.submit(self._store.get_chunk, self.recording_id, index)))
                    if len(ahead) >= self._prefetch * 2:
                        break
                while ahead:
                    index, future = ahead.popleft()
                    following = next(pending, None)
                    if following is not None:
                        ahead.append(
                            (following, pool.submit(self._store.get_chunk, self.recording_id, following))
                        )
                    yield index, future.result()
            finally:
                for _, future in ahead:
                    future.cancel()

    def payloads(self, *, require_complete: bool = False) -> Iterator[OpenedChunk]:
        """Verified, decompressed chunks as JSON array bytes, in order: stream these to a player as is."""
        self.complete = None
        indices = self._indices()
        final_seen = False
        for index, blob in self._blobs(indices):
            if final_seen:
                raise ChunkOrderError(self.recording_id, index, "stored after the final chunk")
            opened = open_chunk(self._data_key, self.recording_id, index, blob)
            final_seen = opened.final
            yield opened
        self.complete = final_seen
        if require_complete and not final_seen:
            raise TruncatedRecordingError(
                self.recording_id,
                len(indices),
                "missing: the recording has no final chunk (the writer stopped, or chunks were removed)",
            )

    def chunks(self, *, require_complete: bool = False) -> Iterator[Chunk]:
        for opened in self.payloads(require_complete=require_complete):
            yield Chunk(opened.index, opened.final, orjson.loads(opened.payload))

    def events(self, *, require_complete: bool = False) -> Iterator[Any]:
        for chunk in self.chunks(require_complete=require_complete):
            yield from chunk.events

    def read(self, *, require_complete: bool = False) -> Playback:
        events: list[Any] = []
        count = 0
        for chunk in self.chunks(require_complete=require_complete):
            events.extend(chunk.events)
            count += 1
        return Playback(events, count, bool(self.complete))


def open_recording(recording_id: Any, wrapped_key: bytes, **options: Any) -> RecordingReader:
    """A verifying reader; raises ``KeyShreddedError`` / ``UnknownKeyError`` before touching chunks."""
    return RecordingReader(recording_id, wrapped_key, **options)
