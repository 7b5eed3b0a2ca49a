"""The whole live flow in real Chromium, two browser contexts.

The customer opens the one-time link, allows guidance and lands on the demo site (another origin)
with the grant; the widget connects and records. The agent watches on the console page. Secrets the
customer types never reach the agent's page, a dropped connection heals, and Stop sharing ends the
agent's view.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connections

from cobrowse.models import CoBrowseSession, ModeRequest, SessionState
from tests.cobrowse.frame_text import frame_strings
from tests.consent.helpers import consent, start
from tests.factories import make_account, make_ticket, make_user
from tests.live_server import KEEP_BADGE_ROOT, answer_consent_card, login
from tickets.models import TicketComment

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("built_bundles"),
]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"

# Typed by the customer on the demo site: none of them may reach the agent's page, whole or spaced.
SECRETS = {
    "password": "S3cret-pass!42",
    "card": "4111 1111 1111 1111",
    "otp": "918273",
    "pan": "ABCDE1234F",
    "iban": "DE89 3704 0044 0532 0130 00",
}
# Pieces that would betray a secret even in part (values sent while typing).
# Too short to search for as bare text (timestamps are full of digits): looked for as JSON strings.
CVV = "737"
FRAGMENTS = ["S3cret", "4111111111111111", "1111 1111", "91827", "ABCDE1234", "DE893704", "0044 0532"]


def wait_until(page, predicate, timeout: float = 8.0, message: str = "condition", seen=None) -> float:
    """Polls; returns the seconds it took."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if predicate():
            return time.monotonic() - began
        page.wait_for_timeout(25)
    raise AssertionError(
        f"timed out after {timeout} s waiting for {message}" + (f" (saw {seen()!r})" if seen else "")
    )


def replay_value(agent, selector: str) -> str | None:
    """The value of a field in the agent's replay iframe (None while it is not there)."""
    for frame in agent.frames:
        if frame == agent.main_frame:
            continue
        try:
            value = frame.evaluate(
                "(sel) => { const el = document.querySelector(sel); return el ? el.value : null; }", selector
            )
        except Exception:
            continue
        if value is not None:
            return value
    return None


def replay_has(agent, selector: str) -> bool:
    for frame in agent.frames:
        if frame == agent.main_frame:
            continue
        try:
            if frame.evaluate("(sel) => !!document.querySelector(sel)", selector):
                return True
        except Exception:
            continue
    return False


