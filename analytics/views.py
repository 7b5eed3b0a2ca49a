"""The manager pages: parse the period and inputs, read the figures, render."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.decorators import manager_only
from analytics import roi, selectors
from analytics.periods import Period, PeriodError

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
