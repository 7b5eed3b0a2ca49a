"""Every write to recordings: capture bookkeeping, highlights, customer access, deletion, retention.

Rules: writes run in ``transaction.atomic`` with the rows they change locked; side effects (e-mail,
blob deletion) happen after the commit. Deletion is crypto-shredding (``blobstore.shred_recording``):
the wrapped data key is destroyed and committed first, then the blobs go. Audit details carry ids,
counts and reasons only, never content or personal data.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts import mail, permissions
from accounts.models import CustomerAccount, User
from audit import services as audit
from recordings import crypto
from recordings.blobstore import BlobStore, shred_recording
from recordings.models import (
    AccessRequestState,
    DeletionReason,
    Highlight,
    Recording,
    RecordingAccessRequest,
    RecordingKind,
)

if TYPE_CHECKING:  # imported where used: cobrowse's models import this app's modules as they load
    from cobrowse.models import CoBrowseSession
    from recordings.keys import KeyRing

logger = logging.getLogger(__name__)

RETENTION_LOCK_KEY = "recordings:retention-lock"
RETENTION_LOCK_SECONDS = 60 * 60
# Recordings shredded this recently have their blobs deleted again by each retention run: a deletion
# whose storage was unreachable left them behind (unreadable, their key is gone, but still stored).
LEFTOVER_SWEEP_DAYS = 7
ROTATION_BATCH = 200


# --- retention policy ----------------------------------------------------------------------------


def retention_days(account: CustomerAccount | None) -> int:
    """Days to keep a recording: the account's override, else shorter for regulated industries."""
    default = int(settings.RECORDING_RETENTION_DAYS)
    if account is None:
        return default
    if account.recording_retention_days:
        return int(account.recording_retention_days)
    if account.is_regulated:
        return min(default, int(getattr(settings, "RECORDING_RETENTION_DAYS_REGULATED", 30)))
    return default


def session_account(session: CoBrowseSession) -> CustomerAccount | None:
    account = session.ticket.account
    if account is None and session.customer is not None:
        account = session.customer.account
    return account


def recording_allowed(session: CoBrowseSession) -> bool:
    """The customer consented to recording and the customer's company allows it."""
    account = session_account(session)
    return bool(session.recording) and (account is None or account.recording_allowed)


# --- capture bookkeeping (called by recordings.live) ---------------------------------------------


@dataclass
class CaptureTarget:
    recording: Recording
    data_key: bytes | None  # set for a new recording; None: resume with the stored wrapped key


@transaction.atomic
def begin_capture(session_id: int) -> CaptureTarget | None:
    """Create the session's recording (with a fresh wrapped data key) or return the open one.

    None when the session must not be recorded (no consent, account forbids it, not sharing) or its
    recording is already finished or deleted.
    """
    from cobrowse.models import SHARING_STATES, CoBrowseSession

    session = (
        CoBrowseSession.objects.select_for_update(of=("self",))
        .select_related("ticket__account", "customer__account")
        .get(pk=session_id)
    )
    if session.state not in SHARING_STATES or not recording_allowed(session):
        return None
    existing = Recording.objects.select_for_update().filter(session=session).first()
    if existing is not None:
        if existing.ended_at is not None or existing.is_deleted or not existing.wrapped_key:
            return None
        return CaptureTarget(existing, None)
    now = timezone.now()
    recording = Recording.objects.create(
        session=session,
        kind=RecordingKind.BROWSER if session.kind == "browser" else RecordingKind.DOM,
        started_at=now,
        retention_until=now + timedelta(days=retention_days(session_account(session))),
    )
    data_key, wrapped = crypto.new_wrapped_key(recording.pk)
    recording.wrapped_key = wrapped
    recording.key_id = crypto.wrapped_key_info(wrapped).key_id
    recording.save(update_fields=["wrapped_key", "key_id"])
    audit.record(
        "recording.started", obj=recording, details={"recording": recording.pk, "session": session.pk}
    )
    return CaptureTarget(recording, data_key)


