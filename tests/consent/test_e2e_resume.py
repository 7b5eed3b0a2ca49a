"""A shared page that is gone comes back, in real Chromium against the live server: the customer's
own Resume sharing from the portal, and the agent's fresh link once the page has been gone."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from cobrowse.models import SessionState
from consent.models import ConsentKind, ConsentRecord
from tests.cobrowse.test_e2e_device_consent import KEEP_CARD_ROOT
from tests.cobrowse.test_e2e_live import off_loop, session_state, wait_until
from tests.consent.helpers import consent, start
from tests.factories import make_account, make_ticket, make_user
from tests.live_server import CONSENT_CARD_FOCUSED, answer_consent_card, login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("built_bundles"),
]

CARD_TEXT = "window.__cardRoot.querySelector('[role=dialog]').textContent"
PRESENCE = "[data-testid=console-presence][data-state={}]"


@pytest.fixture
def fresh_link_soon(settings):
    """Requested before the live server, which is forked with these settings."""
    settings.COBROWSE_FRESH_LINK_AFTER_SECONDS = 2


def _people(demo_site: str):
    account = make_account("Acme Home Loans", site_url=f"{demo_site}/", allowed_origins=[demo_site])
    customer = make_user("dana", role="customer", account=account, first_name="Dana")
    agent = make_user("priya", role="agent", agent_level="L2", first_name="Priya", last_name="Kaur")
    return customer, agent, make_ticket(customer)


def _share(context, address: str):
    """The customer's page opens with a grant and its owner allows on the card."""
    page = context.new_page()
    page.goto(address)
    answer_consent_card(page)
    page.wait_for_selector("[data-tandem=badge]", state="attached", timeout=10000)
    return page


def _resume_on_card(page) -> str:
    """The card on the reopened page asks to resume; its owner allows. Returns what it said."""
    page.wait_for_function(CONSENT_CARD_FOCUSED, timeout=10000)
    said = page.evaluate(CARD_TEXT)
    answer_consent_card(page)
    page.wait_for_selector("[data-tandem=badge]", state="attached", timeout=10000)
    return said


def test_a_closed_tab_resumes_from_the_portal(live_server_asgi, demo_site, browser):
    base = live_server_asgi.url
    customer, agent, ticket = _people(demo_site)
    session, link_grant = off_loop(consent, ticket, agent, mode="guided", device=False)
    customer_ctx = browser.new_context()
    agent_ctx = browser.new_context()
    try:
        customer_ctx.add_init_script(KEEP_CARD_ROOT)
        shopper = _share(customer_ctx, f"{session.target_url}#tandem={link_grant}")
        console = agent_ctx.new_page()
        login(console, base, "priya")
        console.goto(f"{base}/agent/sessions/{session.pk}/")
        console.wait_for_selector(PRESENCE.format("connected"), timeout=10000)

        shopper.close()  # the tab, and the grant it kept, are gone
        console.wait_for_selector(PRESENCE.format("reconnecting"), timeout=10000)
        assert session_state(session.pk) == SessionState.RECONNECTING

        portal = customer_ctx.new_page()
        login(portal, base, "dana")
        portal.goto(f"{base}/portal/tickets/{ticket.number}/")
        portal.click("[data-testid=resume-sharing]")
        portal.wait_for_url(f"{demo_site}/**")
        said = _resume_on_card(portal)
        assert "Resume sharing with Priya Kaur?" in said and "Allow guidance" in said
        console.wait_for_selector(PRESENCE.format("connected"), timeout=10000)
        assert session_state(session.pk) == SessionState.ACTIVE
    finally:
        customer_ctx.close()
        agent_ctx.close()


def test_the_agent_sends_a_fresh_link_and_the_customer_continues(
    fresh_link_soon, live_server_asgi, demo_site, browser
):
    base = live_server_asgi.url
    _customer, agent, ticket = _people(demo_site)
    session, token = off_loop(start, ticket, agent, target_url=f"{demo_site}/apply/personal")
    customer_ctx = browser.new_context()
    agent_ctx = browser.new_context()
    try:
        customer_ctx.add_init_script(KEEP_CARD_ROOT)
        shopper = customer_ctx.new_page()
        shopper.goto(f"{base}/j/{token}/")
        shopper.click("button[value=view_only]")
        shopper.wait_for_url(f"{demo_site}/apply/personal*")
        answer_consent_card(shopper)
        wait_until(shopper, lambda: session_state(session.pk) == SessionState.ACTIVE, message="active")
        console = agent_ctx.new_page()
        login(console, base, "priya")
        console.goto(f"{base}/agent/sessions/{session.pk}/")
        console.wait_for_selector(PRESENCE.format("connected"), timeout=10000)

        shopper.close()
        console.wait_for_selector(PRESENCE.format("reconnecting"), timeout=10000)
        # The wait is counted down, then the one click is offered.
        console.wait_for_selector("[data-testid=fresh-link-text]:has-text('can be sent in')", timeout=5000)
        console.click("[data-testid=console-fresh-link]", timeout=10000)
        link = console.locator("[data-testid=recovery-link]")
        link.wait_for(state="visible", timeout=10000)
        fresh = link.input_value()
        assert "/j/" in fresh

        reopened = customer_ctx.new_page()
        reopened.goto(base + urlsplit(fresh).path)  # the link names the configured base URL
        assert "View only: the agent sees this page." in reopened.text_content("[data-testid=resume-terms]")
        reopened.click("[data-testid=resume-continue]")
        reopened.wait_for_url(f"{demo_site}/apply/personal*")
        assert "Resume sharing with Priya Kaur?" in _resume_on_card(reopened)
        console.wait_for_selector(PRESENCE.format("connected"), timeout=10000)
        assert ConsentRecord.objects.filter(session_id=session.pk, kind=ConsentKind.RESUME).count() == 1
        console.locator("[data-testid=fresh-link-box]").wait_for(state="hidden", timeout=5000)
    finally:
        customer_ctx.close()
        agent_ctx.close()
