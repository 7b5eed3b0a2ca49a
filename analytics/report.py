"""The monthly report: a calendar month's figures beside the month before, against the desk's targets,
with what it cost and returned, and what to do next, each sentence derived from the figures.

Every figure comes from the same reads as the manager pages (``dashboard.build``, ``friction``,
``roi``, ``selectors``), so the report never disagrees with them for the same month. Rates and
targets are per cent; CSAT is stars out of 5.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from analytics import dashboard, friction, pdf, roi, selectors, svg_charts
from analytics.periods import Period

TENTH = Decimal("0.1")
STYLESHEET = "css/report.css"
#: The formats a report is delivered in, with their content types.
FORMATS = {"pdf": "application/pdf", "html": "text/html; charset=utf-8"}
BEST_CATEGORIES = 2
TOP_FRICTION_FIELDS = 3
TOP_FAILURE_CAUSES = 3


def _percent(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole) * 100).quantize(TENTH, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Versus:
    """One figure this month beside the month before."""

    label: str
    current: Decimal | None
    previous: Decimal | None
    unit: str  # "", "%", "min" or "/5", as shown after the value

    @property
    def change(self) -> Decimal | None:
        """This month minus last month (percentage points for a rate)."""
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous

    @property
    def change_pct(self) -> Decimal | None:
        """The change relative to last month, per cent; none when last month was zero or unknown."""
        if self.change is None or not self.previous:
            return None
        return _percent(self.change, self.previous)


@dataclass(frozen=True)
class Cohort:
    """The sessions of agents who held a co-browse certification then, or of those who did not."""

    label: str
    sessions: int
    with_outcome: int
    resolved: int
    csat_answers: int
    csat: Decimal | None

    @property
    def resolution_rate(self) -> Decimal | None:
        return _percent(self.resolved, self.with_outcome)


@dataclass(frozen=True)
class Training:
    certified: Cohort
    uncertified: Cohort
    certified_this_month: int
    pending: int  # L1 agents who may not co-browse until certified (today, not at the month's end)

    @property
    def resolution_gap(self) -> Decimal | None:
        """Certified minus not certified, in percentage points."""
        a, b = self.certified.resolution_rate, self.uncertified.resolution_rate
        return None if a is None or b is None else a - b


@dataclass(frozen=True)
class Target:
    label: str
    value: Decimal | None
    target: Decimal
    at_most: bool  # the value must stay at or under the target (else reach at least the target)
    unit: str

    @property
    def status(self) -> str:
        """``met``, ``missed``, or ``no data`` when the month has nothing to measure."""
        if self.value is None:
            return "no data"
        met = self.value <= self.target if self.at_most else self.value >= self.target
        return "met" if met else "missed"


@dataclass(frozen=True)
class FrictionField:
    field: str
    page_url: str
    intervention_rate: Decimal  # per cent of the page's sessions
    intervened_sessions: int
    page_sessions: int
    redesign: bool  # over friction.REDESIGN_RATE: redesign the field rather than guide people through it

    @classmethod
    def of(cls, row: friction.FieldRow) -> FrictionField:
        rate = _percent(row.intervention_rate, 1) or Decimal(0)
        return cls(row.field, row.page_url, rate, row.intervened_sessions, row.page_sessions, row.redesign)


@dataclass(frozen=True)
class Report:
    month: Period
    previous: Period
    generated_at: datetime
    sessions: Versus
    resolved_rate: Versus
    csat: Versus
    avg_minutes: Versus
    figures: dashboard.Dashboard  # the month's dashboard (no filters)
    daily: list[tuple[date, int]]
    training: Training
    targets: list[Target]
    roi_inputs: roi.RoiInputs
    roi_lines: list[roi.RoiLine]
    friction: list[FrictionField]  # the worst fields by intervention rate
    failure_causes: list[tuple[str, int]]
    recommendations: list[str]

    @property
    def title(self) -> str:
        return f"Co-browse monthly report, {self.month.first_day:%B %Y}"

    @property
    def filename_stem(self) -> str:
        return f"cobrowse-report-{self.month.label}"


def _cohort(label: str, figures: selectors.Cohort) -> Cohort:
    csat = None
    if figures.csat_answers:
        csat = (Decimal(figures.csat_total) / figures.csat_answers).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
    return Cohort(label, figures.sessions, figures.with_outcome, figures.resolved, figures.csat_answers, csat)


def targets(figures: dashboard.Dashboard) -> list[Target]:
    """The month against ``REPORT_TARGETS`` and the dashboard's disconnect target."""
    goals = settings.REPORT_TARGETS
    return [
        Target("Resolved in session", figures.resolved_rate, Decimal(goals["resolution_rate"]), False, "%"),
        Target("CSAT", figures.csat, Decimal(goals["csat"]), False, "/5"),
        Target(
            "Network disconnect rate",
            figures.disconnect_rate,
            (dashboard.DISCONNECT_TARGET * 100).normalize(),
            True,
            "%",
        ),
    ]