@transaction.atomic
def record_progress(
    recording_id: int,
    *,
    chunks: int,
    stored_bytes: int,
    events: int,
    last_event_at: datetime | None,
    final: bool,
) -> Recording:
    """Store how far capture got; ``final`` closes the recording (its last chunk is the final one)."""
    recording = Recording.objects.select_for_update().get(pk=recording_id)
    recording.chunk_count = max(recording.chunk_count, chunks)
    recording.bytes_stored = max(recording.bytes_stored, stored_bytes)
    recording.event_count = max(recording.event_count, events)
    if last_event_at is not None:
        elapsed = int((last_event_at - recording.started_at).total_seconds() * 1000)
        recording.duration_ms = max(recording.duration_ms, elapsed, 0)
    fields = ["chunk_count", "bytes_stored", "event_count", "duration_ms"]
    if final and recording.ended_at is None:
        recording.ended_at = timezone.now()
        recording.complete = True
        fields += ["ended_at", "complete"]
        audit.record(
            "recording.ended",
            obj=recording,
            details={"recording": recording.pk, "chunks": recording.chunk_count},
        )
    recording.save(update_fields=fields)
    return recording


def close_abandoned(now: datetime | None = None) -> int:
    """Finish recordings whose session ended while no writer was attached (e.g. never reconnected).

    Writes the missing final chunk, so the recording reads as complete. Skips any recording a live
    writer holds. Returns how many were closed.
    """
    from cobrowse.models import TERMINAL_STATES
    from recordings.capture import RecordingWriter, ResumeError

    closed = 0
    candidates = Recording.objects.filter(
        ended_at__isnull=True, deleted_at__isnull=True, session__state__in=sorted(TERMINAL_STATES)
    ).values_list("pk", flat=True)
    for pk in list(candidates):
        lock = f"recordings:writer:{pk}"
        if not cache.add(lock, "sweep", timeout=120):
            continue
        try:
            recording = Recording.objects.get(pk=pk)
            store = BlobStore()
            try:
                writer = RecordingWriter.resume(
                    pk, bytes(recording.wrapped_key), store=store, background=False
                )
                writer.close()
            except ResumeError:
                pass  # the final chunk is there: only the row was not updated
            indices = store.chunk_indices(pk)
            record_progress(
                pk,
                chunks=len(indices),
                stored_bytes=store.stored_bytes(pk),
                events=recording.event_count,
                last_event_at=None,
                final=True,
            )
            closed += 1
        except crypto.RecordingCryptoError:
            logger.warning("recording %s: cannot close an abandoned recording", pk, exc_info=True)
        finally:
            cache.delete(lock)
    return closed


# --- viewing (audit only) -----------------------------------------------------------------------


def note_access(recording: Recording, actor: User, action: str, **details: Any) -> None:
    """Every view and download of recording content leaves an audit row."""
    audit.record(
        f"recording.{action}", actor=actor, obj=recording, details={"recording": recording.pk, **details}
    )


# --- highlights -----------------------------------------------------------------------------------


def _clean_tags(tags: Iterable[str] | str) -> list[str]:
    if isinstance(tags, str):
        tags = tags.split(",")
    out: list[str] = []
    for tag in tags:
        tag = str(tag).strip().lower()[:40]
        if tag and tag not in out:
            out.append(tag)
    return out[:10]


