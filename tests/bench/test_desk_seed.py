"""The desk bench's seeder at small scale: rows that hold together, the promised shape of the desk
(statuses, people, the heavy requester, comments and notes, planted words), and every page the bench
times answering on it."""

from __future__ import annotations

import io

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, F, Q
from django.test import Client

from accounts.models import Role, User
from bench import desk, desk_seed
from tests.factories import make_ticket
from tickets.models import Status, Ticket, TicketComment, TicketEvent

pytestmark = pytest.mark.django_db

TICKETS = 3000
SPEC = desk_seed.Spec(
    tickets=TICKETS,
    accounts=40,
    enterprise_accounts=2,
    customers=300,
    heavy_tickets=400,
    agents=12,
    managers=2,
)

#: (table, column, referenced table): every foreign key the seeder fills without FK checks.
REFERENCES = [
    ("tickets_ticket", "requester_id", "accounts_user"),
    ("tickets_ticket", "assignee_id", "accounts_user"),
    ("tickets_ticket", "account_id", "accounts_customeraccount"),
    ("tickets_ticket", "team_id", "tickets_team"),
    ("tickets_ticketcomment", "ticket_id", "tickets_ticket"),
    ("tickets_ticketcomment", "author_id", "accounts_user"),
    ("tickets_ticketevent", "ticket_id", "tickets_ticket"),
    ("tickets_ticketevent", "actor_id", "accounts_user"),
]


@pytest.fixture
def seeded():
    if connection.vendor != "postgresql":
        pytest.skip("the bench seeds PostgreSQL with COPY")
    seeded = desk_seed.seed(SPEC)
    # COPY ran without triggers: what they keep is rebuilt, as the bench does.
    call_command("rebuild_desk_indexes", stdout=io.StringIO())
    return seeded


def _orphans(table: str, column: str, target: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {table} t LEFT JOIN {target} r ON r.id = t.{column}"
            f" WHERE t.{column} IS NOT NULL AND r.id IS NULL"
        )
        return cursor.fetchone()[0]


def test_every_seeded_reference_points_at_a_row(seeded):
    assert {ref: _orphans(*ref) for ref in REFERENCES} == dict.fromkeys(REFERENCES, 0)


def test_people_are_in_their_places(seeded):
    tickets = Ticket.objects.all()
    assert not tickets.exclude(requester__role=Role.CUSTOMER).exists()
    assert not tickets.exclude(account=F("requester__account")).exists()
    assert not tickets.filter(assignee__isnull=False).exclude(assignee__role=Role.AGENT).exists()
    notes = TicketComment.objects.filter(is_internal=True)
    assert not notes.filter(author__role=Role.CUSTOMER).exists()
    replies = TicketComment.objects.filter(is_internal=False)
    assert not replies.exclude(author=F("ticket__requester")).exclude(author__role=Role.AGENT).exists()
    levels = dict(User.objects.filter(role=Role.AGENT).values_list("agent_level").annotate(n=Count("pk")))
    assert set(levels) == {"L1", "L2", "L3"}
    assert User.objects.filter(role=Role.MANAGER).count() == SPEC.managers


