"""One tab shares at a time, in real Chromium: a tab opened from the sharing page carries the grant
(the browser copies sessionStorage), so it asks "Share this tab instead?". Not now keeps the first
tab sharing; Share this tab moves sharing (the first tab's badge says so, the agent now sees the
second tab's page); closing the first tab then leaves the session active."""

from __future__ import annotations

import pytest

from cobrowse.models import SessionState
from tests.cobrowse.test_e2e_live import off_loop, replay_has, replay_value, session_state, wait_until
from tests.consent.helpers import start
from tests.factories import make_account, make_ticket, make_user
from tests.live_server import answer_consent_card, login
from tickets.models import TicketEvent

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("built_bundles"),
]

# Test-only handles on the widget's closed shadow roots (they stay closed for the page itself).
KEEP_ROOTS = """
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) {
  const root = attach.call(this, init);
  const kind = this.getAttribute && this.getAttribute("data-tandem");
  if (kind === "badge") window.__badgeRoot = root;
  if (kind === "seat") window.__seatRoot = root;
  return root;
};
"""
SEAT_CARD_FOCUSED = (
    "() => { const el = document.activeElement; return !!el && el.getAttribute('data-tandem') === 'seat'; }"
)
PRESENCE = "[data-testid=console-presence]"


def _badge(page) -> str:
    return page.evaluate(
        "() => window.__badgeRoot ? window.__badgeRoot.querySelector('.who').textContent : ''"
    )


def _answer_seat_card(page, *, share: bool) -> str:
    """Answers with the keyboard, as a person would: Tab reaches Share this tab, a second Tab Not now."""
    page.wait_for_function(SEAT_CARD_FOCUSED, timeout=10000)
    title = page.evaluate("() => window.__seatRoot.querySelector('h2').textContent")
    assert page.evaluate("() => window.__seatRoot.querySelector('[role=dialog]') !== null")
    page.keyboard.press("Tab")
    if not share:
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-tandem=seat]", state="detached", timeout=5000)
    return title


def _sockets(page) -> list:
    sockets: list = []
    page.on("websocket", lambda ws: sockets.append(ws) if "/customer/" in ws.url else None)
    return sockets


def test_a_second_tab_asks_and_moving_sharing_keeps_the_session_when_the_first_closes(
    live_server_asgi, demo_site, browser
):
    base = live_server_asgi.url
    account = make_account("Acme Home Loans", site_url=f"{demo_site}/", allowed_origins=[demo_site])
    customer = make_user("dana", role="customer", account=account)
    agent_user = make_user("priya", role="agent", agent_level="L2", first_name="Priya")
    ticket = make_ticket(customer)
    session, token = off_loop(start, ticket, agent_user, target_url=f"{demo_site}/apply/personal")

    customer_ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    agent_ctx = browser.new_context(viewport={"width": 1440, "height": 960})
    try:
        customer_ctx.add_init_script(KEEP_ROOTS)
        first = customer_ctx.new_page()
        first.goto(f"{base}/j/{token}/")
        first.click("button[value=view_only]")
        first.wait_for_url(f"{demo_site}/apply/personal*")
        answer_consent_card(first)
        first.wait_for_selector("[data-tandem=badge]", state="attached", timeout=10000)
        wait_until(first, lambda: session_state(session.pk) == SessionState.ACTIVE, message="active")

        agent = agent_ctx.new_page()
        login(agent, base, "priya")
        agent.goto(f"{base}/agent/sessions/{session.pk}/")
        agent.wait_for_selector(f"{PRESENCE}[data-state=connected]", timeout=10000)
        wait_until(agent, lambda: replay_value(agent, "#full-name") is not None, message="the first tab")

        # --- a tab opened from the sharing page: same grant, its own tab id, so it asks ------------
        with customer_ctx.expect_page() as opened:
            first.evaluate("() => { window.open('/apply/address'); }")
        second = opened.value
        second_sockets = _sockets(second)
        second.wait_for_load_state()
        assert _answer_seat_card(second, share=False) == "Share this tab instead?"
        # Not now: the second tab's socket closes, the first still shares, the agent heard nothing.
        wait_until(second, lambda: bool(second_sockets) and second_sockets[-1].is_closed(), message="closed")
        assert second.query_selector("[data-tandem=badge]") is None
        first.fill("#full-name", "Ada Lovelace")
        wait_until(
            agent, lambda: replay_value(agent, "#full-name") == "Ada Lovelace", message="the first tab"
        )
        assert agent.get_attribute(PRESENCE, "data-state") == "connected"
        assert session_state(session.pk) == SessionState.ACTIVE

        # --- the next page load of that tab asks again: Share this tab moves sharing ---------------
        second.reload()
        _answer_seat_card(second, share=True)
        second.wait_for_selector("[data-tandem=badge]", state="attached", timeout=10000)
        wait_until(first, lambda: _badge(first) == "Sharing moved to another tab", message="the first badge")
        wait_until(agent, lambda: replay_has(agent, "#address-line1"), message="the second tab's page")
        second.fill("#city", "Pune")
        wait_until(agent, lambda: replay_value(agent, "#city") == "Pune", message="the second tab's typing")
        feed = agent.text_content("[data-testid=console-feed]") or ""
        assert "The customer moved sharing to another tab" in feed
        assert TicketEvent.objects.filter(data__session=session.pk, data__step="seat_moved").count() == 1

        # --- the first tab closes: nothing happens to the session --------------------------------
        first.close()
        second.wait_for_timeout(1500)
        assert session_state(session.pk) == SessionState.ACTIVE
        assert agent.get_attribute(PRESENCE, "data-state") == "connected"
        second.fill("#city", "Pune West")
        wait_until(agent, lambda: replay_value(agent, "#city") == "Pune West", message="still sharing")
    finally:
        customer_ctx.close()
        agent_ctx.close()
