"""Widget-initiated help: ``/api/widget/help/`` (create, status, cancel), Take on the queue, expiry."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts import site_keys
from cobrowse import tasks as cobrowse_tasks
from cobrowse.models import CoBrowseSession, SessionState
from consent import help_requests
from consent.grants import verify_grant
from consent.models import ConsentKind, ConsentRecord, HelpRequest, HelpRequestState
from consent.prompts import help_prompt
from tests.factories import make_account, make_ticket, make_user
from tickets.models import EventKind, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

URL = "/api/widget/help/"
ORIGIN = "http://localhost:8001"
PAGE = f"{ORIGIN}/apply/step-2"


def sign(secret: str, user_id: str) -> str:
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def issued(account):
    return site_keys.create_site_key(account, "acme-home-loans")


def body(secret: str, user_id: str = "customer1", **over):
    data = {
        "site": "acme-home-loans",
        "user": {"id": user_id, "signature": sign(secret, user_id)},
        "page": {
            "url": PAGE + "?ssn=123#x",
            "title": "Apply",
            "field": "pin_code",
            "trigger": "stall",
            "completion": 45,
        },
        "consent": {"mode": "guided", "recording": False},
    }
    data.update(over)
    return data


def ask(client, data, origin=ORIGIN):
    raw = data if isinstance(data, (str, bytes)) else json.dumps(data)
    extra = {"HTTP_ORIGIN": origin} if origin else {}
    return client.post(URL, data=raw, content_type="application/json", **extra)


def created(client, issued, **over):
    response = ask(client, body(issued.secret, **over))
    assert response.status_code == 201, response.content
    return response.json()


def status(client, token, origin=ORIGIN):
    return client.get(f"{URL}{token}/", HTTP_ORIGIN=origin)


# --- create --------------------------------------------------------------------------------------


def test_a_signed_request_waits_with_a_hashed_token_and_a_new_web_ticket(client, issued, customer):
    answer = created(client, issued)
    assert set(answer) == {"id", "status_url", "poll_ms", "expires_at"}
    assert answer["status_url"].endswith(f"{URL}{answer['id']}/")
    help_request = HelpRequest.objects.get()
    assert help_request.token_hash == hashlib.sha256(answer["id"].encode()).hexdigest()
    assert answer["id"] not in help_request.token_hash
    assert help_request.state == HelpRequestState.WAITING and help_request.customer == customer
    assert help_request.page_url == PAGE  # query and fragment dropped
    ticket = help_request.ticket
    assert ticket.channel == "web" and ticket.requester == customer
    assert PAGE in ticket.description and "pin_code" in ticket.description and "45 %" in ticket.description
    assert (help_request.expires_at - help_request.created_at).total_seconds() == pytest.approx(180, abs=2)


def test_the_customers_most_recent_open_ticket_is_used(client, issued, customer):
    older = make_ticket(customer)
    newer = make_ticket(customer, subject="Newer")
    make_ticket(customer, subject="Done").__class__.objects.filter(subject="Done").update(status="closed")
    Ticket.objects.filter(pk=older.pk).update(updated_at=timezone.now() - timedelta(days=1))
    created(client, issued)
    assert HelpRequest.objects.get().ticket == newer
    assert Ticket.objects.filter(requester=customer).count() == 3  # no new ticket


def test_the_card_words_are_the_consent_screens(client, issued):
    words = client.get(f"{URL}words/?site=acme-home-loans", HTTP_ORIGIN=ORIGIN).json()
    assert words["prompt"] == help_prompt()
    assert "form fields and your progress" in words["prompt"]
    assert [m["mode"] for m in words["modes"]] == ["view_only", "guided", "controlled"]
    assert client.get(f"{URL}words/?site=nope-site").status_code == 404
    assert client.get(f"{URL}words/").status_code == 400


@pytest.mark.parametrize(
    "change, code",
    [
        (lambda b: b["user"].pop("signature"), 400),
        (lambda b: b["user"].update(signature="zz"), 400),
        (lambda b: b["user"].update(signature="0" * 64), 403),
        (lambda b: b.update(site="other-site"), 404),
        (lambda b: b["consent"].update(mode="full"), 400),
        (lambda b: b["consent"].update(recording="yes"), 400),
        (lambda b: b.pop("consent"), 400),
        (lambda b: b["page"].update(url="javascript:alert(1)"), 400),
        (lambda b: b["page"].update(completion=140), 400),
        (lambda b: b.update(extra=1), 400),
    ],
)
def test_bad_requests_are_clear_errors_and_write_nothing(client, issued, customer, change, code):
    data = body(issued.secret)
    change(data)
    response = ask(client, data)
    assert response.status_code == code, response.content
    assert response.json()["code"] in {"malformed", "bad_signature", "unknown_site"}
    assert not HelpRequest.objects.exists() and not Ticket.objects.exists()


def test_a_nul_in_the_site_or_user_id_is_refused_not_a_server_error(client, issued, customer):
    """PostgreSQL refuses a NUL in a query parameter: these were 500s (found by the API fuzzer)."""
    assert client.get(f"{URL}words/?site=acme%00").status_code == 404
    assert ask(client, body(issued.secret, site="acme\u0000")).status_code == 404
    response = ask(client, body(issued.secret, user_id="customer1\u0000"))
    assert response.status_code == 404 and response.json()["code"] == "unknown_user"
    assert not HelpRequest.objects.exists()


def test_not_json_is_400(client, issued):
    assert ask(client, b"{nope").status_code == 400


def test_a_signature_for_another_id_is_refused(client, issued, customer, other_customer):
    data = body(issued.secret)
    data["user"]["id"] = "customer2"  # signed for customer1
    assert ask(client, data).status_code == 403
    assert not HelpRequest.objects.exists()


def test_an_unknown_user_or_one_of_another_account_or_staff_is_404(client, issued, customer, agent):
    assert ask(client, body(issued.secret, user_id="nobody")).json()["code"] == "unknown_user"
    make_user("elsewhere", account=make_account("Globex"))
    assert ask(client, body(issued.secret, user_id="elsewhere")).status_code == 404
    assert ask(client, body(issued.secret, user_id=agent.username)).status_code == 404
    assert not HelpRequest.objects.exists()


def test_an_email_id_maps_to_exactly_one_customer(client, issued, customer):
    created(client, issued, user_id="CUSTOMER1@example.com")
    assert HelpRequest.objects.get().customer == customer


def test_the_previous_secret_verifies_after_a_rotation(client, issued, customer):
    site_keys.rotate_site_key(issued.site_key)
    created(client, issued)


def test_a_page_on_another_origin_is_refused(client, issued, customer):
    assert ask(client, body(issued.secret), origin="https://evil.example").status_code == 403
    assert ask(client, body(issued.secret), origin="").status_code == 403
    data = body(issued.secret)
    data["page"]["url"] = "https://evil.example/page"
    assert ask(client, data).status_code == 403
    assert not HelpRequest.objects.exists()


def test_recording_is_refused_where_the_account_does_not_allow_it(client, issued, customer, account):
    account.recording_allowed = False
    account.save()
    data = body(issued.secret)
    data["consent"]["recording"] = True
    assert ask(client, data).status_code == 400


def test_a_second_request_replaces_the_waiting_one(client, issued, customer):
    first = created(client, issued)["id"]
    created(client, issued)
    assert status(client, first).json()["state"] == "cancelled"
    assert HelpRequest.objects.filter(state="waiting").count() == 1


def test_cors_preflight_and_answers_for_an_allowed_origin(client, issued, customer):
    preflight = client.options(URL + "abc/", HTTP_ORIGIN=ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="DELETE")
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == ORIGIN
    assert "DELETE" in preflight["Access-Control-Allow-Methods"]
    response = ask(client, body(issued.secret))
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "Access-Control-Allow-Credentials" not in response
    other = client.options(URL, HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert "Access-Control-Allow-Origin" not in other


def test_calls_are_rate_limited_per_address(client, issued, settings):
    settings.HELP_REQUEST_RATE_LIMIT = "3/m"
    codes = [status(client, "nope").status_code for _ in range(4)]
    assert codes == [404, 404, 404, 429]
    assert Client(REMOTE_ADDR="198.51.100.9").get(f"{URL}nope/").status_code == 404


# --- status, cancel ------------------------------------------------------------------------------


def test_status_of_an_unknown_token_is_404(client):
    assert status(client, "x" * 43).status_code == 404


def test_cancel_while_waiting_then_again_is_fine(client, issued, customer):
    token = created(client, issued)["id"]
    assert client.delete(f"{URL}{token}/", HTTP_ORIGIN=ORIGIN).json() == {"state": "cancelled"}
    assert client.delete(f"{URL}{token}/", HTTP_ORIGIN=ORIGIN).status_code == 200
    assert status(client, token).json() == {"state": "cancelled"}


# --- the agent takes it --------------------------------------------------------------------------


def test_take_assigns_opens_a_consented_session_and_the_page_gets_a_tab_grant(
    client, issued, customer, agent
):
    token = created(client, issued)["id"]
    help_request = HelpRequest.objects.get()
    other = make_user("agent9", role="agent", agent_level="L2")
    Ticket.objects.filter(pk=help_request.ticket_id).update(assignee=other)
    session = help_requests.take(help_request.pk, agent=agent)
    ticket = Ticket.objects.get(pk=help_request.ticket_id)
    assert ticket.assignee == agent
    assignment = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.ASSIGNMENT).last()
    assert assignment.actor == agent and assignment.data["to"] == agent.pk
    assert session.state == SessionState.CONSENTED and session.mode == "guided" and session.agent == agent
    record = ConsentRecord.objects.get(session=session)
    assert record.kind == ConsentKind.INITIAL and record.mode == "guided" and record.guidance
    assert record.prompt_text == help_requests.card_text("guided", False)
    assert record.origin == ORIGIN and record.customer == customer
    assert record.decided_at == HelpRequest.objects.get().created_at

    answer = status(client, token).json()
    assert answer["state"] == "taken" and answer["session"] == session.pk and answer["mode"] == "guided"
    assert verify_grant(answer["grant"]).pk == session.pk  # a tab grant: opens the socket
    assert status(client, token, origin="https://evil.example").status_code == 403
    assert client.delete(f"{URL}{token}/", HTTP_ORIGIN=ORIGIN).status_code == 409


def test_a_second_agent_is_told_it_was_already_taken(client, issued, customer, agent, agent_l3):
    created(client, issued)
    pk = HelpRequest.objects.get().pk
    help_requests.take(pk, agent=agent)
    with pytest.raises(help_requests.AlreadyTaken):
        help_requests.take(pk, agent=agent_l3)
    assert CoBrowseSession.objects.count() == 1


def test_agents_who_may_not_cobrowse_see_no_panel_and_cannot_take(client, issued, customer, agent_l1):
    created(client, issued)
    pk = HelpRequest.objects.get().pk
    staff = Client()
    staff.force_login(agent_l1)
    assert b"Waiting for help" not in staff.get("/agent/").content
    staff.post(f"/agent/help/{pk}/take/")
    assert HelpRequest.objects.get().state == "waiting"


def test_the_queue_panel_lists_and_take_lands_in_the_console(client, issued, customer, agent, agent_l3):
    created(client, issued)
    pk = HelpRequest.objects.get().pk
    staff = Client(enforce_csrf_checks=True)
    staff.force_login(agent)
    page = staff.get("/agent/")
    html = page.content.decode()
    assert "Waiting for help" in html and "pin_code" in html and "45 %" in html
    assert staff.post(f"/agent/help/{pk}/take/").status_code == 403  # CSRF
    token = (
        page.cookies["csrftoken"].value if "csrftoken" in page.cookies else staff.cookies["csrftoken"].value
    )
    response = staff.post(f"/agent/help/{pk}/take/", HTTP_X_CSRFTOKEN=token)
    session = CoBrowseSession.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/agent/sessions/{session.pk}/"
    second = Client()
    second.force_login(agent_l3)
    late = second.post(f"/agent/help/{pk}/take/", follow=True)
    assert "already taken" in late.content.decode()
    assert "Waiting for help" not in late.content.decode()


@pytest.mark.django_db(transaction=True)
def test_concurrent_takes_have_exactly_one_winner(issued, customer):
    if connection.vendor != "postgresql":
        pytest.skip("the race is proven on PostgreSQL")
    created(Client(), issued)
    pk = HelpRequest.objects.get().pk
    agents = [make_user(f"racer{i}", role="agent", agent_level="L2") for i in range(5)]
    barrier = threading.Barrier(5)
    results: list[str] = []
    lock = threading.Lock()

    def take(i: int) -> None:
        try:
            barrier.wait()
            try:
                help_requests.take(pk, agent=agents[i])
                outcome = "won"
            except help_requests.AlreadyTaken:
                outcome = "taken"
            with lock:
                results.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=take, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["taken"] * 4 + ["won"]
    assert CoBrowseSession.objects.count() == 1
    assert ConsentRecord.objects.count() == 1


# --- expiry --------------------------------------------------------------------------------------


def _age(seconds: int = 181) -> None:
    HelpRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=seconds - 180))


def test_an_expired_request_asks_for_a_call_back_on_its_ticket(client, issued, customer, agent):
    token = created(client, issued)["id"]
    _age()
    answer = status(client, token).json()
    assert answer["state"] == "expired"
    ticket = HelpRequest.objects.get().ticket
    assert f"call-back on ticket {ticket.reference}" in answer["message"]
    ticket.refresh_from_db()
    assert ticket.screen_share_requested_at is not None
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.SCREEN_SHARE_REQUESTED).count() == 1
    status(client, token)  # touching it again asks nothing more
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.SCREEN_SHARE_REQUESTED).count() == 1
    with pytest.raises(help_requests.HelpRequestClosed):
        help_requests.take(HelpRequest.objects.get().pk, agent=agent)
    assert client.delete(f"{URL}{token}/", HTTP_ORIGIN=ORIGIN).status_code == 410


def test_the_session_sweep_expires_waiting_requests(client, issued, customer):
    created(client, issued)
    created(client, issued, user_id="customer1")  # replaces the first
    _age()
    cobrowse_tasks.sweep_sessions()
    assert list(HelpRequest.objects.values_list("state", flat=True)) == ["cancelled", "expired"]
    assert HelpRequest.objects.get(state="expired").callback_requested


def test_the_wait_is_configurable(client, issued, customer, settings):
    settings.HELP_REQUEST_WAIT_SECONDS = 30
    created(client, issued)
    help_request = HelpRequest.objects.get()
    assert (help_request.expires_at - help_request.created_at).total_seconds() == pytest.approx(30, abs=2)


def test_the_ticket_pages_render_the_request_and_the_customer_does_not_see_the_staff_note(
    client, issued, customer, agent
):
    created(client, issued)
    ticket = HelpRequest.objects.get().ticket
    event = TicketEvent.objects.get(ticket=ticket, kind="help_requested")
    assert event.internal and event.data == {"help_request": HelpRequest.objects.get().pk}
    staff = Client()
    staff.force_login(agent)
    staff_page = staff.get(f"/agent/tickets/{ticket.number}/")
    assert staff_page.status_code == 200
    assert "asked for help from the page (Get help)" in staff_page.content.decode()
    portal = Client()
    portal.force_login(customer)
    page = portal.get(f"/portal/tickets/{ticket.number}/")
    text = page.content.decode()
    assert page.status_code == 200 and "help_requested" not in text and "asked for help" not in text
