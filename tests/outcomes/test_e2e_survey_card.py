"""The end card in real Chromium: the customer shares the demo site, the agent ends the session on the
console, and the customer rates it in the card that takes the badge's place, with the keyboard."""

from __future__ import annotations

from pathlib import Path

import pytest

from cobrowse.models import SessionState
from outcomes.models import SurveyResponse
from tests.a11y import assert_accessible
from tests.cobrowse.test_e2e_live import off_loop, session_state, wait_until
from tests.consent.helpers import start
from tests.factories import make_account, make_ticket, make_user
from tests.live_server import KEEP_BADGE_ROOT, answer_consent_card, login
from tests.test_accessibility import OPEN_WIDGET_ROOTS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("built_bundles"),
]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

CARD_TEXT = "() => window.__surveyRoot ? window.__surveyRoot.querySelector('.card').innerText : ''"


def card(page, script: str):
    return page.evaluate(f"() => {{ const root = window.__surveyRoot; return {script}; }}")


def test_the_customer_rates_the_session_in_the_end_card(live_server_asgi, demo_site, browser):
    base = live_server_asgi.url
    account = make_account("Acme Home Loans", site_url=f"{demo_site}/", allowed_origins=[demo_site])
    customer = make_user("dana", role="customer", account=account)
    agent_user = make_user("priya", role="agent", agent_level="L2", first_name="Priya")
    session, token = off_loop(
        start, make_ticket(customer), agent_user, target_url=f"{demo_site}/apply/personal"
    )
    ARTIFACTS.mkdir(exist_ok=True)

    customer_ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    agent_ctx = browser.new_context(viewport={"width": 1440, "height": 960})
    try:
        customer_ctx.add_init_script(KEEP_BADGE_ROOT)
        customer_ctx.add_init_script(OPEN_WIDGET_ROOTS)  # test-only: axe can check inside the card
        shopper = customer_ctx.new_page()
        shopper.goto(f"{base}/j/{token}/")
        shopper.click("button[value=view_only]")
        shopper.wait_for_url(f"{demo_site}/apply/personal*")
        answer_consent_card(shopper)
        shopper.wait_for_selector("[data-tandem=badge]", state="attached", timeout=10000)
        wait_until(shopper, lambda: session_state(session.pk) == SessionState.ACTIVE, message="active")

        # --- the agent ends the session on the console ---------------------------------------------
        agent = agent_ctx.new_page()
        agent.on("dialog", lambda dialog: dialog.accept())
        login(agent, base, agent_user.username)
        agent.goto(f"{base}/agent/sessions/{session.pk}/")
        agent.wait_for_selector("[data-testid=console-presence][data-state=connected]", timeout=10000)
        agent.click("[data-testid=console-end]")
        agent.wait_for_selector("[data-testid=console-ended]", state="visible", timeout=5000)

        # --- the end card takes the badge's place, without taking the focus or blocking the page ----
        shopper.wait_for_selector("[data-tandem=survey]", state="attached", timeout=10000)
        shopper.wait_for_selector("[data-tandem=badge]", state="detached", timeout=5000)
        wait_until(shopper, lambda: "How did this session go?" in shopper.evaluate(CARD_TEXT), message="card")
        assert "Sharing has ended" in shopper.evaluate(CARD_TEXT)
        assert card(
            shopper,
            "[...root.querySelectorAll('input[type=radio]')].map((i) => i.getAttribute('aria-label'))",
        ) == [
            "1 star",
            "2 stars",
            "3 stars",
            "4 stars",
            "5 stars",
        ]
        assert shopper.evaluate("() => document.activeElement === document.body")
        shopper.fill("#full-name", "Ada")  # the page is still usable
        assert shopper.input_value("#full-name") == "Ada"
        shopper.screenshot(path=str(ARTIFACTS / "survey-end-card.png"))
        assert_accessible(shopper, "[data-tandem=survey]", name="widget end card")

        # --- keyboard: the star group is one stop, the arrows choose; then the comment and Send -----
        card(shopper, "root.querySelector('input[value=\"1\"]').focus()")
        shopper.keyboard.press("Space")
        for _ in range(3):
            shopper.keyboard.press("ArrowRight")
        assert card(shopper, "root.querySelector('input:checked').value") == "4"
        assert card(shopper, "root.querySelectorAll('.stars label.on').length") == 4
        shopper.keyboard.press("Tab")
        shopper.keyboard.type("Quick and clear")
        shopper.keyboard.press("Tab")  # No thanks
        shopper.keyboard.press("Tab")  # Send
        shopper.keyboard.press("Enter")
        wait_until(
            shopper,
            lambda: "Thank you" in shopper.evaluate(CARD_TEXT),
            timeout=10,
            message="the thanks",
            seen=lambda: shopper.evaluate(CARD_TEXT),
        )
        answer = SurveyResponse.objects.get(session_id=session.pk)
        assert (answer.stars, answer.comment) == (4, "Quick and clear")
        shopper.screenshot(path=str(ARTIFACTS / "survey-end-card-thanks.png"))
        assert_accessible(shopper, "[data-tandem=survey]", name="widget end card, answered")

        assert card(shopper, "root.activeElement && root.activeElement.textContent") == "Close"
        shopper.keyboard.press("Enter")
        shopper.wait_for_selector("[data-tandem=survey]", state="detached", timeout=3000)
    finally:
        customer_ctx.close()
        agent_ctx.close()