def off_loop(fn, *args, **kwargs):
    """Runs a service outside sync Playwright's event loop (its on_commit broadcasts use async_to_sync)."""

    def call():
        try:
            return fn(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


def session_state(pk: int) -> str:
    return CoBrowseSession.objects.values_list("state", flat=True).get(pk=pk)


def test_live_flow_from_consent_to_stop_sharing(live_server_asgi, demo_site, browser):
    base = live_server_asgi.url
    account = make_account("Acme Home Loans", site_url=f"{demo_site}/", allowed_origins=[demo_site])
    customer = make_user("dana", role="customer", account=account)
    agent_user = make_user("priya", role="agent", agent_level="L2", first_name="Priya")
    ticket = make_ticket(customer)
    session, token = off_loop(start, ticket, agent_user, target_url=f"{demo_site}/apply/personal")
    timings: dict[str, float] = {}
    ARTIFACTS.mkdir(exist_ok=True)

    customer_ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    agent_ctx = browser.new_context(viewport={"width": 1440, "height": 960})
    try:
        # --- the customer consents and lands on the demo site with the grant ----------------------
        customer_ctx.add_init_script(KEEP_BADGE_ROOT)
        # Chromium's offline emulation does not close an open WebSocket: the customer's socket runs
        # through Playwright so "offline" can drop it and refuse new ones like a dead network would.
        network = {"offline": False, "sockets": [], "connects": 0}

        def customer_socket(ws) -> None:
            if network["offline"]:
                ws.close(code=1011, reason="offline")
                return
            network["connects"] += 1
            network["sockets"].append((ws, ws.connect_to_server()))

        customer_ctx.route_web_socket(re.compile(r"/ws/cobrowse/\d+/customer/$"), customer_socket)
        shopper = customer_ctx.new_page()
        shopper.goto(f"{base}/j/{token}/")
        shopper.click("button[value=guided]")
        shopper.wait_for_url(f"{demo_site}/apply/personal*")
        answer_consent_card(shopper)  # the page asks its owner before anything is shared
        shopper.wait_for_selector("[data-tandem=badge]", state="attached", timeout=10000)
        assert "tandem=" not in shopper.url
        wait_until(shopper, lambda: session_state(session.pk) == SessionState.ACTIVE, message="active")

        # --- the agent opens the console ----------------------------------------------------------
        received: list[str] = []
        agent = agent_ctx.new_page()
        agent.on(
            "websocket",
            lambda ws: ws.on(
                "framereceived",
                lambda payload: received.append(payload if isinstance(payload, str) else payload.decode()),
            ),
        )
        login(agent, base, "priya")
        agent.goto(f"{base}/agent/sessions/{session.pk}/")
        agent.wait_for_selector("[data-testid=console-presence][data-state=connected]", timeout=10000)
        timings["replay_ready_s"] = wait_until(
            agent, lambda: replay_value(agent, "#full-name") is not None, message="the replayed page"
        )
        # The agent is told the customer's window size and the scale the replay is drawn at.
        wait_until(
            agent,
            lambda: (agent.text_content("[data-testid=console-viewport]") or "").startswith(
                "Customer's window: 1280 × 800 px · shown at "  # noqa: RUF001
            ),
            message="the customer's window size",
            seen=lambda: agent.text_content("[data-testid=console-viewport]"),
        )

        # --- what the customer types shows up for the agent --------------------------------------
        shopper.click("#full-name")
        began = time.monotonic()
        shopper.keyboard.type("Ada Lovelace", delay=20)
        typed_s = time.monotonic() - began
        timings["name_visible_after_typing_s"] = wait_until(
            agent, lambda: replay_value(agent, "#full-name") == "Ada Lovelace", message="the name"
        )
        timings["name_typing_s"] = typed_s
        wait_until(
            agent,
            lambda: "Full name" in (agent.text_content("[data-testid=form-fields]") or ""),
            message="the form panel",
        )
        assert "Personal details" in agent.text_content("[data-testid=console-title]")
        assert "/apply/personal" in agent.text_content("[data-testid=console-url]")
        agent.screenshot(path=str(ARTIFACTS / "console-live.png"), full_page=True)
        shopper.screenshot(path=str(ARTIFACTS / "customer-page.png"))

        # --- secrets on other pages of the site (the session follows through sessionStorage) -----
        def visit(path: str, marker: str) -> None:
            shopper.goto(f"{demo_site}{path}")
            shopper.wait_for_selector("[data-tandem=badge]", state="attached", timeout=10000)
            wait_until(agent, lambda: replay_has(agent, marker), message=f"{path} replayed")

        visit("/login", "#password")
        shopper.fill("#username", "dana@example.com")
        shopper.click("#password")
        shopper.keyboard.type(SECRETS["password"], delay=15)

        visit("/apply/payment", "#cc-number")
        shopper.fill("#cc-name", "Dana Scully")
        shopper.click("#cc-number")
        shopper.keyboard.type(SECRETS["card"], delay=15)
        shopper.click("#cc-csc")
        shopper.keyboard.type(CVV, delay=15)

        visit("/apply/verify", "[data-form=otp]")
        shopper.click("#otp")
        shopper.keyboard.type(SECRETS["otp"], delay=15)

        visit("/apply/income", "#pan")
        shopper.click("#pan")
        shopper.keyboard.type(SECRETS["pan"], delay=15)
        shopper.click("#overseas-iban")
        shopper.keyboard.type(SECRETS["iban"], delay=15)
        wait_until(agent, lambda: replay_value(agent, "#overseas-iban") == "******", message="iban masked")
        assert replay_value(agent, "#pan") == "******"

        # --- the customer's connection drops and comes back ---------------------------------------
        visit("/apply/address", "#city")
        shopper.click("#city")
        shopper.keyboard.type("Pune", delay=15)
        wait_until(agent, lambda: replay_value(agent, "#city") == "Pune", message="city")
        connects_before = network["connects"]
        customer_ctx.set_offline(True)
        network["offline"] = True
        for page_side, server_side in network["sockets"]:
            page_side.close(code=1011, reason="offline")
            server_side.close()
        network["sockets"].clear()
        agent.wait_for_selector("[data-testid=console-presence][data-state=reconnecting]", timeout=5000)
        shopper.click("#address-line2")
        shopper.keyboard.type("Flat 4", delay=15)  # typed while offline: delivered after the reconnect
        shopper.wait_for_timeout(3000)
        customer_ctx.set_offline(False)
        network["offline"] = False
        back_online = time.monotonic()
        shopper.click("#address-line1")
        shopper.keyboard.type("221B Baker Street", delay=15)
        wait_until(
            agent,
            lambda: replay_value(agent, "#address-line1") == "221B Baker Street",
            timeout=20,
            message="a value typed after the reconnect",
            seen=lambda: [replay_value(agent, f) for f in ("#city", "#address-line1", "#address-line2")],
        )
        timings["whole_again_after_offline_s"] = time.monotonic() - back_online
        assert replay_value(agent, "#city") == "Pune"
        assert replay_value(agent, "#address-line2") == "Flat 4"
        agent.wait_for_selector("[data-testid=console-presence][data-state=connected]", timeout=10000)
        assert network["connects"] > connects_before, "the widget did not reconnect"

        # --- nothing secret ever reached the agent's page ----------------------------------------
        assert received, "the agent page received no frames"
        everything = frame_strings(received)  # words only: digits in timestamps are not a leak
        squashed = everything.replace(" ", "")
        for name, secret in SECRETS.items():
            assert secret not in everything, f"{name} reached the agent"
            assert secret.replace(" ", "") not in squashed, f"{name} (without spaces) reached the agent"
        for partial in (CVV, CVV[:2]):
            assert partial not in everything.split("\n"), "the CVV reached the agent"
        for fragment in FRAGMENTS:
            assert fragment not in everything, f"{fragment!r} reached the agent"

        # --- Stop sharing, pressed on the badge ---------------------------------------------------
        box = shopper.evaluate(
            "(() => { const r = window.__badgeRoot.querySelector('button.stop').getBoundingClientRect();"
            " return {x: r.x + r.width / 2, y: r.y + r.height / 2}; })()"
        )
        host = shopper.locator("[data-tandem=badge]")
        assert host.count() == 1
        revokes: list[int] = []
        shopper.on("response", lambda r: revokes.append(r.status) if r.url.endswith("/revoke/") else None)

        def after_the_sockets_stop(route) -> None:
            """The page's revoke reaches the server only once the socket's stop has ended the
            session (the order that used to answer 401), whichever would have won the race."""
            deadline = time.monotonic() + 5
            while session_state(session.pk) != SessionState.REVOKED and time.monotonic() < deadline:
                time.sleep(0.05)
            route.continue_()

        shopper.route("**/api/cobrowse/sessions/*/revoke/", after_the_sockets_stop)
        stop_clicked = time.monotonic()
        shopper.mouse.click(box["x"], box["y"])
        agent.wait_for_selector("[data-testid=console-ended]", state="visible", timeout=2000)
        timings["ended_on_console_after_stop_s"] = time.monotonic() - stop_clicked
        assert agent.text_content("[data-testid=console-presence]") == "Session ended"
        assert agent.get_attribute("[data-testid=console-state]", "data-state") == "ended"
        assert "The customer stopped sharing" in agent.text_content("[data-testid=console-ended]")
        # The badge says so (it does not just vanish), and the page's revoke after the socket's stop
        # confirms the end instead of failing.
        badge_says = "window.__badgeRoot.querySelector('.who').textContent"
        wait_until(
            shopper, lambda: "You stopped sharing" in shopper.evaluate(badge_says), message="stop said"
        )
        assert shopper.evaluate(badge_says) == "You stopped sharing — nothing more is sent"
        wait_until(shopper, lambda: revokes, message="revoke answered")
        assert revokes == [200]
        shopper.mouse.click(box["x"], box["y"])  # Close
        wait_until(shopper, lambda: host.count() == 0, message="badge closed")
        assert session_state(session.pk) == SessionState.REVOKED
        agent.screenshot(path=str(ARTIFACTS / "console-ended.png"), full_page=True)
    finally:
        print("timings:", {k: round(v, 3) for k, v in timings.items()})
        customer_ctx.close()
        agent_ctx.close()


def test_agent_takes_a_note_asks_for_control_and_ends_the_session(live_server_asgi, browser):
    base = live_server_asgi.url
    customer = make_user("dana", role="customer", account=make_account("Acme Home Loans"))
    agent_user = make_user("priya", role="agent", agent_level="L2", first_name="Priya")
    ticket = make_ticket(customer)
    session, _grant = off_loop(consent, ticket, agent_user, mode="guided")

    context = browser.new_context(viewport={"width": 1440, "height": 960})
    try:
        agent = context.new_page()
        agent.on("dialog", lambda dialog: dialog.accept())
        login(agent, base, "priya")
        agent.goto(f"{base}/agent/sessions/{session.pk}/")
        wait_until(  # not wait_for_function: the console's CSP allows no eval, which that needs
            agent,
            lambda: agent.evaluate("!!(window.tandemLive && document.querySelector('.tandem-live__stage'))"),
            message="live view",
        )
        wait_until(
            agent, lambda: agent.evaluate("window.tandemLive.send('ping', {nonce: 'x'})"), message="socket"
        )

        agent.fill("[data-testid=note-text]", "Customer stuck on the PIN code field")
        agent.click("[data-testid=note-form] button[type=submit]")
        wait_until(
            agent,
            lambda: TicketComment.objects.filter(
                ticket=ticket, body__contains="stuck on the PIN code"
            ).exists(),
            message="the note on the ticket",
        )
        assert agent.input_value("[data-testid=note-text]") == ""

        agent.click("[data-testid=mode-controlled]")
        wait_until(
            agent,
            lambda: ModeRequest.objects.filter(session=session, to_mode="controlled").exists(),
            message="the mode request",
        )
        wait_until(  # said once the server has made the request, not on the click
            agent,
            lambda: "Asked the customer for Control" in agent.text_content("[data-testid=console-feed]"),
            message="the feed saying who was asked",
        )

        make_user("sam", role="agent", agent_level="L1")
        agent.fill("[data-testid=invite-username]", "sam")
        agent.click("[data-testid=invite-form] button[type=submit]")
        wait_until(
            agent,
            lambda: "sam may now watch this session" in agent.text_content("[data-testid=console-feed]"),
            message="the colleague invited",
        )
        assert session.viewer_invitations.filter(user__username="sam").exists()

        agent.click("[data-testid=console-end]")
        agent.wait_for_selector("[data-testid=console-ended]", state="visible", timeout=3000)
        assert "The agent ended the session" in agent.text_content("[data-testid=console-ended]")
        wait_until(
            agent, lambda: session_state(session.pk) == SessionState.ENDED, message="ended in the database"
        )
        assert agent.is_disabled("[data-testid=console-end]")
    finally:
        context.close()
