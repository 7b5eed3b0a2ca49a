from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import CustomerAccount, User
from tickets.models import Status, Ticket, TicketComment, TicketEvent

pytestmark = pytest.mark.django_db


def _seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_creates_the_demo_users_with_roles_and_levels():
    _seed()
    users = {u.username: u for u in User.objects.all()}
    assert set(users) == {
        "manager",
        "agent1",
        "agent1c",
        "agent2",
        "agent3",
        "customer1",
        "customer2",
        "patient1",
    }
    assert users["manager"].role == "manager"
    assert (users["agent1"].agent_level, users["agent1"].cobrowse_certified_at) == ("L1", None)
    assert users["agent1c"].agent_level == "L1" and users["agent1c"].cobrowse_certified_at is not None
    assert users["agent2"].agent_level == "L2"
    assert users["agent3"].agent_level == "L3"
    assert users["customer1"].account.name == users["customer2"].account.name == "Acme Home Loans"
    assert users["patient1"].account.name == "CarePlus Clinics"
    for user in users.values():
        assert user.check_password("tandem-demo")
        assert user.first_name and user.last_name and "@" in user.email


def test_accounts_are_configured():
    _seed()
    acme = CustomerAccount.objects.get(name="Acme Home Loans")
    care = CustomerAccount.objects.get(name="CarePlus Clinics")
    assert acme.industry == "general"
    assert acme.site_url == "http://localhost:8001/"
    assert acme.allowed_origins == ["http://localhost:8001"]
    assert care.industry == "healthcare" and care.recording_allowed is False


def test_about_thirty_tickets_spread_over_the_workflow():
    _seed()
    tickets = Ticket.objects.all()
    assert 25 <= tickets.count() <= 40
    assert {t.status for t in tickets} == set(Status.values)
    assert len({t.category for t in tickets}) >= 6
    assert len({t.priority for t in tickets}) == 4
    assert len({t.channel for t in tickets}) >= 4
    assert len({t.assignee_id for t in tickets if t.assignee_id}) >= 4
    assert tickets.filter(assignee__isnull=True).exists()
    assert TicketComment.objects.filter(is_internal=True).exists()
    assert TicketComment.objects.filter(is_internal=False).exists()
    # Made through the workflow: every ticket has its creation event and numbers are sequential.
    assert TicketEvent.objects.filter(kind="created").count() == tickets.count()
    numbers = sorted(t.number for t in tickets)
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    # Tickets that a staff member answered publicly have a first response time.
    answered = tickets.filter(comments__is_internal=False, comments__author__role="agent").distinct()
    assert answered.exists()
    assert not answered.filter(first_response_at__isnull=True).exists()


def test_running_twice_creates_no_duplicates():
    _seed()
    counts = (User.objects.count(), Ticket.objects.count(), TicketComment.objects.count(),
              TicketEvent.objects.count(), CustomerAccount.objects.count())  # fmt: skip
    output = _seed()
    assert "0 user(s) and 0 ticket(s) created" in output
    assert counts == (User.objects.count(), Ticket.objects.count(), TicketComment.objects.count(),
                      TicketEvent.objects.count(), CustomerAccount.objects.count())  # fmt: skip


def test_if_empty_does_nothing_when_users_exist():
    User.objects.create_user("someone", password="x-long-password", role="customer")
    output = _seed("--if-empty")
    assert "not seeded" in output
    assert User.objects.count() == 1
    assert Ticket.objects.count() == 0


def test_if_empty_seeds_an_empty_database():
    _seed("--if-empty")
    assert User.objects.filter(username="agent2").exists()
    assert Ticket.objects.count() >= 25


def test_demo_banner_lists_urls_and_logins():
    out = StringIO()
    call_command("demo_banner", stdout=out)
    text = out.getvalue()
    for url in ("http://127.0.0.1:8000/", "/agent/", "/portal/", "/admin/", "/api/docs/",
                "http://localhost:8001/"):  # fmt: skip
        assert url in text
    for username in ("manager", "agent1c", "agent3", "customer2", "patient1", "tandem-demo"):
        assert username in text


def test_demo_accounts_have_their_industry_masking_presets():
    _seed()
    presets = dict(CustomerAccount.objects.values_list("name", "masking_presets"))
    assert presets == {"Acme Home Loans": ["finance"], "CarePlus Clinics": ["healthcare"]}


def test_demo_customers_can_receive_sms_invitations():
    """Their numbers are E.164, as the SMS backend requires (make run's SMS path goes to the outbox)."""
    from consent.sms import E164

    _seed()
    phones = User.objects.filter(role="customer").values_list("phone", flat=True)
    assert phones and all(E164.match(phone) for phone in phones)


def test_history_gives_every_manager_page_something_to_say():
    from django.core.management.base import CommandError
    from django.test import Client

    from analytics import dashboard, friction
    from analytics.models import PageSignal
    from analytics.periods import Period
    from cobrowse.models import CoBrowseSession
    from outcomes.models import SessionOutcome, SurveyResponse
    from tickets import services

    out = _seed("--history", "7")
    sessions = CoBrowseSession.objects.count()
    assert f"History: {sessions} session(s) over 7 days." in out and sessions > 100
    assert SessionOutcome.objects.count() == sessions and SurveyResponse.objects.exists()
    assert PageSignal.objects.filter(kind="intervention").exists()
    figures = dashboard.build(Period.default(), dashboard.Filters())
    assert figures.total == sessions and figures.resolved_rate and figures.csat
    assert any(row.redesign for row in friction.field_rows(Period.default()))
    # Seeded once; new tickets keep numbering after the imported block.
    assert "History exists." in _seed("--history", "7")
    assert CoBrowseSession.objects.count() == sessions
    highest = Ticket.objects.order_by("-number").first().number
    fresh = services.create_ticket(
        requester=User.objects.get(username="customer1"), subject="s", description="d"
    )
    assert fresh.number == highest + 1
    # The certified demo agent has a certification record behind the date.
    assert User.objects.get(username="agent1c").certifications.count() == 1
    manager = Client()
    manager.force_login(User.objects.get(username="manager"))
    assert 'data-figure="sessions">' + str(sessions) in manager.get("/manager/").content.decode()
    with pytest.raises(CommandError):
        _seed("--history", "9999")
