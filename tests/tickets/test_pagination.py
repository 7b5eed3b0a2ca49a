"""Keyset pages of the ticket lists: the API's cursor, the queue's and the portal's links."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import make_ticket, make_user
from tickets import services
from tickets.api_pagination import TICKET_LIST_KEYSET
from tickets.models import Ticket
from tickets.pagination import Keyset, KeysetPage, bounded_count
from tickets.views import QUEUE_KEYSET

pytestmark = pytest.mark.django_db

DASH = "\u2013"  # the en dash of "Showing 1-25"
BASE = timezone.now().replace(microsecond=0) - timedelta(days=30)


def flat(pages: list[list[int]]) -> list[int]:
    return [number for page in pages for number in page]


def api_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def open_tickets(requester, count: int, *, hours_apart: int = 1, **fields) -> list[Ticket]:
    """``count`` tickets created an hour apart, oldest first (creation times set explicitly so the
    order does not depend on how fast the test runs)."""
    tickets = []
    for i in range(count):
        ticket = make_ticket(requester, subject=f"Ticket {i:03d}", **fields)
        Ticket.objects.filter(pk=ticket.pk).update(
            created_at=BASE + timedelta(hours=i * hours_apart),
            updated_at=BASE + timedelta(hours=i * hours_apart),
        )
        tickets.append(ticket)
    return tickets


def walk(client, params=None, *, direction: str = "next", start: str = "/api/tickets/"):
    """Every page from ``start`` following ``direction``, as lists of ticket numbers."""
    pages = []
    response = client.get(start, params or {})
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"next", "previous", "results"}
        pages.append([t["number"] for t in body["results"]])
        if body[direction] is None:
            return pages, body
        response = client.get(body[direction])


# --- API: walking ---------------------------------------------------------------------------------


def test_api_walks_every_ticket_once_newest_first_and_back(customer, agent):
    tickets = open_tickets(customer, 10)
    client = api_client(agent)
    pages, last = walk(client, {"page_size": 3})
    assert [len(p) for p in pages] == [3, 3, 3, 1]
    assert flat(pages) == [t.number for t in reversed(tickets)]
    back, first = walk(client, start=last["previous"], direction="previous")
    assert back == pages[-2::-1]
    assert first["previous"] is None


def test_api_orders_tickets_created_at_the_same_instant_by_number(customer, agent):
    tickets = open_tickets(customer, 7)
    Ticket.objects.update(created_at=BASE)  # every key ties on time: the number decides
    pages, _ = walk(api_client(agent), {"page_size": 2})
    assert flat(pages) == sorted((t.number for t in tickets), reverse=True)


def test_api_pages_have_no_gap_and_no_repeat_while_tickets_are_opened_and_edited(customer, agent):
    """Immutable keys: tickets opened during the walk (now, or with a creation time among the rows
    already read or still to read) and edits never make the walk skip or repeat a ticket."""
    existing = open_tickets(customer, 12, hours_apart=10)
    at_start = {t.number for t in existing}
    client = api_client(agent)
    seen: list[int] = []
    added_ahead: set[int] = set()
    response = client.get("/api/tickets/", {"page_size": 4})
    step = 0
    while True:
        body = response.json()
        page = [t["number"] for t in body["results"]]
        seen += page
        if body["next"] is None:
            break
        step += 1
        oldest_shown = Ticket.objects.get(number=page[-1]).created_at
        make_ticket(customer, subject=f"Newest {step}")  # at the top, behind the walk
        behind = make_ticket(customer, subject=f"Behind {step}")
        Ticket.objects.filter(pk=behind.pk).update(created_at=oldest_shown + timedelta(minutes=5))
        ahead = make_ticket(customer, subject=f"Ahead {step}")
        Ticket.objects.filter(pk=ahead.pk).update(created_at=oldest_shown - timedelta(minutes=5))
        added_ahead.add(ahead.number)
        # An edit moves updated_at, not the list's key.
        services.update_ticket(Ticket.objects.get(number=page[0]), actor=agent, priority="high")
        response = client.get(body["next"])
    assert len(seen) == len(set(seen)), "a ticket was listed twice"
    assert at_start <= set(seen), "a ticket that existed at the start was skipped"
    # Only the tickets opened further down the list than the walk had read turn up.
    assert set(seen) - at_start == added_ahead


def test_api_pages_keep_the_filters(customer, agent):
    urgent = open_tickets(customer, 5, priority="urgent")
    open_tickets(customer, 4, priority="low")
    pages, _ = walk(api_client(agent), {"priority": "urgent", "page_size": 2})
    assert flat(pages) == [t.number for t in reversed(urgent)]


def test_customer_walks_only_their_own_tickets(customer, other_customer, agent):
    mine = open_tickets(customer, 5)
    others = open_tickets(other_customer, 5, hours_apart=2)
    client = api_client(customer)
    pages, _ = walk(client, {"page_size": 2})
    assert sorted(flat(pages)) == sorted(t.number for t in mine)
    # A cursor read from someone else's listing is only a position: it shows nothing of theirs.
    staff_page = api_client(agent).get("/api/tickets/", {"page_size": 2}).json()
    response = client.get(staff_page["next"])
    assert response.status_code == 200
    listed = {t["number"] for t in response.json()["results"]}
    assert listed and not listed & {t.number for t in others}


# --- API: limits and bad input ----------------------------------------------------------------------


def test_api_page_size_default_and_bounds(customer, agent):
    open_tickets(customer, 30)
    client = api_client(agent)
    assert len(client.get("/api/tickets/").json()["results"]) == 25
    assert len(client.get("/api/tickets/", {"page_size": 100}).json()["results"]) == 30
    assert len(client.get("/api/tickets/", {"page_size": 1}).json()["results"]) == 1
    for bad in ("0", "-1", "abc", "101", "2.5", "9" * 40):
        response = client.get("/api/tickets/", {"page_size": bad})
        assert response.status_code == 400, bad
        assert "page_size" in response.json(), bad


def _tampered(cursor: str) -> str:
    value, signature = cursor.rsplit(":", 1)
    position = signing.b64_decode(value.encode()).decode()
    moved = signing.b64_encode(position.replace('"n"', '"p"').encode()).decode()
    return f"{moved}:{signature}"


def test_api_refuses_a_bad_cursor_with_400(customer, agent):
    tickets = open_tickets(customer, 5)
    client = api_client(agent)
    next_link = client.get("/api/tickets/", {"page_size": 2}).json()["next"]
    good = parse_qs(urlsplit(next_link).query)["cursor"][0]
    unsigned_but_ours = signing.Signer(salt=TICKET_LIST_KEYSET.salt).sign_object(["yesterday", 1, "n", 0])
    negative_key = signing.Signer(salt=TICKET_LIST_KEYSET.salt).sign_object(
        [tickets[0].created_at.isoformat(), -1, "n", 0]
    )
    queue_cursor = QUEUE_KEYSET.encode(tickets[0], backward=False, start=25)
    for bad in (
        "garbage",
        "a:b:c",
        good[:-3],  # truncated signature
        _tampered(good),
        "x" * 5000,
        "\u00e9\u00e9:\u00e9",
        unsigned_but_ours,
        negative_key,
        queue_cursor,  # another list's cursor
    ):
        response = client.get("/api/tickets/", {"cursor": bad, "page_size": 2})
        assert response.status_code == 400, bad
        assert "cursor" in response.json(), bad
    assert client.get("/api/tickets/", {"cursor": good, "page_size": 2}).status_code == 200
    assert client.get("/api/tickets/", {"cursor": ""}).status_code == 200  # empty: the first page


def test_api_deep_pages_read_a_range_without_offset_or_count(customer, agent):
    open_tickets(customer, 9)
    client = api_client(agent)
    first = client.get("/api/tickets/", {"page_size": 2}).json()
    deeper = client.get(first["next"]).json()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(deeper["next"]).status_code == 200
    ticket_sql = [q["sql"] for q in queries.captured_queries if "tickets_ticket" in q["sql"]]
    assert len(ticket_sql) == 1
    assert "OFFSET" not in ticket_sql[0].upper() and "COUNT(" not in ticket_sql[0].upper()


# --- the keyset itself --------------------------------------------------------------------------------


def test_walking_backwards_past_inserted_rows_reaches_the_top_of_the_list(customer):
    tickets = open_tickets(customer, 9)
    keyset = Keyset("created_at", "number", salt="tests")
    queryset = Ticket.objects.all()
    pages: list[KeysetPage[Ticket]] = [keyset.page(queryset, None, 3)]
    while pages[-1].next_cursor:
        pages.append(keyset.page(queryset, keyset.decode(pages[-1].next_cursor), 3))
    assert [p.start for p in pages] == [0, 3, 6]
    newest = open_tickets(customer, 2)  # opened meanwhile, with older times: nothing moves
    Ticket.objects.filter(pk__in=[t.pk for t in newest]).update(created_at=BASE + timedelta(days=9))
    assert pages[-1].previous_cursor is not None
    middle = keyset.page(queryset, keyset.decode(pages[-1].previous_cursor), 3)
    assert [t.number for t in middle.rows] == [t.number for t in pages[1].rows]
    top = keyset.page(queryset, keyset.decode(middle.previous_cursor), 3)
    assert top.previous_cursor is None and top.start == 0
    expected = [*sorted((t.number for t in newest), reverse=True), tickets[-1].number]
    assert [t.number for t in top.rows] == expected


def test_bounded_count_stops_counting(customer):
    open_tickets(customer, 6)
    keyset = Keyset("created_at", "number", salt="tests")
    queryset = Ticket.objects.all()
    page = keyset.page(queryset, None, 2)
    assert bounded_count(queryset, page, limit=4) == (4, True)
    assert bounded_count(queryset, page, limit=6) == (6, False)
    whole = keyset.page(queryset, None, 10)
    with CaptureQueriesContext(connection) as queries:
        assert bounded_count(queryset, whole) == (6, False)
    assert not queries.captured_queries  # a short first page is the whole list


# --- pages: the queue -----------------------------------------------------------------------------


def _links(html: str) -> dict[str, str]:
    return {
        rel: query.replace("&amp;", "&")
        for query, rel in re.findall(r'href="\?([^"]+)" rel="(next|prev)"', html)
    }


def _rows(html: str, prefix: str) -> list[int]:
    numbers = re.findall(rf'href="{prefix}(\d+)/"', html)
    return list(dict.fromkeys(int(n) for n in numbers))


def _queue_walk(client, query: str, rel: str) -> tuple[list[list[int]], str]:
    pages = []
    while True:
        response = client.get(reverse("tickets:queue") + "?" + query)
        assert response.status_code == 200
        html = response.content.decode()
        pages.append(_rows(html, "/agent/tickets/"))
        if rel not in _links(html):
            return pages, html
        query = _links(html)[rel]


def test_queue_older_and_newer_links_walk_every_ticket_and_keep_the_filters(client, customer, agent):
    low = open_tickets(customer, 60, priority="low")
    open_tickets(customer, 5, priority="high")
    client.force_login(agent)
    pages, last = _queue_walk(client, "priority=low&q=Ticket", "next")
    assert [len(p) for p in pages] == [25, 25, 10]
    assert flat(pages) == [t.number for t in reversed(low)]
    assert f"Showing 51{DASH}60" in last and "60 tickets match these filters" in last
    for query in _links(last).values():
        assert "priority=low" in query and "q=Ticket" in query and "status=active" in query
    back, first = _queue_walk(client, _links(last)["prev"], "prev")
    assert back == pages[-2::-1]
    assert f"Showing 1{DASH}25" in first


def test_queue_shows_a_bounded_count(client, customer, agent):
    """More than 1,000 matching tickets: the page says "1,000+" instead of counting them all."""
    Ticket.objects.bulk_create(
        Ticket(number=100000 + i, subject=f"Bulk {i}", description=".", requester=customer)
        for i in range(1001)
    )
    client.force_login(agent)
    html = client.get(reverse("tickets:queue")).content.decode()
    assert "1,000+ tickets match these filters" in html
    Ticket.objects.filter(number=100000).delete()
    html = client.get(reverse("tickets:queue")).content.decode()
    assert "1,000 tickets match these filters" in html


def test_queue_falls_back_to_the_first_page_for_a_bad_cursor(client, customer, agent):
    tickets = open_tickets(customer, 30)
    client.force_login(agent)
    api_cursor = TICKET_LIST_KEYSET.encode(tickets[5], backward=False, start=25)
    newest_first = [t.number for t in reversed(tickets)][:25]
    for bad in ("garbage", api_cursor, "x" * 5000, "%%%"):
        response = client.get(reverse("tickets:queue"), {"cursor": bad})
        assert response.status_code == 200, bad
        assert _rows(response.content.decode(), "/agent/tickets/") == newest_first, bad


def test_queue_cursor_past_the_end_shows_the_first_page(client, customer, agent):
    tickets = open_tickets(customer, 30)
    client.force_login(agent)
    html = client.get(reverse("tickets:queue")).content.decode()
    older = _links(html)["next"]
    Ticket.objects.filter(pk__in=[t.pk for t in tickets[:5]]).delete()  # the whole second page
    html = client.get(reverse("tickets:queue") + "?" + older).content.decode()
    assert _rows(html, "/agent/tickets/") == [t.number for t in reversed(tickets[5:])]


def test_queue_moves_an_edited_ticket_to_the_top(client, customer, agent):
    """The documented consequence of ordering the queue by ``updated_at``."""
    tickets = open_tickets(customer, 30)
    client.force_login(agent)
    services.update_ticket(tickets[0], actor=agent, priority="urgent")
    html = client.get(reverse("tickets:queue")).content.decode()
    assert _rows(html, "/agent/tickets/")[0] == tickets[0].number


# --- pages: the portal ----------------------------------------------------------------------------


def test_portal_pages_through_own_tickets_only(client, customer, other_customer):
    mine = open_tickets(customer, 45)
    open_tickets(other_customer, 5)
    client.force_login(customer)
    seen, query = [], ""
    while True:
        html = client.get(reverse("tickets:portal") + "?" + query).content.decode()
        seen.append(_rows(html, "/portal/tickets/"))
        if "next" not in _links(html):
            break
        query = _links(html)["next"]
    assert [len(p) for p in seen] == [20, 20, 5]
    assert flat(seen) == [t.number for t in reversed(mine)]
    assert f"Showing 41{DASH}45" in html and 'rel="prev"' in html
    response = client.get(reverse("tickets:portal"), {"cursor": "tampered"})
    assert response.status_code == 200
    assert _rows(response.content.decode(), "/portal/tickets/") == seen[0]


def test_portal_with_one_page_shows_no_page_links(client, db):
    customer = make_user("solo")
    make_ticket(customer)
    client.force_login(customer)
    html = client.get(reverse("tickets:portal")).content.decode()
    assert 'class="pagination"' not in html
