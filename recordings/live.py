"""The capture API the live relay calls (live/consumers/customer.py).

    recorder = await open_recorder(session_id)     # None: do not record this session
    recorder.append(envelope)                       # every relayed frame; cheap, never does I/O
    await recorder.stop("ended")                    # flush the tail, finish the row; idempotent

``append`` serializes the envelope into the writer's memory buffer and returns; a timer task on the
consumer's event loop seals and stores due chunks in a worker thread (``RecordingWriter.aflush``), so
the relay never waits for storage. One writer per recording: a Redis lock (``cache.add``) keeps a
second process from writing the same chunk indices, and within a process a second ``open_recorder``
for the same session shares the first recorder.

``stop("disconnect")`` while the session is still sharing with recording consent only suspends the
recording (no final chunk): the customer's reconnect resumes it at the next chunk. Any other reason
(ended, revoked, consent withdrawn) writes the final chunk and closes the recording for good.

A resumed recording that went without events for longer than ``GAP_MARK_SECONDS`` (the customer's
socket lost, Redis or a web node restarted) starts again with a ``gap`` event ``{from, to, seconds}``
(milliseconds since the epoch), so the replay's timeline says where nothing could be recorded
instead of joining the two sides as if they were one.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta

from channels.db import database_sync_to_async
from django.core.cache import cache

from recordings import services
from recordings.blobstore import BlobStore
from recordings.capture import (
    CaptureClosedError,
    CaptureOverflowError,
    RecordingWriter,
    ResumeError,
)
from recordings.crypto import RecordingCryptoError

logger = logging.getLogger(__name__)

#: Envelope types kept in a recording: what the agent saw (already redacted) and what the agent did.
RECORDED_TYPES = frozenset(
    {"rrweb", "page", "signal", "annotate", "action", "action_request", "mode", "control"}
)
#: Reasons that only suspend capture when the session goes on (the customer may reconnect).
SUSPEND_REASONS = frozenset({"disconnect", "disconnected", "reconnecting"})
FLUSH_CHECK_SECONDS = 0.5
PROGRESS_EVERY_SECONDS = 30.0
# The writer's lock lapses this long after its process stopped renewing it (a web node killed): a
# page reconnecting to another node records again once it has (the consumer retries).
WRITER_LOCK_SECONDS = 15
LOCK_RENEW_SECONDS = 5.0
MIN_FRAME_INTERVAL_MS = 500  # browser sessions: at most two frames a second
GAP_MARK_SECONDS = 2.0  # a page navigation's reconnect is usually shorter and is not marked

_recorders: dict[int, SessionRecorder] = {}


def _writer_lock_key(recording_id: int) -> str:
    return f"recordings:writer:{recording_id}"


def _now_ms() -> int:
    return int(time.time() * 1000)


class SessionRecorder:
    """Captures one session's recording. Create with :func:`open_recorder`."""

    def __init__(
        self,
        session_id: int,
        recording_id: int,
        writer: RecordingWriter,
        *,
        chunk_base: int,
        event_base: int,
        byte_base: int,
        lock_token: str,
    ) -> None:
        self.session_id = session_id
        self.recording_id = recording_id
        self._writer = writer
        self._chunk_base = chunk_base
        self._event_base = event_base
        self._byte_base = byte_base
        self._lock_token = lock_token
        self._refs = 1
        self._stopped = False
        self._stop_task: asyncio.Task | None = None
        self._last_at: int | None = None
        self._last_frame_at = 0
        self.dropped = 0
        self.final = False
        self._timer = asyncio.get_running_loop().create_task(self._flush_loop())

    @property
    def stopped(self) -> bool:
        return self._stopped

    # --- capture -----------------------------------------------------------------------------

    def append(self, envelope: dict) -> None:
        """Keep one relayed envelope ``{type, seq, ts, data}`` (already redacted). Never blocks."""
        if self._stopped or not isinstance(envelope, dict):
            return
        msg_type = envelope.get("type")
        if msg_type not in RECORDED_TYPES:
            return
        at = _now_ms()
        self._put(
            {
                "type": msg_type,
                "seq": envelope.get("seq"),
                "ts": envelope.get("ts"),
                "at": at,
                "data": envelope.get("data"),
            },
            at,
        )

    def append_frame(self, jpeg_bytes: bytes, ts: int) -> None:
        """A screencast frame of a server-side browser session (dropped above two a second)."""
        if self._stopped:
            return
        at = _now_ms()
        if at - self._last_frame_at < MIN_FRAME_INTERVAL_MS:
            return
        self._last_frame_at = at
        data = {"jpeg": base64.b64encode(jpeg_bytes).decode("ascii")}
        self._put({"type": "frame", "seq": None, "ts": int(ts), "at": at, "data": data}, at)

    def mark_gap(self, since: datetime | None) -> None:
        """Say on the timeline that nothing was recorded from ``since`` (the last event kept) to now."""
        if since is None or self._stopped:
            return
        at = _now_ms()
        start = int(since.timestamp() * 1000)
        if at - start < GAP_MARK_SECONDS * 1000:
            return
        data = {"from": start, "to": at, "seconds": round((at - start) / 1000, 1)}
        self._put({"type": "gap", "seq": None, "ts": None, "at": at, "data": data}, at)

    def _put(self, event: dict, at: int) -> None:
        try:
            self._writer.append(event)
        except CaptureOverflowError:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                logger.warning(
                    "recording %s: storage is behind, %s events dropped", self.recording_id, self.dropped
                )
            return
        except CaptureClosedError:
            return
        except (TypeError, ValueError):
            logger.warning("recording %s: an envelope could not be serialized", self.recording_id)
            return
        self._last_at = at

    # --- background ----------------------------------------------------------------------------

    async def _flush_loop(self) -> None:
        last_progress = last_renewal = time.monotonic()
        while not self._stopped:
            await asyncio.sleep(FLUSH_CHECK_SECONDS)
            if self._stopped:
                return
            try:
                if self._writer.flush_due():
                    await self._writer.aflush()
            except Exception as exc:  # storage trouble: the chunk stays queued, retried next tick
                self._writer.last_error = exc
                logger.warning("recording %s: chunk write failed, will retry: %r", self.recording_id, exc)
            if time.monotonic() - last_renewal >= LOCK_RENEW_SECONDS:
                last_renewal = time.monotonic()
                with contextlib.suppress(Exception):
                    await cache.aset(
                        _writer_lock_key(self.recording_id), self._lock_token, WRITER_LOCK_SECONDS
                    )
            if time.monotonic() - last_progress >= PROGRESS_EVERY_SECONDS:
                last_progress = time.monotonic()
                with contextlib.suppress(Exception):
                    await self._save_progress(final=False)

    async def _save_progress(self, *, final: bool) -> None:
        summary = self._writer.summary()
        last = datetime.fromtimestamp(self._last_at / 1000, tz=UTC) if self._last_at else None
        await database_sync_to_async(services.record_progress)(
            self.recording_id,
            chunks=self._chunk_base + summary.chunks,
            stored_bytes=self._byte_base + summary.stored_bytes,
            events=self._event_base + summary.events,
            last_event_at=last,
            final=final,
        )

    # --- stopping ------------------------------------------------------------------------------

    async def stop(self, reason: str) -> None:
        """Stop capturing now (later ``append`` calls are ignored), then store the tail. Idempotent."""
        if self._stop_task is None:
            if reason in SUSPEND_REASONS and self._refs > 1:
                self._refs -= 1  # another socket of this session still records into it
                return
            self._stopped = True
            self._stop_task = asyncio.get_running_loop().create_task(self._finish(reason))
        await asyncio.shield(self._stop_task)

    async def _finish(self, reason: str) -> None:
        self._timer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._timer
        if _recorders.get(self.session_id) is self:
            del _recorders[self.session_id]
        try:
            final = True
            if reason in SUSPEND_REASONS:
                final = not await database_sync_to_async(_session_goes_on)(self.session_id)
            for attempt in range(3):
                try:
                    if final:
                        await self._writer.aclose()
                    else:
                        await self._writer.aflush()
                    break
                except Exception:
                    logger.warning(
                        "recording %s: storing the tail failed (try %s)",
                        self.recording_id,
                        attempt + 1,
                        exc_info=True,
                    )
                    if attempt == 2:
                        final = False  # the row stays open: the recording reads as incomplete
                    await asyncio.sleep(0.2 * 2**attempt)
            self.final = final
            await self._save_progress(final=final)
        finally:
            with contextlib.suppress(Exception):
                key = _writer_lock_key(self.recording_id)
                if await cache.aget(key) == self._lock_token:
                    await cache.adelete(key)


