"""The manager pages: parse the period and inputs, read the figures, render."""

from __future__ import annotations

import csv
import logging
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts import services as account_services
from accounts.decorators import manager_only, staff_only
from accounts.http import AuthenticatedHttpRequest
from accounts.models import CustomerAccount, Role, User
from analytics import charts, dashboard, friction, pdf, report, roi, selectors
from analytics.forms import CertifyForm, RevokeForm
from analytics.periods import Period, PeriodError
from cobrowse import protocol
from cobrowse.models import ControlMode
from tickets.models import Category

logger = logging.getLogger(__name__)

INPUT_GROUPS = [
    ("Usage", [("sessions", "Sessions"), ("avg_minutes", "Average session minutes"),
               ("resolved_sessions", "Sessions resolved"),
               ("baseline_minutes", "Baseline resolution minutes")]),
    ("Costs", [("hourly_cost", "Loaded agent cost per hour"), ("licence", "Monthly licence"),
               ("training_cost", "One-time training cost")]),
    ("Tickets", [("tickets_prevented_per_session", "Tickets prevented per session"),
                 ("ticket_cost", "Cost per ticket")]),
    ("Retention", [("enterprise_customers", "Enterprise customers"), ("mrr", "MRR per customer"),
                   ("uplift_pct", "Retention uplift %")]),
    ("Knowledge base", [("kb_articles", "Articles"), ("kb_article_value", "Value per article")]),
]  # fmt: skip


def _refused(request: HttpRequest, template: str, message: str, *, nav: str = "manager") -> HttpResponse:
    """A page's period or filters did not parse: the page itself, saying why (400)."""
    return render(request, template, {"error": message, "nav": nav}, status=400)


@manager_only
@require_GET
def roi_calculator(request: HttpRequest) -> HttpResponse:
    """``/manager/roi/``: prefilled from the period's figures; ``?format=json`` for the numbers."""
    wants_json = request.GET.get("format") == "json"
    error, field, lines, inputs = "", "", None, None
    try:
        period = Period.parse(request.GET)
    except PeriodError as exc:
        period, error, field = Period.default(), str(exc), "period"
    defaults = selectors.roi_defaults(period)
    if not error:
        try:
            inputs = roi.RoiInputs.parse(request.GET, defaults)
        except roi.RoiInputError as exc:
            error, field = f"{exc.field}: {exc.message}", exc.field
    if inputs is not None:
        lines = roi.calculate(inputs)
    if wants_json:
        if error:
            return JsonResponse({"detail": error, "field": field}, status=400)
        assert inputs is not None and lines is not None
        body = roi.as_json(inputs, lines)
        body["period"] = {"from": period.first_day.isoformat(), "to": period.last_day.isoformat()}
        return JsonResponse(body)
    shown = {name: request.GET.get(name) or str(defaults.get(name, "")) for name in roi.RoiInputs.names()}
    groups = [(title, [(name, label, shown[name]) for name, label in items]) for title, items in INPUT_GROUPS]
    context = {
        "nav": "manager",
        "period": period,
        "groups": groups,
        "lines": lines,
        "error": error,
        "error_field": field,
        "json_query": request.GET.urlencode(),
    }
    return render(request, "analytics/roi.html", context, status=400 if error else 200)


# --- agents and their certification -----------------------------------------------------------------


@manager_only
@require_GET
def agents(request: HttpRequest) -> HttpResponse:
    """``/manager/agents/``: who may co-browse, who waits for certification, sessions in the period."""
    try:
        period = Period.parse(request.GET)
    except PeriodError as exc:
        return _refused(request, "analytics/agents.html", str(exc))
    rows = selectors.agent_rows(period)
    context = {
        "rows": rows,
        "period": period,
        "pending": sum(1 for row in rows if row.pending),
        "capable": sum(1 for row in rows if row.capable),
        "nav": "manager",
    }
    return render(request, "analytics/agents.html", context)


def _agent_or_404(pk: int) -> User:
    return get_object_or_404(User, pk=pk, role=Role.AGENT)


