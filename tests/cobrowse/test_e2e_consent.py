"""End to end in Chromium: start from the ticket page, consent, single use, Stop sharing."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from tests.factories import make_account, make_ticket, make_user
from tests.live_server import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_starts_customer_consents_then_stops(live_server_asgi, browser):
    base = live_server_asgi.url
    account = make_account("Sharing Co", site_url="", allowed_origins=[])
    customer = make_user("dana", role="customer", account=account)
    make_user("agent2", role="agent", agent_level="L2")
    ticket = make_ticket(customer)

    agent_ctx = browser.new_context()
    customer_ctx = browser.new_context()
    third_ctx = browser.new_context()
    try:
        agent = agent_ctx.new_page()
        login(agent, base, "agent2")
        agent.goto(f"{base}/agent/tickets/{ticket.number}/")
        agent.click("[data-testid=cobrowse-start]")
        link = agent.input_value("[data-testid=join-link]")
        path = urlsplit(link).path
        assert re.fullmatch(r"/j/[A-Za-z0-9_-]{43,}/", path)

        customer_page = customer_ctx.new_page()
        response = customer_page.goto(base + path)
        assert response.status == 200
        prompt = customer_page.text_content("[data-testid=consent-prompt]")
        assert f"help you with ticket T-{ticket.number}" in prompt
        customer_page.click("button[value=guided]")
        customer_page.wait_for_selector("[data-testid=sharing-page]")
        assert "You are sharing" in customer_page.content()
        assert "#tandem=" in customer_page.url and "?" not in customer_page.url

        agent.goto(f"{base}/agent/tickets/{ticket.number}/")
        assert agent.get_attribute("[data-testid=cobrowse-state] .badge", "data-state") == "consented"
        assert agent.text_content("[data-testid=cobrowse-mode]").strip() == "Guidance"

        third = third_ctx.new_page()
        second_open = third.goto(base + path)
        assert second_open.status == 410
        assert "can no longer be used" in third.content()

        customer_page.click("[data-testid=stop-sharing]")
        customer_page.wait_for_selector("[data-testid=sharing-ended]")

        agent.goto(f"{base}/agent/tickets/{ticket.number}/")
        history = agent.text_content("[data-testid=cobrowse-history]")
        assert "Revoked" in history and "The customer stopped sharing" in history
        assert agent.is_visible("[data-testid=cobrowse-start]")
    finally:
        for ctx in (agent_ctx, customer_ctx, third_ctx):
            ctx.close()