def _session_goes_on(session_id: int) -> bool:
    from cobrowse.models import SHARING_STATES, CoBrowseSession

    session = CoBrowseSession.objects.select_related("ticket__account", "customer__account").get(
        pk=session_id
    )
    return session.state in SHARING_STATES and services.recording_allowed(session)


def _resume(recording_id: int, wrapped_key: bytes) -> tuple[RecordingWriter, int]:
    store = BlobStore()
    writer = RecordingWriter.resume(recording_id, wrapped_key, store=store, background=False)
    return writer, len(store.chunk_indices(recording_id))


async def open_recorder(session_id: int) -> SessionRecorder | None:
    """Start or resume recording a session; None unless the customer consented to recording, the
    account allows it and the session is sharing (or another process holds the recording)."""
    from cobrowse.models import CoBrowseSession

    current = _recorders.get(session_id)
    if current is not None and not current.stopped:
        current._refs += 1
        return current
    try:
        target = await database_sync_to_async(services.begin_capture)(session_id)
    except CoBrowseSession.DoesNotExist:
        return None
    if target is None:
        return None
    recording = target.recording
    token = uuid.uuid4().hex
    if not await cache.aadd(_writer_lock_key(recording.pk), token, WRITER_LOCK_SECONDS):
        logger.warning("recording %s: another process is writing it; not recording here", recording.pk)
        return None
    try:
        if target.data_key is not None:
            writer = RecordingWriter(
                recording.pk, target.data_key, bytes(recording.wrapped_key), background=False
            )
            chunk_base = 0
        else:
            writer, chunk_base = await asyncio.to_thread(_resume, recording.pk, bytes(recording.wrapped_key))
        resumed = target.data_key is None
    except (ResumeError, RecordingCryptoError) as exc:
        await cache.adelete(_writer_lock_key(recording.pk))
        logger.warning("recording %s: cannot resume: %s", recording.pk, exc)
        return None
    except Exception as exc:  # storage unreachable: not recording now, the next open resumes it
        await cache.adelete(_writer_lock_key(recording.pk))
        logger.warning("recording %s: storage unavailable, not resuming now: %r", recording.pk, exc)
        return None
    recorder = SessionRecorder(
        session_id,
        recording.pk,
        writer,
        chunk_base=chunk_base,
        event_base=recording.event_count,
        byte_base=recording.bytes_stored,
        lock_token=token,
    )
    current = _recorders.get(session_id)
    if current is not None and not current.stopped:  # lost a race within this process
        await recorder.stop("disconnect")
        current._refs += 1
        return current
    _recorders[session_id] = recorder
    if resumed:
        # The last event kept so far: duration_ms is counted from started_at up to it.
        recorder.mark_gap(recording.started_at + timedelta(milliseconds=recording.duration_ms))
    return recorder