@transaction.atomic
def create_highlight(
    recording: Recording,
    *,
    actor: User,
    start_ms: int,
    end_ms: int,
    title: str,
    tags: Iterable[str] | str = (),
) -> Highlight:
    if not permissions.can_view_recording(actor, recording):
        raise PermissionDenied("You may not mark highlights on this recording.")
    if recording.is_deleted:
        raise ValidationError("This recording was deleted.")
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": "Give the highlight a title."})
    start_ms, end_ms = int(start_ms), int(end_ms)
    if start_ms < 0 or end_ms <= start_ms:
        raise ValidationError({"end_ms": "The end must come after the start."})
    if recording.duration_ms and start_ms > recording.duration_ms:
        raise ValidationError({"start_ms": "The start is after the end of the recording."})
    highlight = Highlight.objects.create(
        recording=recording,
        start_ms=start_ms,
        end_ms=end_ms,
        title=title[:200],
        tags=_clean_tags(tags),
        created_by=actor,
    )
    audit.record(
        "recording.highlight_created",
        actor=actor,
        obj=recording,
        details={"recording": recording.pk, "highlight": highlight.pk},
    )
    return highlight


@transaction.atomic
def delete_highlight(highlight: Highlight, *, actor: User) -> None:
    if not (permissions.is_manager(actor) or highlight.created_by_id == actor.pk):
        raise PermissionDenied("Only its author or a manager can remove a highlight.")
    recording = highlight.recording
    pk = highlight.pk
    highlight.delete()
    audit.record(
        "recording.highlight_deleted",
        actor=actor,
        obj=recording,
        details={"recording": recording.pk, "highlight": pk},
    )


# --- customer access ----------------------------------------------------------------------------


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def access_link_days() -> int:
    return int(getattr(settings, "RECORDING_ACCESS_LINK_DAYS", 7))


@transaction.atomic
def request_access(recording: Recording, *, customer: User) -> RecordingAccessRequest:
    """The recorded customer asks for a copy; a manager decides. One open request at a time."""
    recording = Recording.objects.select_for_update().get(pk=recording.pk)
    if not permissions.is_recording_subject(customer, recording):
        raise PermissionDenied("This is not your recording.")
    if recording.is_deleted:
        raise ValidationError("This recording was deleted.")
    open_request = RecordingAccessRequest.objects.filter(
        recording=recording, customer=customer, state=AccessRequestState.REQUESTED
    ).first()
    if open_request is not None:
        return open_request
    req = RecordingAccessRequest.objects.create(recording=recording, customer=customer)
    audit.record(
        "recording.access_requested",
        actor=customer,
        obj=recording,
        details={"recording": recording.pk, "request": req.pk},
    )
    return req


@dataclass(frozen=True)
class AccessDecision:
    request: RecordingAccessRequest
    link: str | None  # the one-time readable link (only its hash is stored)


def customer_link_path(token: str) -> str:
    return reverse("recordings:customer_copy", args=[token])


@transaction.atomic
def decide_access_request(request_id: int, *, manager: User, approve: bool) -> AccessDecision:
    if not permissions.is_manager(manager):
        raise PermissionDenied("Only managers decide on copies of recordings.")
    req = (
        RecordingAccessRequest.objects.select_for_update()
        .select_related("recording", "customer")
        .get(pk=request_id)
    )
    if req.state != AccessRequestState.REQUESTED:
        raise ValidationError("This request was already decided.")
    now = timezone.now()
    req.decided_by = manager
    req.decided_at = now
    link = None
    if approve and not req.recording.is_deleted:
        token = secrets.token_urlsafe(32)
        req.state = AccessRequestState.APPROVED
        req.token_hash = _hash_token(token)
        req.expires_at = now + timedelta(days=access_link_days())
        link = settings.TANDEM_BASE_URL.rstrip("/") + customer_link_path(token)
    else:
        req.state = AccessRequestState.DENIED
    req.save(update_fields=["state", "decided_by", "decided_at", "token_hash", "expires_at"])
    audit.record(
        f"recording.access_{'approved' if req.state == AccessRequestState.APPROVED else 'denied'}",
        actor=manager,
        obj=req.recording,
        details={"recording": req.recording_id, "request": req.pk},
    )
    if link is not None and req.expires_at is not None and req.customer.email:
        _send_link(req.customer.email, link, req.expires_at)
    return AccessDecision(req, link)


