"""Writes of the analytics app: what the relay reports, kept for the manager pages; the monthly
report, mailed."""

from __future__ import annotations

import base64

from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.template.loader import render_to_string
from django.utils import timezone

from accounts import mail
from analytics import pdf, rollup, selectors
from analytics import report as reports
from analytics.models import Disconnect, PageSignal, SessionQuality
from analytics.periods import Period
from cobrowse import page_signals


def keep_signal(signal: page_signals.PageSignal) -> PageSignal:
    return PageSignal.objects.create(
        session_id=signal.session_id,
        kind=signal.kind,
        page_url=signal.page_url[:500],
        field=signal.field[:256],
        detail=signal.detail[:200],
    )


def keep_disconnect(disconnect: page_signals.Disconnect) -> Disconnect:
    return Disconnect.objects.create(
        session_id=disconnect.session_id, code=disconnect.code, cause=disconnect.cause
    )


def keep_quality(report: page_signals.ConnectionQuality) -> None:
    """Add one closed connection's counts to its session's row (two sockets may close at once)."""
    if len(report.rtt_buckets) != len(SessionQuality.RTT_FIELDS):
        raise ValueError("The round-trip histogram does not match RTT_BOUNDS_MS.")
    counts = dict(zip(SessionQuality.RTT_FIELDS, report.rtt_buckets, strict=True))
    counts.update(zip(page_signals.QUALITY_LEVELS, report.levels, strict=True))
    counts.update(gaps=report.gaps, lost_events=report.lost_events, resyncs=report.resyncs)
    first = {"connections": 1, "connected_seconds": report.seconds, "rtt_max_ms": report.rtt_max_ms}
    # The session's first connection creates the row with its counts (its post_save refreshes the
    # session's facts); a later one adds to it with F() (no post_save: the facts are refreshed here).
    _row, created = SessionQuality.objects.get_or_create(
        session_id=report.session_id, defaults={**first, **counts}
    )
    if created:
        return
    SessionQuality.objects.filter(session_id=report.session_id).update(
        connections=F("connections") + 1,
        connected_seconds=F("connected_seconds") + report.seconds,
        rtt_max_ms=Greatest("rtt_max_ms", Value(report.rtt_max_ms)),
        updated_at=timezone.now(),
        **{name: F(name) + value for name, value in counts.items()},
    )
    rollup.session_changed(report.session_id)


def email_report(month: Period) -> int:
    """Mail the month's report to the managers, the PDF attached and a summary in the body.

    Returns how many managers it was addressed to (0: nobody to send it to, nothing rendered).
    Raises ``pdf.PdfError`` when Chromium cannot print it: a report without its PDF is not sent.
    """
    recipients = selectors.report_recipients()
    if not recipients:
        return 0
    monthly = reports.monthly(month)
    document = pdf.render(reports.html(monthly))
    body = render_to_string("analytics/report_email.txt", {"report": monthly})
    attachment = (f"{monthly.filename_stem}.pdf", base64.b64encode(document).decode(), "application/pdf")
    mail.queue(monthly.title, body, recipients, attachments=[attachment])
    return len(recipients)