def _render_agent(
    request: HttpRequest,
    agent: User,
    *,
    certify_form: CertifyForm | None = None,
    revoke_form: RevokeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    history = selectors.certification_history(agent)
    context = {
        "agent": agent,
        "history": history,
        "active": next((c for c in history if c.active), None),
        "certify_form": certify_form or CertifyForm(),
        "revoke_form": revoke_form or RevokeForm(),
        "nav": "manager",
    }
    return render(request, "analytics/agent.html", context, status=status)


@manager_only
@require_GET
def agent(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_agent(request, _agent_or_404(pk))


@manager_only
@require_POST
def agent_certify(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    subject = _agent_or_404(pk)
    form = CertifyForm(request.POST)
    if form.is_valid():
        try:
            data = form.cleaned_data
            on, notes = data["certified_on"], data["notes"]
            account_services.certify(subject, actor=request.user, on=on, notes=notes)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{subject.display_name} is certified for co-browsing.")
            return redirect("analytics:agent", pk=subject.pk)
    return _render_agent(request, subject, certify_form=form, status=400)


@manager_only
@require_POST
def agent_revoke(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    subject = _agent_or_404(pk)
    form = RevokeForm(request.POST)
    if form.is_valid():
        try:
            reason = form.cleaned_data["reason"]
            account_services.revoke_certification(subject, actor=request.user, reason=reason)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{subject.display_name}'s certification is revoked.")
            return redirect("analytics:agent", pk=subject.pk)
    return _render_agent(request, subject, revoke_form=form, status=400)


# --- form friction ----------------------------------------------------------------------------------


@manager_only
@require_GET
def forms(request: HttpRequest) -> HttpResponse:
    """``/manager/forms/``: friction by page and field, with the fields to redesign flagged."""
    try:
        period = Period.parse(request.GET)
    except PeriodError as exc:
        return _refused(request, "analytics/forms.html", str(exc))
    rows = friction.field_rows(period)
    context = {
        "rows": rows,
        "period": period,
        "flagged": sum(1 for row in rows if row.redesign),
        "threshold": int(friction.REDESIGN_RATE * 100),
        "range": request.GET.urlencode(),
        "nav": "manager",
    }
    return render(request, "analytics/forms.html", context)


@manager_only
@require_GET
def forms_sessions(request: HttpRequest) -> HttpResponse:
    """The signals behind one figure of the friction table, each with its session and ticket."""
    kind = request.GET.get("kind", "")
    page_url = request.GET.get("page", "")
    if kind not in {*protocol.SIGNAL_KINDS, "intervention"} or not page_url:
        return _refused(request, "analytics/forms_sessions.html", "Choose a figure in the friction table.")
    try:
        period = Period.parse(request.GET)
    except PeriodError as exc:
        return _refused(request, "analytics/forms_sessions.html", str(exc))
    signals = friction.sessions_behind(period, page_url, request.GET.get("field", ""), kind)[:200]
    context = {
        "signals": signals,
        "kind": kind,
        "page_url": page_url,
        "field": request.GET.get("field", ""),
        "period": period,
        "nav": "manager",
    }
    return render(request, "analytics/forms_sessions.html", context)


# --- the dashboard ----------------------------------------------------------------------------------

_CSV_TABLES = {
    "modes": (["label", "sessions", "share", "avg_minutes", "resolution_rate"], "modes"),
    "categories": (["label", "sessions", "share", "avg_minutes", "resolution_rate"], "categories"),
    "agents": (["name", "sessions", "resolution_rate", "csat"], "agents"),
}


#: What each CSV table needs of the dashboard (a table not listed here gets the whole of it).
_CSV_PARTS = {
    "summary": frozenset({"sessions", "quality"}),
    "contact": frozenset({"contact"}),
    **dict.fromkeys(_CSV_TABLES, frozenset({"sessions"})),
}

_CONTACT_COLUMNS = [
    "tickets", "first_contact", "fcr_rate", "follow_ups", "follow_ups_per_ticket", "csat", "csat_answers",
]  # fmt: skip


def _dashboard_response(
    request: HttpRequest, filters: dashboard.Filters, period: Period, *, own: bool
) -> HttpResponse:
    csv_table = request.GET.get("table", "") if request.GET.get("format") == "csv" else None
    figures = dashboard.build(period, filters, _CSV_PARTS.get(csv_table or "", dashboard.PARTS))
    if csv_table is not None:
        table = csv_table
        if table == "summary":
            rows: list[list[Any]] = [
                ["sessions", figures.total],
                ["agent_initiated", figures.agent_initiated],
                ["customer_initiated", figures.customer_initiated],
                ["avg_minutes", figures.avg_minutes],
                *[[label, n] for label, n in figures.buckets],
                ["with_outcome", figures.with_outcome],
                ["resolved", figures.resolved],
                ["resolved_rate", figures.resolved_rate],
                ["csat", figures.csat],
                ["csat_answers", figures.csat_answers],
                ["network_disconnects", figures.network_disconnects],
                ["disconnect_rate", figures.disconnect_rate],
                ["rtt_p50_ms", figures.quality.p50_ms],
                ["rtt_p99_ms", figures.quality.p99_ms],
                *[[f"quality_{level}_pct", share] for level, share in figures.quality.mix],
                ["resyncs", figures.quality.resyncs],
                ["lost_ranges", figures.quality.gaps],
                ["lost_events", figures.quality.lost_events],
                ["recordings", figures.quality.recordings],
                ["recording_consented", figures.quality.recording_consented],
            ]
            return _csv(f"summary-{period.first_day}-{period.last_day}.csv", ["figure", "value"], rows)
        if table == "contact":
            sides = [("with_cobrowse", figures.contact.with_cobrowse), ("without", figures.contact.without)]
            rows = [[name, *(getattr(side, c) for c in _CONTACT_COLUMNS)] for name, side in sides]
            return _csv(
                f"contact-{period.first_day}-{period.last_day}.csv", ["side", *_CONTACT_COLUMNS], rows
            )
        if table not in _CSV_TABLES:
            return HttpResponse("Choose a table: summary, contact, modes, categories or agents.", status=400)
        columns, attribute = _CSV_TABLES[table]
        data = [[row.get(c) for c in columns] for row in getattr(figures, attribute)]
        return _csv(f"{table}-{period.first_day}-{period.last_day}.csv", columns, data)
    context = {
        "figures": figures,
        "charts": charts.series(period, filters),  # the same filters: an agent's own sessions only
        "period": period,
        "filters": filters,
        "own": own,
        "query": request.GET.urlencode(),
        "agents_choice": User.objects.filter(role=Role.AGENT).order_by("first_name", "username")
        if not own
        else [],
        "categories_choice": Category.choices,
        "modes_choice": ControlMode.choices,
        "accounts_choice": CustomerAccount.objects.order_by("name") if not own else [],
        "nav": "manager" if not own else "performance",
    }
    return render(request, "analytics/dashboard.html", context)


def _csv(filename: str, header: list[str], rows: list[list[Any]]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return response


def _period_and_filters(request: HttpRequest) -> tuple[Period, dashboard.Filters]:
    return Period.parse(request.GET), dashboard.Filters.parse(request.GET)


@manager_only
@require_GET
def manager_dashboard(request: HttpRequest) -> HttpResponse:
    """``/manager/``: the programme's figures for a period and filters."""
    try:
        period, filters = _period_and_filters(request)
    except ValueError as exc:  # PeriodError is a ValueError
        return _refused(request, "analytics/dashboard.html", str(exc))
    return _dashboard_response(request, filters, period, own=False)


@staff_only
@require_GET
def agent_performance(request: AuthenticatedHttpRequest) -> HttpResponse:
    """``/agent/performance/``: an agent's own figures (the agent filter is always themselves)."""
    try:
        period, filters = _period_and_filters(request)
    except ValueError as exc:
        return _refused(request, "analytics/dashboard.html", str(exc), nav="performance")
    own = dashboard.Filters(agent=request.user.pk, category=filters.category, mode=filters.mode)
    return _dashboard_response(request, own, period, own=True)


# --- the monthly report -----------------------------------------------------------------------------


@manager_only
@require_GET
def monthly_report(request: HttpRequest) -> HttpResponse:
    """``/manager/report/?month=YYYY-MM[&format=pdf]``: the monthly report as its page or its PDF
    (default last month). The PDF is printed here, by Chromium, while the manager waits."""
    raw, fmt = request.GET.get("month", "").strip(), request.GET.get("format") or "html"
    error = "" if fmt in report.FORMATS else "Choose a format: html or pdf."
    month = None
    if not error:
        try:
            month = Period.month(raw) if raw else Period.last_month()
        except PeriodError as exc:
            error = str(exc)
    if month is None:
        context = {"error": error, "web": True, "month_value": raw[:7]}
        return render(request, "analytics/report.html", context, status=400)
    monthly = report.monthly(month)
    if fmt == "pdf":
        try:
            content = report.document(monthly, "pdf")
        except pdf.PdfError as exc:
            logger.error("monthly report %s: no PDF: %s", month.label, exc)
            message = "The PDF could not be printed just now: try again, or print the report's page."
            return HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
        response = HttpResponse(content, content_type=report.FORMATS["pdf"])
        response["Content-Disposition"] = f'attachment; filename="{monthly.filename_stem}.pdf"'
        return response
    context = {**report.context(monthly), "web": True, "month_value": month.label}
    return render(request, "analytics/report.html", context)
