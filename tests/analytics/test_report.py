"""The monthly report against a hand-built October with known answers (days in the desk's time zone,
New York): every figure beside September, training impact from the certification records, targets
met or missed, ROI, recommendations; the month parser; the page (managers only, 400 on a bad month);
the HTML command. The PDF, which needs Chromium, is in test_report_pdf.py."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from accounts.models import Certification
from analytics import pdf, report, selectors, tasks
from analytics.models import Disconnect, PageSignal
from analytics.periods import Period, PeriodError
from cobrowse.models import CoBrowseSession, SessionState
from outcomes.models import SessionOutcome, SurveyResponse
from tests.factories import make_ticket, make_user

NY = ZoneInfo("America/New_York")
PAGE = "https://bank.example/apply"
OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 31))


def at(month, day, hour=12, minute=0):
    return datetime(2026, month, day, hour, minute, tzinfo=NY)


def _session(customer, agent, start, minutes, *, category="billing", outcome=None, stars=None):
    session = CoBrowseSession.objects.create(
        ticket=make_ticket(customer, category=category), agent=agent, customer=customer,
        state=SessionState.ENDED, started_at=start, ended_at=start + timedelta(minutes=minutes),
    )  # fmt: skip
    if outcome:
        SessionOutcome.objects.create(session=session, outcome=outcome, summary="-", recorded_by=agent)
    if stars:
        SurveyResponse.objects.create(session=session, stars=stars)
    return session


def _signal(session, kind, field, when):
    row = PageSignal.objects.create(session=session, kind=kind, page_url=PAGE, field=field)
    PageSignal.objects.filter(pk=row.pk).update(created_at=when)


def _certify(agent, on, manager):
    Certification.objects.create(agent=agent, certified_on=on, certified_by=manager)
    agent.cobrowse_certified_at = datetime.combine(on, datetime.min.time(), tzinfo=NY)
    agent.save(update_fields=["cobrowse_certified_at"])


@pytest.fixture
def october(settings, customer, agent, agent_l1, manager):
    """October (New York days): agent (L2) 4 min resolved ★5 at 00:10 on the 1st, 12 min resolved ★4,
    20 min follow-up ★2 (SSO); agent_l1, certified on 10 October, 6 min resolved ★5 (SSO) and 8 min
    with no outcome at 23:30 on the 31st. September: 10 min resolved ★3 at 23:50 on the 30th, 10 min
    follow-up. November: one at 00:30 on the 1st. One more L1 agent waits for certification."""
    settings.TIME_ZONE = "America/New_York"
    settings.REPORT_TARGETS = {"resolution_rate": "70", "csat": "4.2"}
    settings.ROI_DEFAULTS = {**settings.ROI_DEFAULTS, "hourly_cost": "36", "licence": "300"}
    make_user("newbie", role="agent", agent_level="L1")
    _certify(agent_l1, date(2026, 10, 10), manager)
    s1 = _session(customer, agent, at(10, 1, 0, 10), 4, outcome="resolved", stars=5)
    s2 = _session(customer, agent, at(10, 8), 12, outcome="resolved", stars=4)
    s3 = _session(
        customer, agent, at(10, 15), 20, category="sso_authentication", outcome="follow_up", stars=2
    )
    s4 = _session(
        customer, agent_l1, at(10, 12), 6, category="sso_authentication", outcome="resolved", stars=5
    )
    _session(customer, agent_l1, at(10, 31, 23, 30), 8)
    _session(customer, agent, at(9, 30, 23, 50), 10, outcome="resolved", stars=3)
    _session(customer, agent, at(9, 10), 10, outcome="follow_up")
    _session(customer, agent, at(11, 1, 0, 30), 30, outcome="follow_up")
    Disconnect.objects.create(session=s1, code=1000, cause="closed")  # a normal end, not a failure
    Disconnect.objects.create(session=s2, code=1006, cause="network")
    Disconnect.objects.create(session=s3, code=1011, cause="server_error")
    # Friction on one page reported by s1 to s4: iban helped in 2 of 4, dob, income and zip in 1 each.
    when = at(10, 20)
    for session in (s1, s2, s3, s4):
        _signal(session, "stall", "email", when)
    for session, field in ((s1, "iban"), (s2, "iban"), (s3, "income"), (s4, "dob"), (s4, "zip")):
        _signal(session, "intervention", field, when)
    _signal(s1, "stall", "dob", when)
    return OCTOBER


def test_every_figure_against_known_answers(october):
    r = report.monthly(october)
    assert (r.sessions.current, r.sessions.previous, r.sessions.change_pct) == (5, 2, Decimal("150.0"))
    assert (r.resolved_rate.current, r.resolved_rate.previous, r.resolved_rate.change) == (
        Decimal("75.0"), Decimal("50.0"), Decimal("25.0"),
    )  # fmt: skip
    assert (r.csat.current, r.csat.previous, r.csat.change) == (
        Decimal("4.00"),
        Decimal("3.00"),
        Decimal("1.00"),
    )
    assert (r.avg_minutes.current, r.avg_minutes.previous, r.avg_minutes.change) == (
        Decimal("10.0"), Decimal("10.0"), Decimal("0.0"),
    )  # fmt: skip
    assert r.previous == Period(date(2026, 9, 1), date(2026, 9, 30))
    daily = dict(r.daily)
    assert len(r.daily) == 31 and sum(daily.values()) == 5
    assert (daily[date(2026, 10, 1)], daily[date(2026, 10, 31)], daily[date(2026, 10, 2)]) == (1, 1, 0)


def test_training_impact_from_the_certification_records(october):
    t = report.monthly(october).training
    assert (t.certified.sessions, t.certified.with_outcome, t.certified.resolved) == (2, 1, 1)
    assert (t.certified.resolution_rate, t.certified.csat) == (Decimal("100.0"), Decimal("5.00"))
    assert (t.uncertified.sessions, t.uncertified.resolution_rate, t.uncertified.csat) == (
        3, Decimal("66.7"), Decimal("3.67"),
    )  # fmt: skip
    assert (t.resolution_gap, t.certified_this_month, t.pending) == (Decimal("33.3"), 1, 1)


def test_a_certification_counts_from_its_day_until_its_revocation(settings, customer, agent_l3, manager):
    settings.TIME_ZONE = "America/New_York"
    Certification.objects.create(
        agent=agent_l3, certified_on=date(2026, 10, 10), certified_by=manager, revoked_at=at(10, 20)
    )
    for day in (9, 10, 19, 21):  # before it, its day, held, revoked
        _session(customer, agent_l3, at(10, day, 9), 5)
    cohorts = selectors.sessions_by_certification(OCTOBER)
    assert (cohorts[True].sessions, cohorts[False].sessions) == (2, 2)


def test_targets_roi_friction_and_failures(october):
    r = report.monthly(october)
    assert [(t.label, t.value, t.status) for t in r.targets] == [
        ("Resolved in session", Decimal("75.0"), "met"),
        ("CSAT", Decimal("4.00"), "missed"),
        ("Network disconnect rate", Decimal("20.0"), "missed"),
    ]
    lines = {line.name: line.value for line in r.roi_lines}
    assert (r.roi_inputs.sessions, r.roi_inputs.avg_minutes) == (5, Decimal("10.0"))
    assert lines["monthly_cost"] == Decimal("330.00")  # 300 + 5 sessions * 10 min / 60 * 36
    assert [(f.field, f.intervention_rate, f.redesign) for f in r.friction] == [
        ("iban", Decimal("50.0"), True), ("dob", Decimal("25.0"), False), ("income", Decimal("25.0"), False),
    ]  # fmt: skip
    assert r.failure_causes == [("network", 1), ("server error", 1)]


def test_recommendations_are_derived_from_the_figures(october):
    sentences = report.monthly(october).recommendations
    assert sentences == [
        "Co-browse resolves best in Billing / subscription (100.0 % of 3 sessions) and "
        "SSO / authentication (50.0 % of 2 sessions): offer it first on these tickets.",
        "1 L1 agent is waiting for co-browse certification: schedule it. Certified agents resolved "
        "100.0 % in session, 33.3 points above the others.",
        f"Fields where agents step in most: iban on {PAGE} (50.0 % of its page's sessions, redesign "
        f"rather than guide); dob on {PAGE} (25.0 % of its page's sessions); income on {PAGE} (25.0 % "
        "of its page's sessions).",
        "Connection failures: 2 (network 1, server error 1). Network disconnect rate 20.0 %, over the "
        "5 % target.",
        "CSAT missed its target: 4.00 /5 against at least 4.2 /5.",
    ]


def test_an_empty_month_says_so_instead_of_guessing(october):
    r = report.monthly(Period.month("2026-08", today=date(2026, 12, 4)))
    assert (r.sessions.current, r.sessions.change_pct, r.resolved_rate.change) == (0, None, None)
    assert [t.status for t in r.targets] == ["no data"] * 3
    assert r.recommendations == [
        "1 L1 agent is waiting for co-browse certification: schedule it."
    ]  # the pending agent is today's figure; nothing else is said about a month without sessions


def test_months_parse_in_the_desks_calendar_and_refuse_clearly():
    today = date(2026, 12, 4)
    assert Period.month("2026-10", today) == OCTOBER
    assert Period.month("2024-02", today).last_day == date(2024, 2, 29)
    assert Period.month("2026-12", today) == Period(date(2026, 12, 1), date(2026, 12, 31))
    assert Period.last_month(date(2026, 1, 1)) == Period(date(2025, 12, 1), date(2025, 12, 31))
    assert OCTOBER.previous_month().label == "2026-09"
    for bad, reason in (
        ("2026-13", "YYYY-MM"), ("26-10", "YYYY-MM"), ("2026-1", "YYYY-MM"), ("october", "YYYY-MM"),
        ("1999-12", "from 2000-01"), ("2027-01", "has not started"),
    ):  # fmt: skip
        with pytest.raises(PeriodError, match=reason):
            Period.month(bad, today)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_page_is_for_managers_and_refuses_a_bad_month(october, manager, agent):
    client = _client(manager)
    response = client.get("/manager/report/", {"month": "2026-10"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Co-browse monthly report, October 2026" in page and 'data-figure="sessions">5<' in page
    assert "<svg" in page and 'href="?month=2026-10&amp;format=pdf"' in page
    assert "<style" not in page and 'href="/static/css/report.css"' in page  # the site-wide policy holds
    for query, reason in (
        ({"month": "2026-13"}, "YYYY-MM"),
        ({"month": "2999-01"}, "has not started"),
        ({"month": "2026-10", "format": "docx"}, "html or pdf"),
    ):
        refused = client.get("/manager/report/", query)
        assert refused.status_code == 400 and reason in refused.content.decode(), query
    assert _client(agent).get("/manager/report/", {"month": "2026-10"}).status_code == 403
    assert Client().get("/manager/report/").status_code == 302  # signed out: to the sign-in page


def test_the_dashboard_offers_the_report_to_managers_only(manager, agent):
    assert 'data-testid="monthly-report"' in _client(manager).get("/manager/").content.decode()
    assert 'data-testid="monthly-report"' not in _client(agent).get("/agent/performance/").content.decode()


def test_the_command_writes_the_html_page(october, tmp_path):
    out = tmp_path / "october.html"
    call_command("cobrowse_report", "--month", "2026-10", "--format", "html", "--output", str(out))
    page = out.read_text()
    assert page.startswith("<!doctype html>") and "Co-browse monthly report, October 2026" in page
    assert "<style>" in page and ".toolbar" in page  # the stylesheet, inlined
    assert "<link" not in page and 'src="' not in page and "<script" not in page  # nothing to fetch


def test_the_command_refuses_bad_input(db, tmp_path):
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("cobrowse_report", "--month", "2026/10")
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("cobrowse_report", "--month", "2026-10", "--format", "docx")
    with pytest.raises(CommandError, match="Cannot write"):
        call_command(
            "cobrowse_report",
            "--month",
            "2026-10",
            "--format",
            "html",
            "--output",
            str(tmp_path / "no" / "x"),
        )


def test_the_command_defaults_to_last_month(db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    call_command("cobrowse_report", "--format", "html")
    assert (tmp_path / f"cobrowse-report-{Period.last_month(timezone.localdate()).label}.html").exists()


def test_no_manager_no_report(db, agent, monkeypatch):
    def must_not_render(html: str) -> bytes:
        raise AssertionError("rendered for nobody")

    monkeypatch.setattr(pdf, "render", must_not_render)
    assert tasks.email_monthly_report.apply().result == 0
    assert mail.outbox == []


def test_a_report_as_a_document_in_either_format(db):
    month = Period.month("2026-10", today=date(2026, 12, 4))
    monthly = report.monthly(month)
    assert report.document(monthly, "html").startswith(b"<!doctype html>")
    with pytest.raises(ValueError, match="pdf or html"):
        report.document(monthly, "docx")
