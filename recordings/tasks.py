"""Daily recording upkeep (Celery beat): shred recordings past retention, close abandoned ones, and
delete call transcripts past theirs (``cobrowse.services.voice``)."""

from __future__ import annotations

import logging

from celery import shared_task

from cobrowse.services import voice
from recordings import services

logger = logging.getLogger(__name__)


@shared_task(time_limit=3600, soft_time_limit=3500, ignore_result=True)
def purge_expired_recordings() -> dict:
    """Idempotent and single-flight (a Redis lock): a second concurrent run does nothing."""
    closed = services.close_abandoned()
    result = services.purge_expired()
    if result.failed:
        logger.warning(
            "retention: %s recording(s) could not be deleted: %s", len(result.failed), result.failed
        )
    transcripts = voice.purge_transcripts()
    if transcripts:
        logger.info("retention: %s call utterance(s) deleted", transcripts)
    return {"ran": result.ran, "deleted": len(result.deleted), "failed": len(result.failed), "closed": closed}
