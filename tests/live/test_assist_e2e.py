"""The assistant end to end, in real Chromium: a customer who allowed control stalls on the demo
site's PIN code field, the proposal to fill it from their profile appears in the agent's console,
the agent presses Apply, the customer approves in the widget and the field is filled."""

from __future__ import annotations

import pytest

from accounts.models import CustomerProfile
from cobrowse.models import SessionState
from tests.cobrowse.test_e2e_guidance import KEEP_ROOTS, answer, prompts
from tests.cobrowse.test_e2e_live import off_loop, replay_value, session_state, wait_until
from tests.consent.helpers import start
from tests.factories import make_account, make_ticket, make_user
from tests.live_server import answer_consent_card, login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("built_bundles"),
]

PIN = "560001"
FILL = "[data-testid=assist-list] li[data-kind=autofill]"


@pytest.fixture
def quick_stall(settings):
    """A 4 s stall threshold, set before the live server forks (it inherits the settings)."""
    settings.ASSIST_STALL_THRESHOLD_MS = 4000


def test_a_pin_code_stall_is_filled_from_the_profile_after_the_customer_approves(
    quick_stall, live_server_asgi, demo_site, browser
):
    base = live_server_asgi.url
    account = make_account("Acme Home Loans", site_url=f"{demo_site}/", allowed_origins=[demo_site])
    customer = make_user("meera", role="customer", account=account)
    CustomerProfile.objects.create(user=customer, postal_code=PIN, city="Bengaluru")
    agent_user = make_user("priya", role="agent", agent_level="L2", first_name="Priya")
    ticket = make_ticket(customer)
    session, token = off_loop(start, ticket, agent_user, target_url=f"{demo_site}/apply/address")

    customer_ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    agent_ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    try:
        customer_ctx.add_init_script(KEEP_ROOTS)
        shopper = customer_ctx.new_page()
        shopper.goto(f"{base}/j/{token}/")
        shopper.click("button[value=controlled]")
        shopper.wait_for_url(f"{demo_site}/apply/address*")
        answer_consent_card(shopper)
        shopper.wait_for_selector("[data-tandem=badge]", state="attached", timeout=10000)
        wait_until(shopper, lambda: session_state(session.pk) == SessionState.ACTIVE, message="active")

        agent = agent_ctx.new_page()
        login(agent, base, agent_user.username)
        agent.goto(f"{base}/agent/sessions/{session.pk}/")
        agent.wait_for_selector("[data-testid=console-presence][data-state=connected]", timeout=10000)
        wait_until(agent, lambda: replay_value(agent, "#pin-code") is not None, message="the replayed page")
        assert agent.text_content("[data-testid=assist-empty]").startswith("No suggestions yet")

        # The customer puts the cursor in the PIN code field and does nothing more.
        shopper.focus("#pin-code")
        agent.wait_for_selector(FILL, timeout=20000)
        line = agent.text_content(f"{FILL} .console-assist__text")
        assert line.startswith("Customer stalled ") and line.endswith(
            f"on PIN code — fill {PIN} from profile?"
        )
        apply = agent.locator(f"{FILL} [data-testid=assist-apply]")
        assert apply.get_attribute("aria-label") == f"Apply: fill PIN code with {PIN}"
        assert agent.get_attribute("[data-testid=assist-announce]", "aria-live") == "polite"
        assert "New suggestion" in agent.text_content("[data-testid=assist-announce]")

        # Apply: in Controlled mode the customer is asked first.
        apply.click()
        wait_until(shopper, lambda: prompts(shopper), message="the action prompt")
        assert PIN in prompts(shopper)[0]
        assert shopper.input_value("#pin-code") == ""
        answer(shopper, "allow")
        wait_until(shopper, lambda: shopper.input_value("#pin-code") == PIN, message="the filled PIN code")
        wait_until(
            agent,
            lambda: (
                agent.text_content(f"{FILL} .console-assist__status") == "Filled in on the customer's page"
            ),
            message="the panel's status",
            seen=lambda: agent.text_content(f"{FILL} .console-assist__status"),
        )
    finally:
        customer_ctx.close()
        agent_ctx.close()
