"""Agent queue, agent ticket page and customer portal: who sees what, and what the forms do."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.factories import make_ticket, make_user
from tickets import services
from tickets.models import Status, Ticket, TicketComment, TicketEvent

pytestmark = pytest.mark.django_db

NOTE = "Internal: customer sounds upset, offer a callback"
REPLY = "Public: please try the Continue button again"


@pytest.fixture
def ticket(customer, agent):
    ticket = make_ticket(customer, subject="Loan form stops at step 3", category="debugging_errors")
    services.add_comment(ticket, author=agent, body=NOTE, internal=True)
    services.add_comment(ticket, author=agent, body=REPLY)
    ticket.refresh_from_db()
    return ticket


@pytest.fixture
def users(customer, other_customer, agent_l1, agent, manager):
    return {
        "customer": customer,
        "other_customer": other_customer,
        "agent_l1": agent_l1,
        "agent": agent,
        "manager": manager,
    }


def _client(client, user):
    if user is not None:
        client.force_login(user)
    return client


PAGES = {
    "queue": lambda t: reverse("tickets:queue"),
    "agent_ticket": lambda t: reverse("tickets:agent_ticket", args=[t.number]),
    "portal": lambda t: reverse("tickets:portal"),
    "portal_ticket": lambda t: reverse("tickets:portal_ticket", args=[t.number]),
    "portal_new": lambda t: reverse("tickets:portal_new"),
}

# (page, role) -> expected status; 302 targets are checked separately.
MATRIX = {
    ("queue", "customer"): 403,
    ("queue", "other_customer"): 403,
    ("queue", "agent_l1"): 200,
    ("queue", "agent"): 200,
    ("queue", "manager"): 200,
    ("agent_ticket", "customer"): 403,
    ("agent_ticket", "other_customer"): 403,
    ("agent_ticket", "agent_l1"): 200,
    ("agent_ticket", "agent"): 200,
    ("agent_ticket", "manager"): 200,
    ("portal", "customer"): 200,
    ("portal", "other_customer"): 200,
    ("portal", "agent"): 302,
    ("portal", "manager"): 302,
    ("portal_ticket", "customer"): 200,
    ("portal_ticket", "other_customer"): 404,
    ("portal_ticket", "agent"): 302,
    ("portal_ticket", "manager"): 302,
    ("portal_new", "customer"): 200,
    ("portal_new", "other_customer"): 200,
    ("portal_new", "agent"): 302,
}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_anonymous_is_sent_to_login(client, ticket, page):
    url = PAGES[page](ticket)
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith("/login/?next=")


@pytest.mark.parametrize(("page", "role"), sorted(MATRIX))
def test_page_visibility_matrix(client, users, ticket, page, role):
    response = _client(client, users[role]).get(PAGES[page](ticket))
    assert response.status_code == MATRIX[(page, role)]
    html = response.content.decode()
    if response.status_code in (403, 404):
        assert ticket.subject not in html
        assert REPLY not in html and NOTE not in html
    if response.status_code == 302:
        assert response.url.startswith("/agent/")


@pytest.mark.parametrize("page", ["queue", "agent_ticket"])
@pytest.mark.parametrize("role", ["agent_l1", "agent", "manager"])
def test_staff_see_the_ticket(client, users, ticket, page, role):
    html = _client(client, users[role]).get(PAGES[page](ticket)).content.decode()
    assert ticket.subject in html
    assert ticket.reference in html
    if page == "agent_ticket":
        assert NOTE in html and REPLY in html
        assert "Internal note" in html


def test_portal_shows_own_ticket_and_reply_but_never_internal_notes(client, customer, ticket):
    client.force_login(customer)
    for url in (PAGES["portal"](ticket), PAGES["portal_ticket"](ticket)):
        html = client.get(url).content.decode()
        assert ticket.subject in html
        assert NOTE not in html
        assert "internal note" not in html.lower()
    detail = client.get(PAGES["portal_ticket"](ticket)).content.decode()
    assert REPLY in detail


def test_portal_lists_only_own_tickets(client, customer, other_customer, ticket):
    theirs = make_ticket(other_customer, subject="Someone else's mortgage question")
    client.force_login(customer)
    html = client.get(reverse("tickets:portal")).content.decode()
    assert ticket.subject in html
    assert theirs.subject not in html


def test_portal_ticket_accepts_t_reference_and_rejects_garbage(client, customer, ticket):
    client.force_login(customer)
    assert client.get(f"/portal/tickets/{ticket.reference}/").status_code == 200
    assert client.get("/portal/tickets/not-a-number/").status_code == 404
    assert client.get("/portal/tickets/99999999/").status_code == 404


def test_agent_sees_readable_activity(client, agent, ticket):
    services.update_ticket(ticket, actor=agent, status=Status.PENDING, assignee=agent)
    client.force_login(agent)
    html = client.get(PAGES["agent_ticket"](ticket)).content.decode()
    name = agent.display_name
    assert f"<strong>{name}</strong> changed status from new to open" in html
    assert f"<strong>{name}</strong> changed status from open to pending" in html
    assert f"<strong>{name}</strong> took the ticket" in html
    assert "added an internal note" in html


def test_portal_history_hides_internal_events(client, customer, agent, ticket):
    client.force_login(customer)
    html = client.get(PAGES["portal_ticket"](ticket)).content.decode()
    assert "changed status from new to open" in html
    assert "added an internal note" not in html


# --- queue filters ---------------------------------------------------------------------------


@pytest.fixture
def queue_tickets(customer, other_customer, agent, agent_l1):
    a = make_ticket(customer, subject="Alpha urgent", priority="urgent", category="billing")
    b = make_ticket(other_customer, subject="Bravo mine", assignee=agent)
    c = make_ticket(customer, subject="Charlie resolved", assignee=agent_l1)
    services.change_status(c, actor=agent_l1, status=Status.RESOLVED)
    return a, b, c


def _queue(client, **params):
    response = client.get(reverse("tickets:queue"), params)
    return response, response.content.decode()


def test_queue_defaults_to_active_and_filters(client, agent, queue_tickets):
    client.force_login(agent)
    _, html = _queue(client)
    assert "Alpha urgent" in html and "Bravo mine" in html and "Charlie resolved" not in html
    _, html = _queue(client, status="")
    assert "Charlie resolved" in html
    _, html = _queue(client, status="active", mine="on")
    assert "Bravo mine" in html and "Alpha urgent" not in html
    _, html = _queue(client, status="active", unassigned="on")
    assert "Alpha urgent" in html and "Bravo mine" not in html
    _, html = _queue(client, status="", priority="urgent")
    assert "Alpha urgent" in html and "Bravo mine" not in html
    _, html = _queue(client, status="", category="billing")
    assert "Alpha urgent" in html and "Charlie resolved" not in html
    _, html = _queue(client, status="resolved")
    assert "Charlie resolved" in html and "Alpha urgent" not in html
    _, html = _queue(client, status="", q="bravo")
    assert "Bravo mine" in html and "Alpha urgent" not in html
    _, html = _queue(client, status="", q=queue_tickets[0].reference)
    assert "Alpha urgent" in html and "Bravo mine" not in html


def test_queue_rejects_unknown_filter_values(client, agent, queue_tickets):
    client.force_login(agent)
    response, html = _queue(client, status="exploded")
    assert response.status_code == 400
    assert "Alpha urgent" not in html
    assert "Select a valid choice" in html


def test_queue_paginates_and_keeps_filters(client, agent, customer):
    for i in range(27):
        make_ticket(customer, subject=f"Bulk ticket {i:02d}", priority="low")
    client.force_login(agent)
    response, html = _queue(client, priority="low")
    assert response.status_code == 200
    assert html.count('class="queue__row') == 25
    assert "27 tickets match these filters" in html
    assert "Showing 1\u201325" in html
    older = re.search(r'href="\?([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    assert "priority=low" in older and "cursor=" in older
    response = client.get(reverse("tickets:queue") + "?" + older)
    html = response.content.decode()
    assert html.count('class="queue__row') == 2
    assert "Showing 26\u201327" in html and 'rel="prev"' in html and 'rel="next"' not in html
    # An old page-numbered link, or a cursor that is not one, shows the first page.
    for params in ({"page": "2"}, {"page": "not-a-page"}, {"cursor": "not-a-cursor"}):
        response, html = _queue(client, priority="low", **params)
        assert response.status_code == 200
        assert html.count('class="queue__row') == 25 and "Showing 1\u201325" in html


# --- agent forms -----------------------------------------------------------------------------


def _update(client, ticket, **overrides):
    data = {
        "status": ticket.status,
        "priority": ticket.priority,
        "category": ticket.category,
        "assignee": ticket.assignee_id or "",
    }
    data.update(overrides)
    return client.post(reverse("tickets:agent_ticket_update", args=[ticket.number]), data)


def test_agent_updates_status_priority_category_and_assignee(client, agent, agent_l3, ticket):
    client.force_login(agent)
    response = _update(
        client, ticket, status="pending", priority="high", category="billing", assignee=agent_l3.pk
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.category, ticket.assignee_id) == (
        "pending",
        "high",
        "billing",
        agent_l3.pk,
    )
    html = client.get(response.url).content.decode()
    assert f"{ticket.reference} updated." in html


def test_illegal_transition_shows_error_and_changes_nothing(client, agent, agent_l3, ticket):
    services.change_status(ticket, actor=agent, status=Status.CLOSED)
    ticket.refresh_from_db()
    events_before = TicketEvent.objects.filter(ticket=ticket).count()
    client.force_login(agent)
    response = _update(client, ticket, status="open", priority="urgent", assignee=agent_l3.pk)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Cannot change status from &#x27;closed&#x27; to &#x27;open&#x27;." in html
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.assignee_id) == ("closed", "normal", None)
    assert TicketEvent.objects.filter(ticket=ticket).count() == events_before


def test_update_rejects_unknown_values_and_customers_as_assignees(client, agent, customer, ticket):
    client.force_login(agent)
    assert _update(client, ticket, priority="galactic").status_code == 400
    assert _update(client, ticket, assignee=customer.pk).status_code == 400
    assert _update(client, ticket, assignee="abc").status_code == 400
    ticket.refresh_from_db()
    assert ticket.priority == "normal" and ticket.assignee_id is None


def _comment(client, ticket, body, visibility="public"):
    return client.post(
        reverse("tickets:agent_ticket_comment", args=[ticket.number]),
        {"body": body, "visibility": visibility},
    )


def test_agent_adds_note_and_reply(client, agent, ticket):
    client.force_login(agent)
    assert _comment(client, ticket, "Checked the logs", "internal").status_code == 302
    assert _comment(client, ticket, "Fixed now, please retry").status_code == 302
    note = TicketComment.objects.get(body="Checked the logs")
    reply = TicketComment.objects.get(body="Fixed now, please retry")
    assert note.is_internal and not reply.is_internal
    assert note.author == reply.author == agent


@pytest.mark.parametrize("body", ["", "   \n  "])
def test_empty_reply_is_rejected(client, agent, customer, ticket, body):
    before = TicketComment.objects.count()
    client.force_login(agent)
    response = _comment(client, ticket, body)
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    client.force_login(customer)
    response = client.post(reverse("tickets:portal_ticket_reply", args=[ticket.number]), {"body": body})
    assert response.status_code == 400
    assert TicketComment.objects.count() == before


def test_reply_on_closed_ticket_is_an_error_not_a_crash(client, agent, ticket):
    services.change_status(ticket, actor=agent, status=Status.CLOSED)
    client.force_login(agent)
    response = _comment(client, ticket, "One more thing")
    assert response.status_code == 400
    assert "This ticket is closed" in response.content.decode()


def test_unknown_visibility_is_rejected(client, agent, ticket):
    client.force_login(agent)
    assert _comment(client, ticket, "Hello", "broadcast").status_code == 400
    assert not TicketComment.objects.filter(body="Hello").exists()


# --- crafted customer requests ---------------------------------------------------------------


def test_customer_cannot_post_internal_notes_or_change_status(client, customer, agent, ticket):
    client.force_login(customer)
    # The agent endpoints are closed to customers.
    assert _comment(client, ticket, "sneaky note", "internal").status_code == 403
    assert _update(client, ticket, status="closed", priority="urgent", assignee=agent.pk).status_code == 403
    # The portal reply ignores anything but the body.
    response = client.post(
        reverse("tickets:portal_ticket_reply", args=[ticket.number]),
        {"body": "Thanks, trying now", "visibility": "internal", "is_internal": "1", "status": "closed"},
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.assignee_id) == ("open", "normal", None)
    assert not TicketComment.objects.filter(body="sneaky note").exists()
    comment = TicketComment.objects.get(body="Thanks, trying now")
    assert comment.is_internal is False and comment.author == customer


def test_other_customer_cannot_reply(client, other_customer, ticket):
    client.force_login(other_customer)
    response = client.post(reverse("tickets:portal_ticket_reply", args=[ticket.number]), {"body": "hi"})
    assert response.status_code == 404
    assert not TicketComment.objects.filter(body="hi").exists()


def test_get_on_post_only_endpoints_is_405(client, agent, ticket):
    client.force_login(agent)
    assert client.get(reverse("tickets:agent_ticket_update", args=[ticket.number])).status_code == 405
    assert client.get(reverse("tickets:agent_ticket_comment", args=[ticket.number])).status_code == 405


# --- portal: new ticket ----------------------------------------------------------------------


def test_customer_opens_a_ticket(client, customer):
    client.force_login(customer)
    response = client.post(
        reverse("tickets:portal_new"),
        {"subject": "Rate lock question", "description": "How long is my rate locked?", "category": "other"},
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get(subject="Rate lock question")
    assert ticket.requester == customer and ticket.channel == "web" and ticket.status == "new"
    assert response.url == reverse("tickets:portal_ticket", args=[ticket.number])
    assert "is with our team" in client.get(response.url).content.decode()


@pytest.mark.parametrize(
    "data",
    [
        {"subject": "", "description": "x", "category": "other"},
        {"subject": "x", "description": "  ", "category": "other"},
        {"subject": "x", "description": "y", "category": "weather"},
        {"subject": "x" * 201, "description": "y", "category": "other"},
    ],
)
def test_new_ticket_rejects_bad_input(client, customer, data):
    client.force_login(customer)
    response = client.post(reverse("tickets:portal_new"), data)
    assert response.status_code == 400
    assert Ticket.objects.count() == 0


def test_new_customer_without_tickets_sees_empty_state(client, db):
    client.force_login(make_user("fresh", role="customer"))
    html = client.get(reverse("tickets:portal")).content.decode()
    assert "No requests yet" in html


def test_saving_keeps_a_deactivated_assignee(client, agent, agent_l3, ticket):
    services.assign(ticket, actor=agent, assignee=agent_l3)
    agent_l3.is_active = False
    agent_l3.save()
    ticket.refresh_from_db()
    client.force_login(agent)
    page = client.get(PAGES["agent_ticket"](ticket)).content.decode()
    assert f'<option value="{agent_l3.pk}" selected>' in page
    assert _update(client, ticket, priority="high").status_code == 302
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.assignee_id) == ("high", agent_l3.pk)


def test_queue_query_count_does_not_grow_with_tickets(client, agent, customer, django_assert_max_num_queries):
    for i in range(20):
        make_ticket(customer, subject=f"Ticket {i}", assignee=agent)
    client.force_login(agent)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("tickets:queue")).status_code == 200


def test_portal_explains_pending_and_resolved(client, customer, agent, ticket):
    client.force_login(customer)
    services.change_status(ticket, actor=agent, status=Status.PENDING)
    assert "waiting for your reply" in client.get(PAGES["portal_ticket"](ticket)).content.decode()
    services.change_status(ticket, actor=agent, status=Status.RESOLVED)
    assert "reply below and we" in client.get(PAGES["portal_ticket"](ticket)).content.decode()
