# ruff: noqa: RUF001 - the page shows the multiplication and minus signs
"""The ROI calculator: the worked example to the cent, through the function and ``?format=json``,
prefilled from measured figures, bad input, and managers only."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from analytics import roi, selectors
from analytics.periods import Period, PeriodError
from cobrowse.models import CoBrowseSession, SessionState
from outcomes.models import SessionOutcome
from tests.factories import make_account, make_ticket, make_user

EXAMPLE = {
    "sessions": "342",
    "avg_minutes": "8.4",
    "hourly_cost": "35",
    "licence": "350",
    "tickets_prevented_per_session": "1.7",
    "ticket_cost": "14.50",
    "resolved_sessions": "287",
    "baseline_minutes": "24",
    "enterprise_customers": "23",
    "mrr": "4200",
    "uplift_pct": "2.1",
    "kb_articles": "12",
    "kb_article_value": "180",
}
EXPECTED = {
    "monthly_cost": "2025.80",
    "tickets_prevented_value": "8430.30",
    "hours_saved": "74.62",
    "time_saved_value": "2611.70",
    "mrr_protected": "2028.60",
    "kb_value": "2160.00",
    "total_benefits": "15230.60",
    "net_monthly": "13204.80",
    "multiple": "6.52",
    "annual_net": "158457.60",
    "annual_net_after_training": "158457.60",
}


def test_the_worked_example_to_the_cent():
    inputs = roi.RoiInputs.parse(EXAMPLE, {"training_cost": Decimal(0)})
    assert {line.name: str(line.value) for line in roi.calculate(inputs)} == EXPECTED


def test_training_cost_comes_off_the_annual_net_only():
    inputs = roi.RoiInputs.parse({**EXAMPLE, "training_cost": "5000"}, {})
    lines = {line.name: str(line.value) for line in roi.calculate(inputs)}
    assert lines["annual_net"] == "158457.60"
    assert lines["annual_net_after_training"] == "153457.60"


def test_no_cost_means_no_multiple():
    zero = {**EXAMPLE, "licence": "0", "sessions": "0", "resolved_sessions": "0", "training_cost": "0"}
    lines = roi.calculate(roi.RoiInputs.parse(zero, {}))
    assert "multiple" not in {line.name for line in lines}
    assert roi.as_json(roi.RoiInputs.parse(zero, {}), lines)["multiple"] is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sessions", "abc", "must be a number"),
        ("mrr", "-5", "zero or more"),
        ("ticket_cost", "NaN", "zero or more"),
    ],
)
def test_bad_inputs_name_their_field(field, value, message):
    with pytest.raises(roi.RoiInputError) as caught:
        roi.RoiInputs.parse({**EXAMPLE, field: value}, {"training_cost": Decimal(0)})
    assert caught.value.field == field and message in caught.value.message


# --- the page ---------------------------------------------------------------------------------------


@pytest.fixture
def manager(db):
    return make_user("manager", role="manager")


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_the_example_through_format_json(manager):
    response = _client(manager).get("/manager/roi/", {**EXAMPLE, "format": "json"})
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in EXPECTED} == EXPECTED
    assert body["formulas"]["monthly_cost"].startswith("licence + sessions")


@pytest.mark.django_db
def test_bad_input_is_a_clear_400_that_keeps_what_was_typed(manager):
    client = _client(manager)
    response = client.get("/manager/roi/", {**EXAMPLE, "sessions": "lots", "format": "json"})
    assert response.status_code == 400
    assert response.json() == {"detail": "sessions: must be a number.", "field": "sessions"}
    page = client.get("/manager/roi/", {**EXAMPLE, "sessions": "lots"})
    assert page.status_code == 400
    text = page.content.decode()
    assert "sessions: must be a number." in text and 'value="lots"' in text
    assert client.get("/manager/roi/", {"from": "2026-13-01", "format": "json"}).status_code == 400


@pytest.mark.django_db
def test_the_page_shows_every_figure_with_its_formula(manager):
    text = _client(manager).get("/manager/roi/", EXAMPLE).content.decode()
    for value in ("2025.80", "8430.30", "74.62 h", "15230.60", "6.52 ×", "158457.60"):
        assert value in text
    assert "hours saved × hourly cost" in text


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["agent", "customer"])
def test_managers_only(role):
    assert _client(make_user(f"u-{role}", role=role)).get("/manager/roi/").status_code == 403
    assert Client().get("/manager/roi/").status_code == 302  # to the sign-in page


# --- prefilled from the period's figures --------------------------------------------------------------


def _session(ticket, agent, started: datetime, minutes: float | None) -> CoBrowseSession:
    ended = started + timedelta(minutes=minutes) if minutes is not None else None
    return CoBrowseSession.objects.create(
        ticket=ticket,
        agent=agent,
        customer=ticket.requester,
        state=SessionState.ENDED if ended else SessionState.ACTIVE,
        started_at=started,
        ended_at=ended,
    )


@pytest.mark.django_db
def test_inputs_are_prefilled_from_measured_figures(manager, settings):
    settings.ROI_DEFAULTS = {**settings.ROI_DEFAULTS, "hourly_cost": "40"}
    agent = make_user("agent", role="agent")
    acme, other = make_account(), make_account("Other Bank")
    now = timezone.now()
    resolved = _session(make_ticket(make_user("c1", account=acme)), agent, now - timedelta(hours=3), 10)
    SessionOutcome.objects.create(session=resolved, outcome="resolved", summary="-", recorded_by=agent)
    # A ticket resolved after its session is not the session's doing unless the agent says so.
    follow_up = _session(make_ticket(make_user("c2", account=other)), agent, now - timedelta(hours=5), 20)
    SessionOutcome.objects.create(session=follow_up, outcome="follow_up", summary="-", recorded_by=agent)
    type(follow_up.ticket).objects.filter(pk=follow_up.ticket_id).update(resolved_at=now - timedelta(hours=2))
    _session(make_ticket(make_user("c3", account=acme)), agent, now - timedelta(minutes=5), None)
    _session(make_ticket(make_user("c4")), agent, now - timedelta(days=40), 30)  # before the period
    body = _client(manager).get("/manager/roi/", {"format": "json"}).json()
    assert body["inputs"]["sessions"] == "3"
    assert body["inputs"]["avg_minutes"] == "15.0"  # the two that ended: 10 and 20 minutes
    assert body["inputs"]["resolved_sessions"] == "1"
    assert body["inputs"]["enterprise_customers"] == "2"
    assert body["inputs"]["hourly_cost"] == "40"
    assert body["inputs"]["training_cost"] == "0"


@pytest.mark.django_db
def test_the_period_is_whole_days_in_the_desks_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"
    agent = make_user("agent", role="agent")
    zone = ZoneInfo("America/New_York")
    late = datetime(2026, 10, 31, 23, 30, tzinfo=zone)  # 03:30 UTC on 1 November
    _session(make_ticket(make_user("c1")), agent, late, 5)
    october = Period(date(2026, 10, 1), date(2026, 10, 31))
    november = Period(date(2026, 11, 1), date(2026, 11, 30))
    assert selectors.programme_figures(october).sessions == 1
    assert selectors.programme_figures(november).sessions == 0


def test_periods_parse_and_refuse_clearly():
    today = date(2026, 12, 4)
    assert Period.parse({}, today) == Period(date(2026, 11, 5), today)
    assert Period.parse({"from": "2026-10-01", "to": "2026-10-31"}, today).days == 31
    for bad in (
        {"from": "yesterday"},
        {"from": "2026-10-31", "to": "2026-10-01"},
        {"from": "2020-01-01", "to": "2026-12-04"},
    ):
        with pytest.raises(PeriodError):
            Period.parse(bad, today)