def _send_link(email: str, link: str, expires: datetime) -> None:
    """Queued for the mail worker once the decision commits; a failure there leaves the approval
    standing (the link can be re-sent)."""
    mail.send_after_commit(
        "Your co-browse session recording",
        "You asked for a copy of a recorded co-browse session. You can watch it here "
        f"(sign in first) until {timezone.localtime(expires):%d %b %Y %H:%M}:\n\n{link}\n",
        [email],
    )


class LinkGone(Exception):
    """The link was valid once but has expired, or its recording was deleted."""


def resolve_access_link(token: str, user: User) -> RecordingAccessRequest:
    """The approved request behind a link, for the customer it was issued to.

    Raises ``RecordingAccessRequest.DoesNotExist`` for an unknown token or another user (a 404) and
    ``LinkGone`` for an expired link or a deleted recording (a 410).
    """
    if not token or len(token) > 100:
        raise RecordingAccessRequest.DoesNotExist
    req = (
        RecordingAccessRequest.objects.select_related("recording__session__ticket")
        .filter(token_hash=_hash_token(token))
        .exclude(state__in=[AccessRequestState.REQUESTED, AccessRequestState.DENIED])
        .first()
    )
    if req is None or req.customer_id != getattr(user, "pk", None):
        raise RecordingAccessRequest.DoesNotExist
    if req.state == AccessRequestState.EXPIRED or req.expires_at is None or req.expires_at <= timezone.now():
        raise LinkGone("This link has expired.")
    if req.recording.is_deleted:
        raise LinkGone("This recording was deleted.")
    return req


def expire_access_links(now: datetime | None = None) -> int:
    now = now or timezone.now()
    return RecordingAccessRequest.objects.filter(
        state=AccessRequestState.APPROVED, expires_at__lte=now
    ).update(state=AccessRequestState.EXPIRED, token_hash="")


# --- deletion -----------------------------------------------------------------------------------


def delete_recording(recording_id: int, *, reason: str, actor: User | None = None) -> bool:
    """Crypto-shred one recording: destroy and commit its key, then delete its blobs. Idempotent.

    Returns True if this call deleted it, False if it was already deleted. Must not run inside an
    outer transaction that could roll the key destruction back after the blobs are gone. Once the
    key is destroyed the recording is deleted: if its storage then fails (an object store that is
    down), the blobs stay behind, unreadable, and the next retention runs remove them.
    """
    if reason not in DeletionReason.values:
        raise ValueError(f"unknown deletion reason {reason!r}")
    deleted = {"now": False, "key_gone": False}

    def destroy_key() -> None:
        with transaction.atomic():
            recording = Recording.objects.select_for_update().get(pk=recording_id)
            deleted["key_gone"] = True
            if recording.deleted_at is not None:
                return
            recording.wrapped_key = b""
            recording.deleted_at = timezone.now()
            recording.deletion_reason = reason
            recording.ended_at = recording.ended_at or recording.deleted_at
            recording.save(update_fields=["wrapped_key", "deleted_at", "deletion_reason", "ended_at"])
            RecordingAccessRequest.objects.filter(
                recording=recording, state__in=[AccessRequestState.REQUESTED, AccessRequestState.APPROVED]
            ).update(state=AccessRequestState.EXPIRED, token_hash="")
            audit.record(
                "recording.deleted",
                actor=actor,
                obj=recording,
                details={"recording": recording.pk, "reason": reason},
            )
            deleted["now"] = True

    try:
        shred_recording(recording_id, destroy_key)
    except Exception:
        if not deleted["key_gone"]:
            raise
        logger.warning(
            "recording %s: key destroyed, its blobs could not be deleted yet", recording_id, exc_info=True
        )
    return deleted["now"]


def erase_for_customer(recording: Recording, *, customer: User) -> bool:
    """GDPR erasure requested by the recorded customer."""
    if not permissions.is_recording_subject(customer, recording):
        raise PermissionDenied("This is not your recording.")
    return delete_recording(recording.pk, reason=DeletionReason.ERASURE, actor=customer)