def test_the_desk_has_the_promised_shape(seeded):
    assert seeded["tickets_ticket"] == TICKETS == seeded["tickets_ticketevent"]
    assert 2.6 <= seeded["tickets_ticketcomment"] / TICKETS <= 3.4
    internal = TicketComment.objects.filter(is_internal=True).count() / seeded["tickets_ticketcomment"]
    assert 0.15 <= internal <= 0.25
    statuses = dict(Ticket.objects.values_list("status").annotate(n=Count("pk")))
    active = sum(statuses.get(s, 0) for s in (Status.NEW, Status.OPEN, Status.PENDING)) / TICKETS
    assert 0.015 <= active <= 0.05
    assert statuses[Status.CLOSED] > statuses[Status.RESOLVED] > 0
    assert all(statuses.get(s, 0) > 0 for s in (Status.NEW, Status.OPEN, Status.PENDING))
    per_requester = list(
        Ticket.objects.values("requester").annotate(n=Count("pk")).order_by("-n").values_list("n", flat=True)
    )
    assert per_requester[0] == SPEC.heavy_tickets > 3 * per_requester[1]
    per_account = list(
        Ticket.objects.values("account__name")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .values_list("account__name", "n")
    )
    assert [name for name, _ in per_account[:2]] == [f"desk-enterprise-{i:04d}" for i in (0, 1)]
    median = per_account[len(per_account) // 2][1]
    assert per_account[1][1] > 4 * median


def test_times_and_numbers_are_coherent(seeded):
    tickets = Ticket.objects.all()
    assert not tickets.filter(updated_at__lt=F("created_at")).exists()
    assert not tickets.filter(first_response_at__lt=F("created_at")).exists()
    assert not tickets.filter(resolved_at__lt=F("first_response_at")).exists()
    assert not tickets.filter(closed_at__lt=F("resolved_at")).exists()
    assert not tickets.filter(status=Status.CLOSED, closed_at__isnull=True).exists()
    assert (
        not tickets.filter(status=Status.RESOLVED)
        .filter(Q(resolved_at__isnull=True) | Q(closed_at__isnull=False))
        .exists()
    )
    active = tickets.filter(status__in=[Status.NEW, Status.OPEN, Status.PENDING])
    assert not active.filter(Q(resolved_at__isnull=False) | Q(closed_at__isnull=False)).exists()
    assert not TicketComment.objects.filter(ticket__status=Status.NEW).exists()
    comments = TicketComment.objects
    assert not comments.filter(
        Q(created_at__lt=F("ticket__created_at")) | Q(created_at__gt=F("ticket__updated_at"))
    ).exists()
    numbers = sorted(tickets.order_by("created_at", "id").values_list("number", flat=True))
    start = settings.TANDEM_TICKET_NUMBER_START
    assert numbers == list(range(start, start + TICKETS))
    first = tickets.order_by("created_at", "id").first()
    assert first.number == start
    events = TicketEvent.objects.filter(kind="created", ticket=first)
    assert events.get().data == {"channel": first.channel}


def test_the_search_words_are_planted_where_promised(seeded):
    def tickets_with(word):
        return Ticket.objects.filter(Q(subject__icontains=word) | Q(description__icontains=word)).count()

    assert 1 <= tickets_with(desk_seed.RARE_WORD) <= 15
    assert tickets_with(desk_seed.COMMENT_WORD) == 0
    assert TicketComment.objects.filter(body__icontains=desk_seed.COMMENT_WORD).exists()
    assert 0.02 <= tickets_with(desk_seed.COMMON_WORD) / TICKETS <= 0.3
    assert tickets_with(desk_seed.PARTIAL_WORD) > tickets_with(desk_seed.RARE_WORD)


def test_new_tickets_after_seeding_get_the_next_id_and_number(seeded):
    customer = User.objects.filter(role=Role.CUSTOMER).first()
    ticket = make_ticket(customer)
    assert ticket.pk == TICKETS + 1
    assert ticket.number == settings.TANDEM_TICKET_NUMBER_START + TICKETS


def test_every_page_the_bench_times_answers_on_the_seeded_desk(seeded):
    cast = desk.cast()
    assert Ticket.objects.filter(requester=cast.customer).count() == SPEC.heavy_tickets
    assert cast.team is not None
    assert TicketComment.objects.filter(ticket__number=cast.ticket).exists()
    clients = {"agent": Client(), "customer": Client()}
    clients["agent"].force_login(User.objects.get(pk=cast.agent))
    clients["customer"].force_login(User.objects.get(pk=cast.customer))
    for page in desk.pages(cast):
        url = desk.deep_url(page, clients[page.who])[0] if page.deep else page.url
        response = clients[page.who].get(url)
        assert response.status_code == 200, page.label
    ticket = clients["agent"].get(f"/agent/tickets/{cast.ticket}/")
    assert "opened the ticket via" in ticket.content.decode()
    found = clients["agent"].get("/agent/", {"status": "", "q": desk_seed.RARE_WORD})
    assert 1 <= len(found.context["page"].rows) <= 15


def test_a_deep_page_follows_the_lists_next_links(seeded):
    cast = desk.cast()
    client = Client()
    client.force_login(User.objects.get(pk=cast.agent))
    queue = next(p for p in desk.pages(cast) if p.label == "queue deep page")
    url, how = desk.deep_url(queue, client)
    assert "next links" in how and url.startswith("/agent/?status=active&cursor=")
    api = next(p for p in desk.pages(cast) if p.label == "api deep page (agent)")
    url, how = desk.deep_url(api, client)
    assert how == "20 next links"
    assert "/api/tickets/?cursor=" in url
