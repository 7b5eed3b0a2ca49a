"""Scheduled anchoring of the audit chain (``CELERY_BEAT_SCHEDULE["audit-anchor"]``)."""

from __future__ import annotations

import logging

from celery import shared_task

from audit import services

logger = logging.getLogger(__name__)


@shared_task(name="audit.tasks.anchor_audit_chain", ignore_result=True)
def anchor_audit_chain() -> int | None:
    """Write the chain head to the anchor store, unless nothing happened since the last anchor."""
    anchor = services.anchor_chain(only_if_new=True)
    if anchor is not None:
        logger.info("audit chain anchored: anchor %s at event #%s", anchor.seq, anchor.head_id)
    return anchor.seq if anchor else None
