"""The server-side browser's viewer in real Chromium against the live server, without a running
session browser: a customer signed in to the portal allows on the viewer's card and is admitted
(not "You cannot view this session"), then stops sharing from the viewer; the agent's viewer ends
a session for everyone. Afterwards each page says what happened, and the session has ended."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser import services as browser_services
from cobrowse.models import CoBrowseSession, EndReason, SessionState
from consent import services as consent_services
from tests.factories import make_account, make_ticket, make_user
from tests.live_server import answer_consent_card, login

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

STATUS = "[data-testid=bv-status]"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _linked(n: str) -> tuple[CoBrowseSession, str]:
    """A browser session the consent screen allowed: the viewer's link grant."""
    customer = make_user(f"ve-cust{n}", role="customer", account=make_account("Acme Home Loans"))
    agent = make_user(f"ve-agent{n}", role="agent", agent_level="L2", first_name="Lena", last_name="Fischer")
    started = browser_services.start_browser_session(
        make_ticket(customer), agent=agent, start_url="http://localhost:8001/apply", channel="copy"
    )
    invite = consent_services.claim_invite(started.join_url.rstrip("/").split("/")[-1])
    outcome = consent_services.grant_consent(invite, mode="controlled", recording=False)
    return outcome.session, outcome.grant


def _state(session_id: int) -> tuple[str, str]:
    session = CoBrowseSession.objects.get(pk=session_id)
    return session.state, session.end_reason


def test_a_signed_in_customer_is_admitted_and_stops_sharing(live_server_asgi, browser):
    base = live_server_asgi.url
    session, link = _linked("1")
    context = browser.new_context()
    page = context.new_page()
    answers: list[tuple[str, int]] = []
    page.on("response", lambda r: answers.append((r.url, r.status)) if "/api/" in r.url else None)
    login(page, base, session.customer.username)

    page.goto(f"{base}/browser/{session.pk}/#tandem={link}")
    answer_consent_card(page)
    page.wait_for_selector("[data-testid=bv-stop]", state="visible", timeout=15000)
    page.wait_for_function(
        "(s) => !/Connecting|cannot view/.test(document.querySelector(s).textContent)",
        arg=STATUS,
        timeout=15000,
    )
    assert "cannot view" not in page.text_content(STATUS)
    assert page.get_attribute("[data-testid=browser-viewer]", "data-role") == "customer"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-viewer-customer.png"))

    page.click("[data-testid=bv-stop]")
    page.wait_for_function(
        "(s) => document.querySelector(s).textContent.includes('You stopped sharing')",
        arg=STATUS,
        timeout=10000,
    )
    assert page.text_content(STATUS) == "You stopped sharing — nothing more is sent."
    page.screenshot(path=str(ARTIFACTS / "browser-viewer-stopped.png"))
    assert page.is_hidden("[data-testid=bv-canvas]")
    assert _state(session.pk) == (SessionState.REVOKED, EndReason.CUSTOMER_REVOKED)
    revokes = [
        status for url, status in answers if url.endswith(f"/api/cobrowse/sessions/{session.pk}/revoke/")
    ]
    assert revokes == [200]
    assert not [a for a in answers if a[1] >= 400]
    context.close()


def test_the_agent_ends_the_session_from_the_viewer(live_server_asgi, browser):
    base = live_server_asgi.url
    session, _link = _linked("2")
    context = browser.new_context()
    page = context.new_page()
    dialogs: list[str] = []

    def accept(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    login(page, base, session.agent.username)
    page.goto(f"{base}/browser/{session.pk}/")
    page.wait_for_selector("[data-testid=bv-end]", state="visible", timeout=15000)
    assert page.locator("[data-testid=bv-stop]").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-viewer-agent.png"))

    page.click("[data-testid=bv-end]")
    page.wait_for_function(
        "(s) => document.querySelector(s).textContent.includes('You ended the session')",
        arg=STATUS,
        timeout=10000,
    )
    assert dialogs == ["End this session for everyone?"]
    state, _reason = _state(session.pk)
    assert state not in (SessionState.CONSENTED, SessionState.ACTIVE, SessionState.RECONNECTING)
    context.close()