def monthly(month: Period) -> Report:
    """Every figure of the report for ``month`` (a calendar month, ``Period.month``)."""
    previous = month.previous_month()
    now, before = dashboard.build(month, dashboard.Filters()), dashboard.build(previous, dashboard.Filters())
    cohorts = selectors.sessions_by_certification(month)
    training = Training(
        certified=_cohort("Certified agents", cohorts[True]),
        uncertified=_cohort("Agents without a certification", cohorts[False]),
        certified_this_month=selectors.certified_in(month),
        pending=now.pending_certification,
    )
    inputs = roi.RoiInputs.parse({}, selectors.roi_defaults(month))
    rows = [row for row in friction.field_rows(month) if row.intervened_sessions][:TOP_FRICTION_FIELDS]
    fields = [FrictionField.of(row) for row in rows]
    causes = [(cause.replace("_", " "), n) for cause, n in selectors.failure_causes(month)]
    goals = targets(now)
    return Report(
        month=month,
        previous=previous,
        generated_at=timezone.localtime(),
        sessions=Versus("Sessions", Decimal(now.total), Decimal(before.total), ""),
        resolved_rate=Versus("Resolved in session", now.resolved_rate, before.resolved_rate, "%"),
        csat=Versus("CSAT", now.csat, before.csat, "/5"),
        avg_minutes=Versus("Average length", now.avg_minutes, before.avg_minutes, "min"),
        figures=now,
        daily=selectors.daily_sessions(month),
        training=training,
        targets=goals,
        roi_inputs=inputs,
        roi_lines=roi.calculate(inputs),
        friction=fields,
        failure_causes=causes,
        recommendations=recommendations(now, training, fields, causes, goals),
    )


def recommendations(
    figures: dashboard.Dashboard,
    training: Training,
    fields: list[FrictionField],
    causes: list[tuple[str, int]],
    goals: list[Target],
) -> list[str]:
    """What to do next, one sentence per finding; nothing is said where the month has no data."""
    out: list[str] = []
    rated = [row for row in figures.categories if row["resolution_rate"] is not None]
    best = sorted(rated, key=lambda row: (-row["resolution_rate"], -row["sessions"], row["label"]))
    if best:
        names = " and ".join(
            f"{row['label']} ({row['resolution_rate']} % of {row['sessions']} sessions)"
            for row in best[:BEST_CATEGORIES]
        )
        out.append(f"Co-browse resolves best in {names}: offer it first on these tickets.")
    if training.pending:
        agents = "agent is" if training.pending == 1 else "agents are"
        sentence = f"{training.pending} L1 {agents} waiting for co-browse certification: schedule it."
        gap = training.resolution_gap
        if gap is not None:
            sentence += (
                f" Certified agents resolved {training.certified.resolution_rate} % in session, "
                f"{abs(gap)} points {'above' if gap >= 0 else 'below'} the others."
            )
        out.append(sentence)
    if fields:
        listed = "; ".join(
            f"{row.field} on {row.page_url} ({row.intervention_rate} % of its page's sessions"
            f"{', redesign rather than guide' if row.redesign else ''})"
            for row in fields
        )
        out.append(f"Fields where agents step in most: {listed}.")
    if causes:
        total = sum(n for _, n in causes)
        listed = ", ".join(f"{cause} {n}" for cause, n in causes[:TOP_FAILURE_CAUSES])
        sentence = f"Connection failures: {total} ({listed})."
        rate = next((g for g in goals if g.at_most), None)
        if rate is not None and rate.value is not None:
            where = "over" if rate.status == "missed" else "within"
            sentence += f" Network disconnect rate {rate.value} %, {where} the {rate.target} % target."
        out.append(sentence)
    for goal in goals:
        if goal.status == "missed" and not goal.at_most:
            shown, target = f"{goal.value} {goal.unit}", f"{goal.target} {goal.unit}"
            out.append(f"{goal.label} missed its target: {shown} against at least {target}.")
    return out


def chart_markup(report: Report) -> dict[str, Any]:
    """The report's charts as inline SVG."""
    days = [(f"{day.day}", n) for day, n in report.daily]
    categories: list[svg_charts.Row] = [
        (row["label"], rate, "no outcome" if rate is None else f"{rate} %")
        for row in report.figures.categories
        for rate in [row["resolution_rate"]]
    ]
    months = [
        (f"{report.previous.first_day:%B}", report.sessions.previous, f"{report.sessions.previous}"),
        (f"{report.month.first_day:%B}", report.sessions.current, f"{report.sessions.current}"),
    ]
    top = max((n or 0 for _, n, _ in months), default=0)
    return {
        "daily": svg_charts.columns(days, title="Sessions per day", label_every=5),
        "months": svg_charts.bars(months, title="Sessions, this month and last", top=top or 1),
        "categories": svg_charts.bars(categories, title="Resolved in session by category", top=100),
    }


def context(report: Report) -> dict[str, Any]:
    """What ``analytics/report.html`` shows."""
    return {
        "report": report,
        "charts": chart_markup(report),
        "versus": [report.resolved_rate, report.csat, report.avg_minutes],
        "cohorts": [report.training.certified, report.training.uncertified],
        "time_zone": settings.TIME_ZONE,
    }


def inline_stylesheet() -> SafeString:
    """The report's stylesheet as a ``<style>`` element, for a page that must load nothing. Served
    pages link the file instead: their Content-Security-Policy allows no inline style."""
    path = finders.find(STYLESHEET)
    if not isinstance(path, str):
        raise FileNotFoundError(STYLESHEET)
    with open(path, encoding="utf-8") as fh:
        css = fh.read()
    if "</" in css:
        raise ValueError(f"{STYLESHEET} must not close its <style> element")
    return mark_safe(f"<style>\n{css}</style>")  # noqa: S308 - our own file, checked just above


def html(report: Report) -> str:
    """The report as one standalone page: styles inlined, charts inline SVG, nothing to fetch."""
    standalone = {**context(report), "inline_stylesheet": inline_stylesheet()}
    return render_to_string("analytics/report.html", standalone)


def document(report: Report, fmt: str) -> bytes:
    """The report as a file of ``fmt`` (``FORMATS``); a PDF is printed by Chromium (``analytics.pdf``)."""
    page = html(report)
    if fmt == "pdf":
        return pdf.render(page)
    if fmt == "html":
        return page.encode()
    raise ValueError(f"Unknown format {fmt!r}: choose {' or '.join(FORMATS)}.")
