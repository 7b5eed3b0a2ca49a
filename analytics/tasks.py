"""The monthly report, mailed to the managers on the 1st (Celery beat, ``analytics-monthly-report``)."""

from __future__ import annotations

import logging

from celery import shared_task

from analytics import friction, rollup, services
from analytics.periods import Period

logger = logging.getLogger(__name__)


@shared_task(
    name="analytics.tasks.email_monthly_report", ignore_result=True, time_limit=300, soft_time_limit=270
)
def email_monthly_report() -> int:
    """Last month's report (the desk's calendar), rendered here: no browser worker is needed."""
    month = Period.last_month()
    sent = services.email_report(month)
    if not sent:
        logger.warning("monthly report %s not mailed: no active manager has an e-mail address", month.label)
    return sent


@shared_task(name="analytics.tasks.refresh_facts", ignore_result=True, time_limit=600, soft_time_limit=570)
def refresh_facts() -> tuple[int, int, int]:
    """The manager pages' facts of the last days, recomputed (writes that bypassed ``save()``), and
    the form-friction rows of the days that settled."""
    sessions, tickets = rollup.refresh_recent()
    return sessions, tickets, friction.refresh_recent()
