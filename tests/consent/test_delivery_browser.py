"""In Chromium, under the strict CSP: the agent copies the link; the customer opens an in-app invitation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories import make_account, make_ticket, make_user
from tests.live_server import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _csp_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    return errors


def test_copy_button_and_in_app_invitation(live_server_asgi, browser):
    account = make_account("Acme Home Loans")
    customer = make_user("customer1", role="customer", account=account, first_name="Jordan")
    make_user("agent2", role="agent", agent_level="L2", first_name="Lena", last_name="Fischer")
    ticket = make_ticket(customer, subject="Loan application stops at step 3")
    base = live_server_asgi.url
    ARTIFACTS.mkdir(exist_ok=True)

    agent_ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    agent_ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    customer_ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        agent = agent_ctx.new_page()
        agent_csp = _csp_errors(agent)
        login(agent, base, "agent2")
        agent.goto(f"{base}/agent/tickets/{ticket.number}/")
        agent.select_option("#cobrowse-channel", "copy")
        agent.click(".cobrowse-start button[type=submit]")
        agent.wait_for_selector("[data-testid=copy-link]")
        link = agent.input_value("[data-testid=join-link]")
        agent.click("[data-testid=copy-link]")
        agent.wait_for_selector("[data-testid=copy-link]:text-is('Copied')")  # no eval: the CSP forbids it
        assert agent.evaluate("navigator.clipboard.readText()") == link
        agent.screenshot(path=str(ARTIFACTS / "invite-copy-link.png"), full_page=True)

        agent.goto(f"{base}/agent/tickets/{ticket.number}/")
        assert agent.input_value("#resend-channel") == "copy"
        agent.select_option("#resend-channel", "in_app")
        agent.click("form[action$='/resend/'] button[type=submit]")
        agent.wait_for_selector("[data-testid=link-notice]")
        assert "/j/" not in agent.content()
        agent.goto(f"{base}/agent/tickets/{ticket.number}/")
        assert "Link sent by an in-app notice" in agent.inner_text("[data-testid=invite-delivery]")
        assert agent.input_value("#resend-channel") == "in_app"
        agent.screenshot(path=str(ARTIFACTS / "invite-agent-panel.png"), full_page=True)
        assert agent_csp == []

        page = customer_ctx.new_page()
        customer_csp = _csp_errors(page)
        login(page, base, "customer1")
        page.goto(f"{base}/portal/")
        assert page.inner_text("[data-testid=notification-count]") == "1"
        page.click("[data-testid=portal-notifications] summary")
        page.screenshot(path=str(ARTIFACTS / "invite-portal-notifications.png"))
        page.click("[data-testid=portal-notifications] a")
        page.wait_for_selector("[data-testid=in-app-invitation]")
        page.screenshot(path=str(ARTIFACTS / "invite-portal-in-app.png"), full_page=True)
        page.click("[data-testid=open-invitation]")
        page.wait_for_url(f"{base}/j/**")
        assert "Lena" in page.inner_text("main")
        page.screenshot(path=str(ARTIFACTS / "invite-portal-opened.png"), full_page=True)
        assert customer_csp == []
    finally:
        agent_ctx.close()
        customer_ctx.close()
