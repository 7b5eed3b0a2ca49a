"""Tickets REST API: roles and visibility, lookups, filters, writes and error mapping."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from tests.factories import PASSWORD, make_ticket
from tickets import services
from tickets.models import Status, Ticket, TicketEvent

STAFF = ["agent_l1", "agent", "agent_l3", "manager"]
NOTE_BODY = "Internal: customer is on the legacy plan, do not offer a refund"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Test users need a password, not a slow one."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def ticket(customer):
    return make_ticket(customer, subject="Cannot upload documents")


@pytest.fixture
def conversation(ticket, agent):
    """A ticket with a public reply from the customer, a staff reply and an internal note."""
    services.add_comment(ticket, author=ticket.requester, body="Any news?")
    services.add_comment(ticket, author=agent, body="Looking into it.")
    note = services.add_comment(ticket, author=agent, body=NOTE_BODY, internal=True)
    return ticket, note


def url(ticket: Ticket, suffix: str = "") -> str:
    return f"/api/tickets/{ticket.number}/{suffix}"


# --- anonymous ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", None),
        ("post", None),
        ("get", ""),
        ("patch", ""),
        ("get", "comments/"),
        ("post", "comments/"),
        ("get", "events/"),
    ],
)
def test_anonymous_is_refused_everywhere(ticket, method, suffix):
    path = "/api/tickets/" if suffix is None else url(ticket, suffix)
    response = getattr(APIClient(), method)(path, {"subject": "x", "body": "x"}, format="json")
    assert response.status_code in (401, 403)
    assert ticket.subject not in response.content.decode()


@pytest.mark.django_db
def test_inactive_user_is_refused(ticket, customer):
    client = client_for(customer)
    customer.is_active = False
    customer.save()
    assert client.get(url(ticket)).status_code in (401, 403)


# --- the other customer never sees anything -------------------------------------------------------


@pytest.mark.django_db
def test_other_customer_gets_404_everywhere(conversation, other_customer):
    ticket, _ = conversation
    client = client_for(other_customer)
    listing = client.get("/api/tickets/")
    assert listing.status_code == 200
    assert listing.json()["results"] == []
    assert client.get("/api/tickets/", {"search": ticket.reference}).json()["results"] == []
    for path in (url(ticket), url(ticket, "comments/"), url(ticket, "events/")):
        response = client.get(path)
        assert response.status_code == 404, path
        assert ticket.subject not in response.content.decode()
    assert client.patch(url(ticket), {"status": "closed"}, format="json").status_code == 404
    assert client.patch(url(ticket), {}, format="json").status_code == 404
    assert client.post(url(ticket, "comments/"), {"body": "hi"}, format="json").status_code == 404
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.comments.count() == 3


# --- the owner ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_owner_sees_their_ticket_but_never_internal_notes(conversation, customer):
    ticket, note = conversation
    client = client_for(customer)

    listing = client.get("/api/tickets/")
    assert [t["number"] for t in listing.json()["results"]] == [ticket.number]
    assert NOTE_BODY not in listing.content.decode()

    detail = client.get(url(ticket))
    assert detail.status_code == 200
    assert NOTE_BODY not in detail.content.decode()

    comments = client.get(url(ticket, "comments/")).json()
    assert [c["body"] for c in comments["results"]] == ["Any news?", "Looking into it."]
    assert all(c["is_internal"] is False for c in comments["results"])

    events = client.get(url(ticket, "events/")).json()["results"]
    kinds = [e["kind"] for e in events]
    assert "note" not in kinds
    assert {"created", "comment"} <= set(kinds)
    assert all(e["internal"] is False for e in events)
    assert all(e["data"].get("comment") != note.pk for e in events)


@pytest.mark.django_db
def test_owner_cannot_change_workflow_fields(ticket, customer, agent):
    client = client_for(customer)
    for payload in ({"status": "closed"}, {"priority": "urgent"}, {"category": "billing"}):
        response = client.patch(url(ticket), payload, format="json")
        assert response.status_code == 403, payload
        assert next(iter(payload)) in response.json()["detail"]
    response = client.patch(url(ticket), {"assignee": agent.pk}, format="json")
    assert response.status_code == 403
    # Even an invalid value is a 403 for a customer, not a hint about valid values.
    assert client.patch(url(ticket), {"status": "bogus"}, format="json").status_code == 403
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.assignee) == (Status.NEW, "normal", None)


@pytest.mark.django_db
def test_owner_cannot_write_internal_notes(ticket, customer):
    response = client_for(customer).post(
        url(ticket, "comments/"), {"body": "sneaky", "is_internal": True}, format="json"
    )
    assert response.status_code == 403
    assert "internal notes" in response.json()["detail"]
    assert not ticket.comments.exists()


@pytest.mark.django_db
def test_owner_reply_is_public_and_reopens_pending(ticket, customer, agent):
    services.change_status(ticket, actor=agent, status=Status.PENDING)
    response = client_for(customer).post(url(ticket, "comments/"), {"body": "Here it is"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["is_internal"] is False
    assert body["author"] == {"id": customer.pk, "display_name": "Customer1"}  # no login names to customers
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


# --- support staff ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", STAFF)
def test_staff_see_everything_including_notes(request, role, conversation):
    ticket, note = conversation
    client = client_for(request.getfixturevalue(role))
    assert [t["number"] for t in client.get("/api/tickets/").json()["results"]] == [ticket.number]
    assert client.get(url(ticket)).status_code == 200
    comments = client.get(url(ticket, "comments/")).json()["results"]
    assert [c["is_internal"] for c in comments] == [False, False, True]
    assert comments[-1]["id"] == note.pk
    events = client.get(url(ticket, "events/")).json()["results"]
    assert any(e["kind"] == "note" and e["internal"] for e in events)


@pytest.mark.django_db
@pytest.mark.parametrize("role", STAFF)
def test_staff_can_work_tickets(request, role, ticket, agent):
    user = request.getfixturevalue(role)
    client = client_for(user)
    response = client.patch(
        url(ticket), {"status": "pending", "priority": "high", "assignee": agent.pk}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["priority"], body["assignee"]["id"]) == ("pending", "high", agent.pk)
    note = client.post(url(ticket, "comments/"), {"body": "checked logs", "is_internal": True}, format="json")
    assert note.status_code == 201
    assert note.json()["is_internal"] is True


# --- lookups and representation -------------------------------------------------------------------


@pytest.mark.django_db
def test_representation(ticket, customer, account):
    body = client_for(customer).get(url(ticket)).json()
    assert body["reference"] == f"T-{ticket.number}"
    assert body["number"] == ticket.number
    assert body["requester"] == {
        "id": customer.pk,
        "display_name": "Customer1",
    }  # no login names to customers
    assert body["assignee"] is None
    assert body["account"] == {"id": account.pk, "name": account.name}
    assert body["status"] == "new"


@pytest.mark.django_db
@pytest.mark.parametrize("ref", ["{n}", "T-{n}", "t-{n}"])
def test_lookup_by_number_or_reference(ticket, agent, ref):
    client = client_for(agent)
    path = f"/api/tickets/{ref.format(n=ticket.number)}/"
    assert client.get(path).json()["number"] == ticket.number
    assert client.get(path + "comments/").status_code == 200
    assert client.get(path + "events/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("ref", ["999999", "T-999999", "99999999999999999999999", "X-1", "T-", "abc"])
def test_unknown_tickets_are_404(ticket, agent, ref):
    client = client_for(agent)
    assert client.get(f"/api/tickets/{ref}/").status_code == 404
    assert client.get(f"/api/tickets/{ref}/comments/").status_code == 404


@pytest.mark.django_db
def test_first_ticket_number_follows_setting(ticket, settings):
    assert ticket.number == settings.TANDEM_TICKET_NUMBER_START


# --- list: filters and pagination -------------------------------------------------------------


@pytest.fixture
def queue(customer, other_customer, agent, manager):
    a = make_ticket(customer, subject="Printer on fire", priority="urgent", category="billing")
    b = make_ticket(customer, subject="SSO loop", category="sso_authentication", assignee=agent)
    c = make_ticket(other_customer, subject="Report totals wrong", assignee=manager)
    services.change_status(c, actor=manager, status=Status.RESOLVED)
    d = make_ticket(other_customer, subject="Closed one")
    services.change_status(d, actor=manager, status=Status.CLOSED)
    return a, b, c, d


def numbers(response) -> list[int]:
    assert response.status_code == 200, response.content
    return sorted(t["number"] for t in response.json()["results"])


@pytest.mark.django_db
def test_filters(queue, agent, manager):
    a, b, c, d = queue
    client = client_for(agent)
    assert numbers(client.get("/api/tickets/")) == sorted(t.number for t in queue)
    assert numbers(client.get("/api/tickets/", {"mine": "true"})) == [b.number]
    assert numbers(client_for(manager).get("/api/tickets/", {"mine": "1"})) == [c.number]
    assert numbers(client.get("/api/tickets/", {"unassigned": "true"})) == [a.number, d.number]
    assert numbers(client.get("/api/tickets/", {"status": "active"})) == [a.number, b.number]
    assert numbers(client.get("/api/tickets/", {"status": "resolved"})) == [c.number]
    assert numbers(client.get("/api/tickets/", {"priority": "urgent"})) == [a.number]
    assert numbers(client.get("/api/tickets/", {"category": "sso_authentication"})) == [b.number]
    assert numbers(client.get("/api/tickets/", {"search": "printer"})) == [a.number]
    assert numbers(client.get("/api/tickets/", {"search": c.reference})) == [c.number]
    assert numbers(client.get("/api/tickets/", {"search": "customer2"})) == [c.number, d.number]
    assert numbers(client.get("/api/tickets/", {"status": "active", "unassigned": "true"})) == [a.number]
    assert numbers(client.get("/api/tickets/", {"status": "", "search": ""})) == sorted(
        t.number for t in queue
    )


@pytest.mark.django_db
def test_customer_filters_stay_within_their_own_tickets(queue, customer):
    a, b, _, _ = queue
    client = client_for(customer)
    assert numbers(client.get("/api/tickets/")) == [a.number, b.number]
    assert numbers(client.get("/api/tickets/", {"status": "resolved"})) == []
    # Customers cannot find other people's tickets by requester name either.
    assert numbers(client.get("/api/tickets/", {"search": "customer2"})) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "bogus"}, "status"),
        ({"priority": "whenever"}, "priority"),
        ({"category": "nope"}, "category"),
        ({"mine": "perhaps"}, "mine"),
        ({"search": "x" * 201}, "search"),
        ({"search": "a\x00b"}, "search"),
    ],
)
def test_invalid_filters_are_400(ticket, agent, params, field):
    response = client_for(agent).get("/api/tickets/", params)
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("term", ["99999999999999999999999", "T-99999999999999999999", "²", "T-²"])
def test_odd_search_terms_do_not_crash(ticket, agent, term):
    assert numbers(client_for(agent).get("/api/tickets/", {"search": term})) == []


@pytest.mark.django_db
def test_pagination(customer, agent):
    """Newest first, by cursor (tests/tickets/test_pagination.py covers the walk and its limits)."""
    created = [make_ticket(customer, subject=f"Issue {i}") for i in range(5)]
    client = client_for(agent)
    first = client.get("/api/tickets/", {"page_size": 2}).json()
    assert set(first) == {"next", "previous", "results"}
    assert [t["number"] for t in first["results"]] == [created[4].number, created[3].number]
    assert first["next"] is not None and first["previous"] is None
    second = client.get(first["next"]).json()
    assert [t["number"] for t in second["results"]] == [created[2].number, created[1].number]
    last = client.get(second["next"]).json()
    assert [t["number"] for t in last["results"]] == [created[0].number]
    assert last["next"] is None and last["previous"] is not None
    # Page numbers are gone: a clear 400 rather than the first page again and again.
    response = client.get("/api/tickets/", {"page": 3})
    assert response.status_code == 400 and "page" in response.json()


# --- create -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_customer_opens_a_ticket_for_themselves(customer):
    response = client_for(customer).post(
        "/api/tickets/",
        {"subject": "  Login fails ", "description": "Since this morning", "category": "sso_authentication"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["requester"]["id"] == customer.pk
    assert body["subject"] == "Login fails"
    assert body["category"] == "sso_authentication"
    ticket = Ticket.objects.get(number=body["number"])
    assert ticket.events.filter(kind="created", actor=customer).exists()


@pytest.mark.django_db
def test_customer_cannot_open_for_someone_else(customer, other_customer):
    response = client_for(customer).post(
        "/api/tickets/",
        {"subject": "x", "description": "y", "requester": other_customer.pk},
        format="json",
    )
    assert response.status_code == 400
    assert "requester" in response.json()
    # Naming themselves is fine.
    response = client_for(customer).post(
        "/api/tickets/", {"subject": "x", "description": "y", "requester": customer.pk}, format="json"
    )
    assert response.status_code == 201
    assert not Ticket.objects.filter(requester=other_customer).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["priority", "channel", "assignee"])
def test_customer_cannot_set_triage_fields_on_create(customer, agent, field):
    value = {"priority": "urgent", "channel": "phone", "assignee": agent.pk}[field]
    response = client_for(customer).post(
        "/api/tickets/", {"subject": "x", "description": "y", field: value}, format="json"
    )
    assert response.status_code == 403
    assert field in response.json()["detail"]
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_staff_open_a_ticket_for_a_customer(agent, customer, manager):
    response = client_for(agent).post(
        "/api/tickets/",
        {
            "subject": "Phoned in",
            "description": "Customer called about invoices",
            "requester": customer.pk,
            "priority": "high",
            "channel": "phone",
            "assignee": manager.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["requester"]["id"] == customer.pk
    assert (body["priority"], body["channel"], body["assignee"]["id"]) == ("high", "phone", manager.pk)
    ticket = Ticket.objects.get(number=body["number"])
    assert ticket.events.get(kind="created").actor == agent


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"subject": "x", "description": "y"}, "requester"),  # staff must name a customer
        ({"subject": "x", "description": "y", "requester": "AGENT"}, "requester"),
        ({"subject": "x", "description": "y", "requester": "CUSTOMER", "assignee": "CUSTOMER"}, "assignee"),
        ({"subject": "x", "description": "y", "requester": 999999}, "requester"),
        ({"description": "y", "requester": "CUSTOMER"}, "subject"),
        ({"subject": "   ", "description": "y", "requester": "CUSTOMER"}, "subject"),
        ({"subject": "x" * 201, "description": "y", "requester": "CUSTOMER"}, "subject"),
        ({"subject": "x", "description": "y", "requester": "CUSTOMER", "priority": "asap"}, "priority"),
        ({"subject": "x", "description": "y", "requester": "CUSTOMER", "category": "misc"}, "category"),
    ],
)
def test_staff_create_validation(agent, customer, payload, field):
    ids = {"AGENT": agent.pk, "CUSTOMER": customer.pk}
    payload = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in payload.items()}
    response = client_for(agent).post("/api/tickets/", payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_malformed_bodies_are_400_not_500(ticket, agent):
    client = client_for(agent)
    assert client.post("/api/tickets/", [1, 2], format="json").status_code == 400
    assert client.patch(url(ticket), [1, 2], format="json").status_code == 400
    assert client.post(url(ticket, "comments/"), [1], format="json").status_code == 400
    response = client.post("/api/tickets/", "{not json", content_type="application/json")
    assert response.status_code == 400


# --- partial update ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_illegal_transition_names_it(ticket, agent):
    services.change_status(ticket, actor=agent, status=Status.CLOSED)
    response = client_for(agent).patch(url(ticket), {"status": "open"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["transition"] == {"from": "closed", "to": "open"}
    assert "'closed' to 'open'" in body["status"][0]


@pytest.mark.django_db
def test_update_is_all_or_nothing(ticket, agent, manager):
    services.change_status(ticket, actor=agent, status=Status.CLOSED)
    events_before = TicketEvent.objects.count()
    response = client_for(agent).patch(
        url(ticket), {"assignee": manager.pk, "priority": "urgent", "status": "new"}, format="json"
    )
    assert response.status_code == 400
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.priority, ticket.status) == (None, "normal", Status.CLOSED)
    assert TicketEvent.objects.count() == events_before


@pytest.mark.django_db
def test_update_records_events_and_unassigns(ticket, agent):
    client = client_for(agent)
    assert client.patch(url(ticket), {"assignee": agent.pk}, format="json").status_code == 200
    response = client.patch(url(ticket), {"assignee": None, "category": "billing"}, format="json")
    assert response.status_code == 200
    assert response.json()["assignee"] is None
    kinds = list(ticket.events.values_list("kind", flat=True))
    assert kinds == ["created", "assignment", "assignment", "category"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"status": "archived"}, "status"),
        ({"priority": 3}, "priority"),
        ({"assignee": "CUSTOMER"}, "assignee"),
        ({"assignee": 999999}, "assignee"),
        ({"subject": "new subject"}, "non_field_errors"),
        ({"status": "open", "description": "x"}, "non_field_errors"),
        ({}, "non_field_errors"),
    ],
)
def test_update_validation(ticket, agent, customer, payload, field):
    payload = {k: customer.pk if v == "CUSTOMER" else v for k, v in payload.items()}
    response = client_for(agent).patch(url(ticket), payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW and ticket.subject == "Cannot upload documents"


@pytest.mark.django_db
def test_put_and_delete_are_not_offered(ticket, agent):
    client = client_for(agent)
    assert client.put(url(ticket), {"status": "open"}, format="json").status_code == 405
    assert client.delete(url(ticket)).status_code == 405
    assert client.delete(url(ticket, "comments/")).status_code == 405
    assert client.post(url(ticket, "events/"), {}, format="json").status_code == 405


# --- comments ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_staff_reply_sets_first_response_and_opens(ticket, agent):
    response = client_for(agent).post(url(ticket, "comments/"), {"body": "On it"}, format="json")
    assert response.status_code == 201
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.first_response_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{"body": ""}, {"body": "   "}, {}, {"body": "x" * 20001}])
def test_comment_validation(ticket, customer, body):
    response = client_for(customer).post(url(ticket, "comments/"), body, format="json")
    assert response.status_code == 400
    assert "body" in response.json()


@pytest.mark.django_db
def test_closed_ticket_takes_no_comments(ticket, agent, customer):
    services.change_status(ticket, actor=agent, status=Status.CLOSED)
    response = client_for(customer).post(url(ticket, "comments/"), {"body": "hello?"}, format="json")
    assert response.status_code == 400
    assert "closed" in response.json()["body"][0]


@pytest.mark.django_db
def test_internal_note_is_never_shown_to_the_customer(ticket, agent, customer):
    response = client_for(agent).post(url(ticket, "comments/"), {"body": NOTE_BODY, "is_internal": True})
    assert response.status_code == 201
    customer_client = client_for(customer)
    for path in ("/api/tickets/", url(ticket), url(ticket, "comments/"), url(ticket, "events/")):
        response = customer_client.get(path)
        assert response.status_code == 200
        assert NOTE_BODY not in response.content.decode(), path
    assert customer_client.get(url(ticket, "comments/")).json()["count"] == 0
    assert [e["kind"] for e in customer_client.get(url(ticket, "events/")).json()["results"]] == ["created"]
    # An internal note is not a first response.
    ticket.refresh_from_db()
    assert ticket.first_response_at is None and ticket.status == Status.NEW


# --- token authentication ---------------------------------------------------------------------


@pytest.mark.django_db
def test_token_endpoint_and_token_auth(ticket, customer):
    anonymous = APIClient()
    response = anonymous.post(
        "/api/auth/token/", {"username": "customer1", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert len(client.get("/api/tickets/").json()["results"]) == 1
    reply = client.post(url(ticket, "comments/"), {"body": "via token"}, format="json")
    assert reply.status_code == 201

    # Asking again returns the same token; every issue is on the audit trail, without the secret.
    again = anonymous.post("/api/auth/token/", {"username": "customer1", "password": PASSWORD})
    assert again.json()["token"] == token
    issued = AuditEvent.objects.filter(action="api.token_issued", actor=customer).order_by("id")
    assert [e.details for e in issued] == [{"new_token": True}, {"new_token": False}]
    assert all(token not in str(e.details) for e in issued)

    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert bad.get("/api/tickets/").status_code in (401, 403)


@pytest.mark.django_db
def test_token_endpoint_rejects_bad_credentials_and_throttles(customer):
    client = APIClient()
    response = client.post("/api/auth/token/", {"username": "customer1", "password": "wrong"}, format="json")
    assert response.status_code == 400
    assert "token" not in response.json()
    statuses = [
        client.post("/api/auth/token/", {"username": "customer1", "password": "wrong"}).status_code
        for _ in range(15)
    ]
    assert statuses[-1] == 429
    assert set(statuses) == {400, 429}


@pytest.mark.django_db
def test_token_of_deactivated_user_stops_working(customer):
    token = (
        APIClient().post("/api/auth/token/", {"username": "customer1", "password": PASSWORD}).json()["token"]
    )
    customer.is_active = False
    customer.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/tickets/").status_code in (401, 403)


# --- cost and CSRF ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_lists_do_not_query_per_row(customer, agent, django_assert_max_num_queries):
    tickets = [make_ticket(customer, subject=f"Issue {i}", assignee=agent) for i in range(12)]
    for i in range(8):
        services.add_comment(tickets[0], author=agent if i % 2 else customer, body=f"reply {i}")
    client = client_for(agent)
    # session + user + page, whatever the number of rows: the ticket list counts nothing
    with django_assert_max_num_queries(3):
        assert len(client.get("/api/tickets/").json()["results"]) == 12
    with django_assert_max_num_queries(7):
        assert client.get(url(tickets[0], "comments/")).json()["count"] == 8
    with django_assert_max_num_queries(7):
        assert client.get(url(tickets[0], "events/")).json()["count"] > 8


@pytest.mark.django_db
def test_session_writes_need_csrf_but_token_writes_do_not(ticket, customer):
    session_client = APIClient(enforce_csrf_checks=True)
    session_client.force_login(customer)
    response = session_client.post(url(ticket, "comments/"), {"body": "no csrf"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]

    token = (
        APIClient().post("/api/auth/token/", {"username": "customer1", "password": PASSWORD}).json()["token"]
    )
    token_client = APIClient(enforce_csrf_checks=True)
    token_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert (
        token_client.post(url(ticket, "comments/"), {"body": "with token"}, format="json").status_code == 201
    )
    assert list(ticket.comments.values_list("body", flat=True)) == ["with token"]
