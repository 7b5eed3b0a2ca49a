"""What the agent's live replay shows in real Chromium: the page's own field values (a number field
the page filled in), and nothing from the customer's page trying to run in the sandboxed frame."""

from __future__ import annotations

import pytest

from cobrowse.models import SessionState
from tests.cobrowse.test_e2e_live import off_loop, replay_has, replay_value, session_state, wait_until
from tests.consent.helpers import start
from tests.factories import make_account, make_ticket, make_user
from tests.live_server import answer_consent_card, login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("built_bundles"),
]

# What a page may carry that would run if it were not stripped: inline handlers that fire on their
# own (an image that fails, a focus), a script added after the snapshot, a javascript: URL.
SCRIPTED = (
    '<img id="probe-img" src="/nowhere.png" onerror="this.dataset.ran=1" alt="">'
    '<input id="probe-focus" autofocus onfocus="this.dataset.ran=1">'
    '<a id="probe-link" href="javascript:void(0)">link</a>'
)


def replay_text(agent, selector: str) -> str | None:
    """The text of an element in the agent's replay iframe (None while it is not there)."""
    for frame in agent.frames:
        if frame == agent.main_frame:
            continue
        try:
            text = frame.evaluate(
                "(sel) => { const el = document.querySelector(sel); return el ? el.textContent : null; }",
                selector,
            )
        except Exception:
            continue
        if text is not None:
            return text
    return None


def test_the_agent_sees_the_calculator_amount_and_no_script_is_refused(live_server_asgi, demo_site, browser):
    base = live_server_asgi.url
    account = make_account("Acme Home Loans", site_url=f"{demo_site}/", allowed_origins=[demo_site])
    customer = make_user("dana", role="customer", account=account, first_name="Dana")
    agent_user = make_user("priya", role="agent", agent_level="L2", first_name="Priya")
    session, token = off_loop(start, make_ticket(customer), agent_user, target_url=f"{demo_site}/")
    blocked: list[str] = []
    customer_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    agent_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        shopper = customer_ctx.new_page()
        shopper.goto(f"{base}/j/{token}/")
        shopper.click("button[value=view_only]")
        shopper.wait_for_url(f"{demo_site}/*")
        answer_consent_card(shopper)
        shopper.wait_for_selector("[data-tandem=badge]", state="attached", timeout=10000)
        wait_until(shopper, lambda: session_state(session.pk) == SessionState.ACTIVE, message="active")
        assert shopper.input_value("#calc-amount") == "5000000"

        agent = agent_ctx.new_page()
        agent.on("console", lambda m: "Blocked script execution" in m.text and blocked.append(m.text))
        login(agent, base, agent_user.username)
        agent.goto(f"{base}/agent/sessions/{session.pk}/")
        agent.wait_for_selector("[data-testid=console-presence][data-state=connected]", timeout=10000)
        wait_until(agent, lambda: replay_has(agent, "#calc-amount"), timeout=10, message="the calculator")
        wait_until(
            agent,
            lambda: replay_value(agent, "#calc-amount") == "5000000",
            timeout=5,
            message="the page's loan amount",
            seen=lambda: replay_value(agent, "#calc-amount"),
        )
        assert replay_value(agent, "#calc-rate") == "8.35"
        # The result the page's script wrote from those values reaches the agent as well.
        emi = shopper.inner_text("#calc-emi")
        assert any(ch.isdigit() for ch in emi)
        wait_until(agent, lambda: replay_text(agent, "#calc-emi") == emi, timeout=5, message="the EMI")

        # The page sets a new amount by script, then gains content that would run scripts.
        shopper.evaluate(
            "(html) => { const f = document.getElementById('calc-amount'); f.value = '7500000';"
            " f.dispatchEvent(new Event('input', {bubbles: true}));"
            " document.body.insertAdjacentHTML('beforeend', html);"
            " const s = document.createElement('script'); s.textContent = 'window.ran = 1';"
            " document.body.appendChild(s); }",
            SCRIPTED,
        )
        wait_until(agent, lambda: replay_has(agent, "#probe-link"), timeout=10, message="the added content")
        wait_until(
            agent, lambda: replay_value(agent, "#calc-amount") == "7500000", timeout=5, message="new amount"
        )
        agent.wait_for_timeout(800)
        assert not blocked, blocked
    finally:
        customer_ctx.close()
        agent_ctx.close()
