"""A member of the customer's team watches, end to end in real Chromium, three browser contexts.

The customer shares the demo site (view only) and, from their "You are sharing" page, lets a
colleague watch; the agent watches on the console. The colleague opens their own one-time link in
a third browser, reads what they will see, joins, and lands on the watch page: the customer's
typing appears there live, the customer's badge names them, and when the customer removes them
their view ends.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cobrowse.models import SessionState, TeamViewer, TeamViewerState
from tests.cobrowse.test_e2e_live import off_loop, replay_value, session_state, wait_until
from tests.consent.helpers import start
from tests.factories import make_account, make_ticket, make_user
from tests.live_server import KEEP_BADGE_ROOT, answer_consent_card, login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("built_bundles"),
]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


def badge_watching(page) -> str:
    return page.evaluate(
        "() => { const el = window.__badgeRoot && window.__badgeRoot.querySelector('.watching');"
        " return el && !el.hidden ? el.textContent : ''; }"
    )


def test_a_colleague_of_the_customer_watches_through_their_own_link(live_server_asgi, demo_site, browser):
    base = live_server_asgi.url
    account = make_account("Acme Home Loans", site_url=f"{demo_site}/", allowed_origins=[demo_site])
    customer = make_user("dana", role="customer", account=account, first_name="Dana", last_name="Ruiz")
    agent_user = make_user("priya2", role="agent", agent_level="L2", first_name="Priya")
    ticket = make_ticket(customer)
    session, token = off_loop(start, ticket, agent_user, target_url=f"{demo_site}/apply/personal")
    ARTIFACTS.mkdir(exist_ok=True)

    customer_ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    agent_ctx = browser.new_context(viewport={"width": 1440, "height": 960})
    team_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        # --- the customer shares the demo site ---------------------------------------------------
        customer_ctx.add_init_script(KEEP_BADGE_ROOT)
        shopper = customer_ctx.new_page()
        shopper.goto(f"{base}/j/{token}/")
        shopper.click("button[value=view_only]")
        shopper.wait_for_url(f"{demo_site}/apply/personal*")
        answer_consent_card(shopper)  # the page asks its owner before anything is shared
        shopper.wait_for_selector("[data-tandem=badge]", state="attached", timeout=10000)
        wait_until(shopper, lambda: session_state(session.pk) == SessionState.ACTIVE, message="active")

        agent = agent_ctx.new_page()
        login(agent, base, agent_user.username)
        agent.goto(f"{base}/agent/sessions/{session.pk}/")
        agent.wait_for_selector("[data-testid=console-presence][data-state=connected]", timeout=10000)

        # --- the customer lets a colleague watch (their approval), from their sharing page ----------
        panel = customer_ctx.new_page()  # the browser that consented: no login needed
        panel.goto(f"{base}/cobrowse/sessions/{session.pk}/")
        panel.fill("[data-testid=team-name]", "Lena Fischer")
        panel.fill("[data-testid=team-email]", "lena.fischer@acme.example")
        panel.select_option("[data-testid=team-channel]", "copy")
        panel.click("[data-testid=team-invite]")
        link = panel.input_value("[data-testid=team-link]")
        assert "/w/" in link
        viewer = TeamViewer.objects.get(session=session)
        assert (viewer.name, viewer.state) == ("Lena Fischer", TeamViewerState.INVITED)

        # --- the colleague opens their own link in a third browser and joins ------------------------
        colleague = team_ctx.new_page()
        colleague.goto(link.replace("http://127.0.0.1:8000", base))
        prompt = colleague.text_content("[data-testid=watch-prompt]")
        assert "Dana Ruiz is sharing their screen with Priya" in prompt
        assert "You can only watch" in prompt and "sees your name" in prompt
        colleague.screenshot(path=str(ARTIFACTS / "team-viewer-consent.png"), full_page=True)
        colleague.click("[data-testid=watch-join]")
        colleague.wait_for_url(f"{base}/watch/{session.pk}/")
        assert "tandem=" not in colleague.url  # the grant left the address bar
        colleague.wait_for_selector("[data-testid=watch-state][data-state=watching]", timeout=10000)
        assert colleague.text_content("[data-testid=watch-customer]") == "Dana Ruiz"
        assert colleague.text_content("[data-testid=watch-control]") == "Priya"
        wait_until(
            colleague,
            lambda: replay_value(colleague, "#full-name") is not None,
            timeout=10,
            message="the replayed page on the watch page",
        )

        # --- the customer's typing appears in the colleague's view; the badge names them -----------
        shopper.type("#full-name", "Ada Lovelace", delay=20)
        wait_until(
            colleague,
            lambda: replay_value(colleague, "#full-name") == "Ada Lovelace",
            timeout=10,
            message="the typing on the watch page",
            seen=lambda: replay_value(colleague, "#full-name"),
        )
        wait_until(
            shopper,
            lambda: "Lena Fischer (your team)" in badge_watching(shopper),
            message="the colleague named on the badge",
            seen=lambda: badge_watching(shopper),
        )
        assert "Lena Fischer" in colleague.text_content("[data-testid=watch-watching]")
        agent.wait_for_selector(
            '[data-testid=console-watching]:has-text("Lena Fischer (customer\'s team)")', timeout=10000
        )
        assert "Lena Fischer (customer's team) is watching" in agent.text_content(
            "[data-testid=console-feed]"
        )
        shopper.screenshot(path=str(ARTIFACTS / "team-viewer-badge.png"), caret="initial")
        colleague.screenshot(path=str(ARTIFACTS / "team-viewer-watching.png"), full_page=True)

        # --- the customer removes them: their view ends --------------------------------------------
        panel.goto(f"{base}/cobrowse/sessions/{session.pk}/")
        panel.click("[data-testid=remove-team-viewer]")
        colleague.wait_for_selector("[data-testid=watch-state][data-state=ended]", timeout=10000)
        assert "removed" in colleague.text_content("[data-testid=watch-ended]")
        wait_until(shopper, lambda: "Lena" not in badge_watching(shopper), message="the badge updated")
        agent.wait_for_selector('[data-testid=console-watching]:not(:has-text("Lena"))', timeout=10000)
        viewer.refresh_from_db()
        assert viewer.state == TeamViewerState.REMOVED
        assert session_state(session.pk) == SessionState.ACTIVE  # the customer still shares
    finally:
        team_ctx.close()
        customer_ctx.close()
        agent_ctx.close()
