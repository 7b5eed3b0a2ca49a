"""``/manager/quality/``: the period's live quality and every session's, worst first."""

from __future__ import annotations

from typing import Any, cast

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.decorators import manager_only
from accounts.models import CustomerAccount, Role, User
from analytics import dashboard, quality
from analytics.models import SessionFact
from analytics.periods import Period
from analytics.views import _csv, _refused
from cobrowse.models import ControlMode
from tickets.models import Category

PAGE_SIZE = 50
CSV_COLUMNS = [
    "session", "ticket", "agent", "started", "minutes", "connections", "rtt_p50_ms", "rtt_p99_ms",
    "rtt_max_ms", "good_pct", "fair_pct", "poor_pct", "resyncs", "gaps", "lost_events",
    "network_disconnects", "recorded",
]  # fmt: skip


def _csv_row(row: quality.SessionRow) -> list[Any]:
    s, q = row.session, row.quality
    minutes = (
        round((s.ended_at - s.started_at).total_seconds() / 60, 1) if s.ended_at and s.started_at else None
    )
    return [
        s.pk, s.ticket.reference, s.agent.display_name, s.started_at.isoformat() if s.started_at else "",
        minutes, q.connections if q else 0, row.p50_ms, row.p99_ms, q.rtt_max_ms if q else None,
        row.mix.get("good"), row.mix.get("fair"), row.mix.get("poor"), q.resyncs if q else 0,
        q.gaps if q else 0, q.lost_events if q else 0, row.disconnects, "yes" if row.recorded else "no",
    ]  # fmt: skip


@manager_only
@require_GET
def live_quality(request: HttpRequest) -> HttpResponse:
    try:
        period, filters = Period.parse(request.GET), dashboard.Filters.parse(request.GET)
    except ValueError as exc:  # PeriodError is a ValueError
        return _refused(request, "analytics/quality.html", str(exc))
    sessions = dashboard.sessions(period, filters)
    ordered = quality.session_rows(sessions)
    if request.GET.get("format") == "csv":
        every = ordered.select_related("session__ticket", "session__agent").iterator(chunk_size=2000)
        rows = [_csv_row(quality.session_row(s)) for s in every]
        return _csv(f"live-quality-{period.first_day}-{period.last_day}.csv", CSV_COLUMNS, rows)
    figures = quality.period_figures(sessions)
    paginator = Paginator(ordered, PAGE_SIZE)
    paginator.count = figures.sessions  # the same sessions, already counted
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "figures": figures,
        "rows": quality.rows_for(cast(QuerySet[SessionFact], page.object_list)),
        "page": page,
        "period": period,
        "filters": filters,
        "query": query.urlencode(),
        "target": quality.DISCONNECT_TARGET_PCT,
        "agents_choice": User.objects.filter(role=Role.AGENT).order_by("first_name", "username"),
        "accounts_choice": CustomerAccount.objects.order_by("name"),
        "categories_choice": Category.choices,
        "modes_choice": ControlMode.choices,
        "nav": "manager",
    }
    return render(request, "analytics/quality.html", context)
