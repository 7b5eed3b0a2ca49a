"""The dashboard bench's seeder at small scale: rows that hold together, the promised shape of the
history (counts, shares, spread over time), and manager pages that render on it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.models import User
from bench import dashboard_seed
from cobrowse.models import CoBrowseSession
from tests.factories import make_ticket

pytestmark = pytest.mark.django_db

SESSIONS = 2000

#: (table, column, referenced table): every foreign key the seeder fills without FK checks.
REFERENCES = [
    ("cobrowse_cobrowsesession", "ticket_id", "tickets_ticket"),
    ("cobrowse_cobrowsesession", "agent_id", "accounts_user"),
    ("cobrowse_cobrowsesession", "customer_id", "accounts_user"),
    ("tickets_ticket", "requester_id", "accounts_user"),
    ("tickets_ticket", "account_id", "accounts_customeraccount"),
    ("outcomes_sessionoutcome", "session_id", "cobrowse_cobrowsesession"),
    ("outcomes_sessionoutcome", "recorded_by_id", "accounts_user"),
    ("outcomes_surveyresponse", "session_id", "cobrowse_cobrowsesession"),
    ("analytics_pagesignal", "session_id", "cobrowse_cobrowsesession"),
    ("analytics_disconnect", "session_id", "cobrowse_cobrowsesession"),
]


@pytest.fixture
def seeded():
    if connection.vendor != "postgresql":
        pytest.skip("the bench seeds PostgreSQL with COPY")
    return dashboard_seed.seed(dashboard_seed.Spec(sessions=SESSIONS, agents=8, accounts=12))


def _orphans(table: str, column: str, target: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {table} t LEFT JOIN {target} r ON r.id = t.{column}"
            f" WHERE t.{column} IS NOT NULL AND r.id IS NULL"
        )
        return cursor.fetchone()[0]


def test_every_seeded_reference_points_at_a_row(seeded):
    assert {ref: _orphans(*ref) for ref in REFERENCES} == dict.fromkeys(REFERENCES, 0)


def test_the_history_has_the_promised_shape(seeded):
    assert seeded["cobrowse_cobrowsesession"] == SESSIONS
    assert seeded["tickets_ticket"] == SESSIONS * 2 // 5
    assert 0.30 <= seeded["outcomes_surveyresponse"] / SESSIONS <= 0.40
    assert 2.6 <= seeded["analytics_pagesignal"] / SESSIONS <= 3.4
    assert 0.03 <= seeded["analytics_disconnect"] / SESSIONS <= 0.07
    assert 0.80 <= seeded["outcomes_sessionoutcome"] / SESSIONS <= 0.95
    now = timezone.now()
    started = CoBrowseSession.objects.filter(started_at__isnull=False)
    last_year = started.filter(started_at__gte=now - timedelta(days=365)).count() / started.count()
    first_year = 1 - last_year
    assert 0.55 <= last_year <= 0.70  # denser recently: a 1 + 2t density puts 62.5 % in the last year
    assert started.filter(started_at__gte=now - timedelta(days=731)).count() == started.count()
    assert first_year > 0.30


def test_new_rows_after_seeding_get_fresh_ids_and_numbers(seeded):
    customer = User.objects.filter(role="customer").first()
    ticket = make_ticket(customer)
    assert ticket.pk == seeded["tickets_ticket"] + 1
    assert ticket.number > 100_000 + seeded["tickets_ticket"]


def test_the_manager_pages_render_on_the_seeded_history(seeded):
    client = Client()
    client.force_login(User.objects.get(username="bench-manager"))
    today = timezone.localdate()
    year = {"from": str(today - timedelta(days=364)), "to": str(today)}
    response = client.get("/manager/", year)
    assert response.status_code == 200
    figures = response.context["figures"]
    assert 0.55 * SESSIONS <= figures.total <= 0.70 * SESSIONS
    assert figures.resolved < figures.with_outcome < figures.total
    assert 3.5 <= figures.csat <= 4.5
    forms = client.get("/manager/forms/", year)
    assert forms.status_code == 200
    assert 10 <= len({row.page_url for row in forms.context["rows"]}) <= 40
    assert client.get("/manager/roi/", year).status_code == 200