def delete_by_manager(recording: Recording, *, manager: User, erasure: bool = False) -> bool:
    if not permissions.is_manager(manager):
        raise PermissionDenied("Only managers delete recordings.")
    reason = DeletionReason.ERASURE if erasure else DeletionReason.MANAGER
    return delete_recording(recording.pk, reason=reason, actor=manager)


@dataclass
class PurgeResult:
    ran: bool
    deleted: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def purge_expired(now: datetime | None = None) -> PurgeResult:
    """Shred every recording past its retention date, under a lock so that one run works at a time.

    Idempotent: an already deleted recording is skipped, and a run interrupted after destroying a key
    leaves blobs that the next run removes (``shred_recording`` deletes them again).
    """
    token = uuid.uuid4().hex
    if not cache.add(RETENTION_LOCK_KEY, token, timeout=RETENTION_LOCK_SECONDS):
        return PurgeResult(ran=False)
    result = PurgeResult(ran=True)
    try:
        now = now or timezone.now()
        expired = list(
            Recording.objects.filter(deleted_at__isnull=True, retention_until__lte=now)
            .order_by("retention_until", "pk")
            .values_list("pk", flat=True)
        )
        for pk in expired:
            try:
                if delete_recording(pk, reason=DeletionReason.RETENTION):
                    result.deleted.append(pk)
            except Exception:
                logger.exception("retention: could not delete recording %s", pk)
                result.failed.append(pk)
        remove_leftover_blobs(now)
        expire_access_links(now)
    finally:
        if cache.get(RETENTION_LOCK_KEY) == token:
            cache.delete(RETENTION_LOCK_KEY)
    return result


def remove_leftover_blobs(now: datetime | None = None) -> int:
    """Delete again the blobs of recordings shredded in the last ``LEFTOVER_SWEEP_DAYS``; returns how
    many were still stored. One listing per recording; a storage still failing is logged and skipped."""
    since = (now or timezone.now()) - timedelta(days=LEFTOVER_SWEEP_DAYS)
    store = BlobStore()
    removed = 0
    for pk in Recording.objects.filter(deleted_at__gte=since).order_by("pk").values_list("pk", flat=True):
        try:
            count = store.delete_recording(pk)
        except Exception:
            logger.warning("retention: blobs of shredded recording %s not deleted yet", pk, exc_info=True)
            continue
        if count:
            logger.info("retention: %s leftover blob(s) of shredded recording %s deleted", count, pk)
        removed += count
    return removed


# --- key rotation -------------------------------------------------------------------------------


def rotate_keys(
    *, keyring: KeyRing | None = None, batch: int = ROTATION_BATCH, actor: User | None = None
) -> crypto.RotationReport:
    """Re-wrap every live recording's data key under the active master key (chunks untouched)."""
    report = crypto.RotationReport()
    last_pk = 0
    while True:
        with transaction.atomic():
            rows = list(
                Recording.objects.select_for_update()
                .filter(pk__gt=last_pk, deleted_at__isnull=True)
                .order_by("pk")
                .only("pk", "wrapped_key", "key_id")[:batch]
            )
            if not rows:
                break
            last_pk = rows[-1].pk
            by_pk = {row.pk: row for row in rows}
            pairs = ((row.pk, bytes(row.wrapped_key)) for row in rows)
            for pk, new_wrapped in crypto.rotate_wrapped_keys(pairs, keyring, report):
                row = by_pk[pk]
                row.wrapped_key = new_wrapped
                row.key_id = crypto.wrapped_key_info(new_wrapped).key_id
                row.save(update_fields=["wrapped_key", "key_id"])
    audit.record(
        "recording.keys_rotated",
        actor=actor or "rotate_recording_keys",
        object_type="recordings.recording",
        details={
            "rewrapped": report.rewrapped,
            "current": report.current,
            "shredded": report.shredded,
            "failed": sorted(report.failed),
        },
    )
    return report
