"""Desk search: what matches (numbers, words, stems, beginnings, requesters), in which order, for
whom (internal notes never leak to customers), vectors kept current, the rebuild, and bad input."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import make_ticket, make_user
from tickets import search, selectors, services
from tickets.models import Ticket, TicketComment

pytestmark = pytest.mark.django_db
on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL full-text search")
on_sqlite = pytest.mark.skipif(connection.vendor != "sqlite", reason="the embedded database's fallback")

NOTE_WORD = "zanzibarite"  # a word that appears only in an internal note


def found(user, term: str) -> list[int]:
    return sorted(t.number for t in selectors.filter_tickets(user, search=term))


def api_found(user, term: str) -> list[int]:
    client = APIClient()
    client.force_login(user)
    response = client.get("/api/tickets/", {"search": term})
    assert response.status_code == 200, response.content
    return sorted(t["number"] for t in response.json()["results"])


def vectors(ticket: Ticket) -> tuple[str | None, str | None]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT search_public::text, search_internal::text FROM tickets_ticket WHERE id = %s", [ticket.pk]
        )
        return cursor.fetchone()


@pytest.fixture
def desk(customer, other_customer, agent):
    """Three tickets: a payment word in the subject, in the description, and only in a reply; the
    third also carries an internal note."""
    subject_hit = make_ticket(customer, subject="Payment declined at checkout", description="Card refused.")
    description_hit = make_ticket(
        customer,
        subject="Checkout problem",
        description="My payment never arrives; configuration looks right.",
    )
    reply_hit = make_ticket(other_customer, subject="Login loop", description="The page keeps reloading.")
    services.add_comment(reply_hit, author=agent, body="Is this about the payment page?")
    services.add_comment(reply_hit, author=agent, body=f"Account flagged as {NOTE_WORD}.", internal=True)
    return subject_hit, description_hit, reply_hit


# --- what matches ---------------------------------------------------------------------------------


def test_number_in_both_forms(desk, agent, customer):
    ticket = desk[0]
    assert found(agent, str(ticket.number)) == [ticket.number]
    assert found(agent, ticket.reference) == [ticket.number]
    assert found(agent, ticket.reference.lower()) == [ticket.number]
    assert found(customer, ticket.reference) == [ticket.number]
    assert found(customer, desk[2].reference) == []  # not theirs


@on_postgresql
def test_words_of_subject_description_and_replies(desk, agent):
    subject_hit, description_hit, reply_hit = desk
    assert found(agent, "declined") == [subject_hit.number]
    assert found(agent, "arrives") == [description_hit.number]
    assert found(agent, "payment") == sorted(t.number for t in desk)
    assert found(agent, "payment checkout") == [subject_hit.number, description_hit.number]
    assert found(agent, "payment unicorn") == []  # every word must match


@on_postgresql
def test_stemming(desk, agent):
    assert found(agent, "payments") == sorted(t.number for t in desk)
    assert found(agent, "reloads") == [desk[2].number]


@on_postgresql
def test_beginnings_of_words(desk, agent):
    assert found(agent, "paym") == sorted(t.number for t in desk)
    assert found(agent, "declin") == [desk[0].number]
    assert found(agent, "config") == [desk[1].number]
    # Past the stored stem ("configur") nothing matches, rather than shorter words ("config").
    assert found(agent, "configura") == []
    # Too short to be a beginning: only the whole word.
    assert found(agent, "pa") == []


@on_postgresql
@pytest.mark.parametrize("few", [1, 2, 3, 1000])
def test_few_or_many_matches_give_the_same_tickets(desk, agent, monkeypatch, few):
    """Up to ``FEW`` matches become a list of ids, more stay a condition: the same tickets either way."""
    monkeypatch.setattr(search, "FEW", few)
    assert found(agent, "payment") == sorted(t.number for t in desk)
    assert found(agent, "declined") == [desk[0].number]
    assert selectors.filter_tickets(agent, search="payment", status="new").count() == 2


@on_postgresql
def test_subject_ranks_above_description_above_replies(desk, agent):
    subject_hit, description_hit, reply_hit = desk
    qs = selectors.filter_tickets(agent, search="payment")
    ranked = list(search.ranked(qs, agent, "payment").values_list("number", flat=True))
    assert ranked == [subject_hit.number, description_hit.number, reply_hit.number]


@on_postgresql
def test_the_named_number_comes_first(customer, agent):
    other = make_ticket(customer, subject="Printer")
    named = make_ticket(customer, subject="Scanner")
    other.subject = f"Printer, see error {named.number}"
    other.save()
    qs = selectors.filter_tickets(agent, search=str(named.number))
    assert list(search.ranked(qs, agent, str(named.number)).values_list("number", flat=True)) == [
        named.number,
        other.number,
    ]


def test_requester_name_and_email_for_staff_only(desk, agent, customer, other_customer):
    other_customer.last_name = "Quixote"
    other_customer.save()
    assert found(agent, other_customer.username) == [desk[2].number]
    assert found(agent, other_customer.email.upper()) == [desk[2].number]
    assert found(agent, "quixo") == [desk[2].number]
    assert found(customer, other_customer.username) == []
    assert found(customer, customer.username) == []  # customers search text, not requesters


# --- internal notes never leak --------------------------------------------------------------------


@on_postgresql
def test_customer_cannot_find_a_ticket_by_an_internal_note(desk, other_customer, agent):
    reply_hit = desk[2]
    assert reply_hit.requester == other_customer
    for term in (NOTE_WORD, NOTE_WORD[:6], f"{NOTE_WORD} payment", "flagged"):
        assert found(other_customer, term) == [], term
        assert api_found(other_customer, term) == [], term
    # Their own ticket is still found by its public words.
    assert api_found(other_customer, "payment") == [reply_hit.number]


@on_postgresql
def test_staff_find_a_ticket_by_its_internal_note(desk, agent, client):
    assert found(agent, NOTE_WORD) == [desk[2].number]
    assert api_found(agent, NOTE_WORD[:6]) == [desk[2].number]
    client.force_login(agent)
    html = client.get(reverse("tickets:queue"), {"q": NOTE_WORD, "status": ""}).content.decode()
    assert desk[2].subject in html and desk[0].subject not in html


@on_postgresql
def test_a_reply_turned_into_a_note_stops_matching_for_customers(desk, other_customer, agent):
    reply = desk[2].comments.get(is_internal=False)
    TicketComment.objects.filter(pk=reply.pk).update(is_internal=True)
    assert found(other_customer, "payment") == []
    assert found(agent, "payment") == sorted(t.number for t in desk)


def test_customers_have_no_search_page(desk, other_customer, client):
    """The queue (the only page with a search box) is staff-only; the portal ignores ``q``."""
    client.force_login(other_customer)
    response = client.get(reverse("tickets:queue"), {"q": NOTE_WORD})
    assert response.status_code in (302, 403)
    portal = client.get(reverse("tickets:portal"), {"q": NOTE_WORD}).content.decode()
    assert NOTE_WORD not in portal


# --- vectors stay current -------------------------------------------------------------------------


@on_postgresql
def test_vectors_follow_comments_added_edited_and_deleted(desk, agent):
    ticket = desk[0]
    comment = services.add_comment(ticket, author=agent, body="Try the marmalade workaround.")
    assert found(agent, "marmalade") == [ticket.number]
    comment.body = "Try the toaster workaround."
    comment.save()
    assert found(agent, "marmalade") == []
    assert found(agent, "toaster") == [ticket.number]
    comment.delete()
    assert found(agent, "toaster") == []
    assert found(agent, "declined") == [ticket.number]  # the rest of the ticket still matches


@on_postgresql
def test_vectors_follow_the_subject_and_description(desk, agent):
    ticket = desk[0]
    ticket.subject = "Refund requested"
    ticket.save()
    assert found(agent, "refund") == [ticket.number]
    assert found(agent, "declined") == []
    Ticket.objects.filter(pk=ticket.pk).update(description="Harpsichord noises.")
    assert found(agent, "harpsichord") == [ticket.number]
    assert found(agent, "payment") == sorted(t.number for t in desk[1:])  # the reply on desk[2]


@on_postgresql
def test_other_writes_leave_the_vectors_alone(desk, agent):
    before = vectors(desk[2])
    services.change_status(desk[2], actor=agent, status="pending")
    assert vectors(desk[2]) == before
    assert before[0] and NOTE_WORD not in before[0]
    assert before[1] and NOTE_WORD[:8] in before[1]


@on_postgresql
def test_rebuild_restores_vectors_after_a_bulk_import(customer, agent):
    """An import that bypassed the triggers (here: disabled) leaves no vectors until the rebuild."""
    ticket = make_ticket(customer, subject="Existing")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending events: the table can be altered
        cursor.execute("ALTER TABLE tickets_ticket DISABLE TRIGGER tickets_ticket_search")
        cursor.execute("ALTER TABLE tickets_ticketcomment DISABLE TRIGGER tickets_comment_search_insert")
        cursor.execute(
            "INSERT INTO tickets_ticket (number, subject, description, requester_id, status, priority,"
            " category, channel, created_at, updated_at, escalation_level)"
            " SELECT 900000 + i, 'Imported gearbox ' || i, 'Bulk', %s, 'new', 'normal', 'other', 'web',"
            " now(), now(), 'L1' FROM generate_series(1, 3) i",
            [customer.pk],
        )
        cursor.execute(
            "INSERT INTO tickets_ticketcomment (ticket_id, author_id, body, is_internal, created_at)"
            " SELECT id, %s, 'imported lighthouse', number = 900001, now()"
            " FROM tickets_ticket WHERE number > 900000",
            [agent.pk],
        )
        cursor.execute("ALTER TABLE tickets_ticket ENABLE TRIGGER tickets_ticket_search")
        cursor.execute("ALTER TABLE tickets_ticketcomment ENABLE TRIGGER tickets_comment_search_insert")
    assert found(agent, "gearbox") == []
    assert search.rebuild() == 3
    assert found(agent, "gearbox") == [900001, 900002, 900003]
    assert found(agent, "lighthouse") == [900001, 900002, 900003]
    assert found(customer, "lighthouse") == [900002, 900003]  # 900001's is an internal note
    assert found(agent, "existing") == [ticket.number]
    assert search.rebuild() == 0  # nothing left to fix: nothing rewritten


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "term",
    [
        "!!!",
        "%",
        "_",
        "' & | ! :* ( ) <->",
        "\\",
        "the",
        "a",
        "T-",
        "T-99999999999",
        "9" * 400,
        "x" * 1000,
        "payment " * 125,
        "ünïcødé 数据 ²",
    ],
)
def test_odd_terms_never_fail(desk, agent, customer, term):
    for user in (agent, customer):
        list(selectors.filter_tickets(user, search=term))
        search.ranked(selectors.filter_tickets(user, search=term), user, term).count()


@pytest.mark.parametrize("term", ["!!!", "x" * 1000, "' & |"])
def test_odd_terms_through_the_api_and_the_queue(desk, agent, client, term):
    api = APIClient()
    api.force_login(agent)
    assert api.get("/api/tickets/", {"search": term}).status_code in (200, 400)
    client.force_login(agent)
    assert client.get(reverse("tickets:queue"), {"q": term}).status_code in (200, 400)


def test_parse_bounds_the_input():
    terms = search.parse("  T-1042  ")
    assert terms.number == 1042 and terms.words == ("t", "1042")
    assert search.parse("#77").number == 77
    assert search.parse("99999999999").number is None
    assert search.parse("ab_cd, ef!").words == ("ab", "cd", "ef")
    long = search.parse("word " * 500)
    assert len(long.words) == search.MAX_WORDS and len(long.text) == search.MAX_TERM_LENGTH


@on_postgresql
def test_tsquery_of_stop_words_only_is_empty():
    assert search.tsquery(("the", "and")) == ""
    assert search.tsquery(()) == ""


# --- the embedded database ------------------------------------------------------------------------


@on_sqlite
def test_sqlite_keeps_substring_search(desk, agent, customer):
    assert found(agent, "ayment decl") == [desk[0].number]
    assert found(agent, "PAYMENT") == [desk[0].number, desk[1].number]  # replies are not searched
    assert found(agent, desk[1].reference) == [desk[1].number]
    assert found(customer, NOTE_WORD) == []


def test_substring_search_used_without_postgresql(desk, agent, customer):
    """The fallback itself runs on any database (CI runs PostgreSQL, the embedded default SQLite)."""
    qs = selectors.ticket_queryset(agent)
    matched = search._substring_search(qs, agent, search.parse("ayment decl"))
    assert [t.number for t in matched] == [desk[0].number]
    by_requester = search._substring_search(qs, agent, search.parse(desk[2].requester.username))
    assert [t.number for t in by_requester] == [desk[2].number]
    mine = search._substring_search(selectors.ticket_queryset(customer), customer, search.parse("customer2"))
    assert list(mine) == []


def test_unknown_user_kind_sees_nothing(desk):
    stranger = make_user("nobody", role="customer", is_active=False)
    assert found(stranger, "payment") == []


# --- the queue's best matches ---------------------------------------------------------------------


@on_postgresql
def test_the_queue_shows_the_best_matches_above_its_recency_list(desk, agent, client):
    """The list stays newest first (keyset pages); above its first page, the best matches by rank."""
    subject_hit, description_hit, reply_hit = desk
    client.force_login(agent)
    page = client.get(reverse("tickets:queue"), {"q": "payment", "status": ""})
    assert [t.number for t in page.context["page"].rows] == [
        reply_hit.number, description_hit.number, subject_hit.number,
    ]  # fmt: skip
    assert [t.number for t in page.context["best"]] == [
        subject_hit.number, description_hit.number, reply_hit.number,
    ]  # fmt: skip
    assert 'data-testid="best-matches"' in page.content.decode()
    # One match, or no search: nothing to rank.
    assert client.get(reverse("tickets:queue"), {"q": "checkout refused", "status": ""}).context["best"] == []
    assert client.get(reverse("tickets:queue"), {"status": ""}).context["best"] == []


def test_too_many_matches_are_not_ranked(desk, agent, monkeypatch):
    monkeypatch.setattr(search, "FEW", 1)
    best = selectors.best_matches(agent, {"search": "payment", "status": None})
    assert best == [] if connection.vendor == "postgresql" else len(best) == 3
