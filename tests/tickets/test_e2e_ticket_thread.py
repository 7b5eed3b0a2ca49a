"""An agent answers a ticket in real Chromium; the customer sees the reply and never the note."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories import make_account, make_ticket, make_user
from tests.live_server import login
from tickets.models import TicketComment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
NOTE = "Reproduced with the Contractor employment type; hidden ABN field is required."
REPLY = "Thanks Jordan, we found the cause. Please pick 'Self-employed' and press Continue."


def test_agent_note_and_reply_customer_sees_only_the_reply(live_server_asgi, browser):
    account = make_account("Acme Home Loans")
    customer = make_user(
        "customer1", role="customer", account=account, first_name="Jordan", last_name="Miller"
    )
    make_user("agent2", role="agent", agent_level="L2", first_name="Lena", last_name="Fischer")
    make_user("agent3", role="agent", agent_level="L3", first_name="Marcus", last_name="Chen")
    ticket = make_ticket(
        customer,
        subject="Loan application stops at step 3",
        description="I press Continue and the page reloads step 3. No error message.",
        category="debugging_errors",
        priority="high",
    )
    base = live_server_asgi.url

    agent_ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    customer_ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        agent_page = agent_ctx.new_page()
        login(agent_page, base, "agent2")
        assert agent_page.url == f"{base}/agent/"
        agent_page.click(f"text={ticket.subject}")
        agent_page.wait_for_url(f"{base}/agent/tickets/{ticket.number}/")
        assert agent_page.locator("h1").inner_text() == ticket.subject

        # Internal note first.
        agent_page.check("input[name=visibility][value=internal]")
        agent_page.fill("textarea[name=body]", NOTE)
        agent_page.click(".reply-form button[type=submit]")
        agent_page.wait_for_load_state("networkidle")
        assert agent_page.locator(".flash").inner_text() == "Internal note added."
        note = agent_page.locator(".message--internal")
        assert NOTE in note.inner_text()

        # Then a public reply (public is the default choice).
        assert agent_page.is_checked("input[name=visibility][value=public]")
        agent_page.fill("textarea[name=body]", REPLY)
        agent_page.click(".reply-form button[type=submit]")
        agent_page.wait_for_load_state("networkidle")
        assert agent_page.locator(".flash").inner_text() == "Reply sent."
        assert REPLY in agent_page.locator(".message--staff").inner_text()
        assert "Lena Fischer changed status from new to open" in agent_page.locator(".activity").inner_text()

        # Assign to a colleague and move to pending through the properties form.
        agent_page.select_option("select[name=assignee]", label="Marcus Chen (L3)")
        agent_page.select_option("select[name=status]", "pending")
        agent_page.click(".props-form button[type=submit]")
        agent_page.wait_for_load_state("networkidle")
        assert agent_page.locator(".ticket-head .badge--status").inner_text() == "Pending"
        activity = agent_page.locator(".activity").inner_text()
        assert "Lena Fischer assigned the ticket to Marcus Chen" in activity
        assert "Lena Fischer changed status from open to pending" in activity

        ARTIFACTS.mkdir(exist_ok=True)
        agent_page.screenshot(path=str(ARTIFACTS / "agent-ticket-page.png"), full_page=True)
        agent_page.set_viewport_size({"width": 390, "height": 844})
        agent_page.screenshot(path=str(ARTIFACTS / "agent-ticket-page-mobile.png"), full_page=True)
        agent_page.set_viewport_size({"width": 1366, "height": 900})
        agent_page.goto(f"{base}/agent/")
        agent_page.screenshot(path=str(ARTIFACTS / "agent-queue.png"), full_page=True)

        # The customer sees the reply, never the note.
        customer_page = customer_ctx.new_page()
        customer_page.goto(f"{base}/login/")
        customer_page.screenshot(path=str(ARTIFACTS / "login.png"))
        login(customer_page, base, "customer1")
        assert customer_page.url == f"{base}/portal/"
        customer_page.click(f"text={ticket.subject}")
        customer_page.wait_for_url(f"{base}/portal/tickets/{ticket.number}/")
        html = customer_page.content()
        assert REPLY in customer_page.locator(".thread").inner_text()
        assert NOTE not in html
        assert "internal note" not in customer_page.locator("main").inner_text().lower()
        customer_page.screenshot(path=str(ARTIFACTS / "portal-ticket-page.png"), full_page=True)

        # The customer answers; the ticket moves back to open.
        customer_page.fill("textarea[name=body]", "That worked, thank you!")
        customer_page.click(".reply-box button[type=submit]")
        customer_page.wait_for_load_state("networkidle")
        assert customer_page.locator(".ticket-head .badge--status").inner_text() == "Open"

        # The agent workspace is closed to the customer.
        response = customer_page.goto(f"{base}/agent/tickets/{ticket.number}/")
        assert response.status == 403
        assert NOTE not in customer_page.content()
    finally:
        agent_ctx.close()
        customer_ctx.close()

    comments = list(TicketComment.objects.filter(ticket=ticket).values_list("body", "is_internal"))
    assert comments == [(NOTE, True), (REPLY, False), ("That worked, thank you!", False)]
