"""The page that will be shared asks its owner, in real Chromium against the live server.

An agent decides on the one-time link themselves and pastes the resulting address to the
customer. The customer's page shows its own consent card; until the customer allows there, nothing
of the page leaves it: every request and every WebSocket frame is captured to prove it.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from cobrowse.models import CoBrowseSession, SessionState
from consent.models import ConsentKind, ConsentRecord, Decision
from tests.cobrowse.test_e2e_live import off_loop, session_state, wait_until
from tests.consent.helpers import start
from tests.factories import make_account, make_ticket, make_user
from tests.live_server import CONSENT_CARD_FOCUSED, KEEP_BADGE_ROOT, answer_consent_card

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("built_bundles"),
]

KEEP_CARD_ROOT = """
(() => {
  const attach = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init) {
    const root = attach.call(this, init);
    if (this.getAttribute && this.getAttribute("data-tandem") === "consent") window.__cardRoot = root;
    return root;
  };
})();
"""


class Wire:
    """Everything a page sends: every request, every WebSocket and every frame sent on it."""

    def __init__(self, page):
        self.requests: list = []
        self.sockets: list[str] = []
        self.frames: list[str] = []
        page.on("request", lambda request: self.requests.append(request))
        page.on("websocket", self._socket)

    def _socket(self, ws) -> None:
        self.sockets.append(ws.url)
        ws.on("framesent", lambda payload: self.frames.append(payload if isinstance(payload, str) else ""))

    def to(self, base: str) -> list:
        return [r for r in self.requests if r.url.startswith(base)]


def _agent_decides_on_the_link(browser, base: str, token: str) -> str:
    """The agent opens the customer's one-time link in their own browser and allows guidance;
    returns the address the consent screen sent them to (the one they could paste to anyone)."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.route("**/apply/**", lambda route: route.abort())  # they never look at the page
        page.goto(f"{base}/j/{token}/")
        with page.expect_response(lambda r: "/j/" in r.url and r.request.method == "POST") as decided:
            page.click("button[value=guided]")
        location = decided.value.headers["location"]
        assert "#tandem=" in location
        return location
    finally:
        context.close()


def _setup(demo_site: str, suffix: str = ""):
    account = make_account("Acme Home Loans", site_url=f"{demo_site}/", allowed_origins=[demo_site])
    customer = make_user(f"dana{suffix}", role="customer", account=account)
    agent = make_user(f"priya{suffix}", role="agent", agent_level="L2", first_name="Priya", last_name="Kaur")
    ticket = make_ticket(customer)
    session, token = off_loop(start, ticket, agent, target_url=f"{demo_site}/apply/personal")
    return session, token, ticket


def _device_records(session_id: int) -> list[ConsentRecord]:
    return list(ConsentRecord.objects.filter(session_id=session_id, kind=ConsentKind.DEVICE_CONFIRMATION))


def _assert_nothing_of_the_page_left(wire: Wire, base: str, demo_site: str, *, after_card: list[str]) -> None:
    """Only the loader, the card's chunk and its calls reached Tandem; no socket; no page content."""
    paths = [urlsplit(r.url).path for r in wire.to(base)]
    assert paths == ["/static/dist/tandem-loader.js", "/static/dist/tandem-consent.js", *after_card]
    assert wire.sockets == [] and wire.frames == []
    others = [r.url for r in wire.requests if not r.url.startswith((base, demo_site))]
    assert others == []
    assert all(r.method == "GET" for r in wire.requests if r.url.startswith(demo_site))
    _assert_calls_carry_no_page(wire, base)


def _assert_calls_carry_no_page(wire: Wire, base: str) -> None:
    """The card's calls carry the grant and the browser's Origin: no address, title or content."""
    for call in wire.to(f"{base}/api/"):
        assert urlsplit(call.url).query == ""
        assert not call.headers.get("referer")
        sent = json.dumps(call.headers) + (call.post_data or "")
        assert "/apply" not in sent and "Personal details" not in sent and "full-name" not in sent


def test_a_pasted_address_asks_the_customer_and_nothing_leaves_before_allow(
    live_server_asgi, demo_site, browser
):
    base = live_server_asgi.url
    session, token, ticket = _setup(demo_site)
    pasted = _agent_decides_on_the_link(browser, base, token)
    assert session_state(session.pk) == SessionState.CONSENTED
    assert _device_records(session.pk) == []

    customer_ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        customer_ctx.add_init_script(KEEP_CARD_ROOT)
        customer_ctx.add_init_script(KEEP_BADGE_ROOT)
        shopper = customer_ctx.new_page()
        wire = Wire(shopper)
        shopper.goto(pasted)
        shopper.wait_for_function(CONSENT_CARD_FOCUSED, timeout=10000)
        assert "tandem=" not in shopper.url
        shopper.fill("#full-name", "Ada Lovelace")  # typed while the card asks: still not shared
        shopper.wait_for_timeout(1500)

        card = shopper.evaluate("window.__cardRoot.querySelector('[role=dialog]').textContent")
        assert "Share this page with support?" in card
        assert f"Agent Priya Kaur wants to see this page to help you with ticket {ticket.reference}" in card
        assert "priya" not in card  # never the login name
        assert "Allow guidance: the agent may also highlight things" in card
        assert "This session is not recorded." in card

        _assert_nothing_of_the_page_left(wire, base, demo_site, after_card=["/api/cobrowse/grants/describe/"])
        assert session_state(session.pk) == SessionState.CONSENTED
        assert _device_records(session.pk) == []

        # --- Allow: sharing starts, with a grant of this page's own ------------------------------
        answer_consent_card(shopper)
        shopper.wait_for_selector("[data-tandem=badge]", state="attached", timeout=10000)
        wait_until(shopper, lambda: session_state(session.pk) == SessionState.ACTIVE, message="active")
        wait_until(shopper, lambda: any('"rrweb"' in f for f in wire.frames), message="recording")
        assert shopper.locator("[data-tandem=consent]").count() == 0
        hello = json.loads(next(f for f in wire.frames if '"hello"' in f))
        link_grant = pasted.split("#tandem=", 1)[1]
        assert hello["data"]["grant"] and hello["data"]["grant"] != link_grant
        (record,) = _device_records(session.pk)
        assert (record.decision, record.mode, record.origin) == (Decision.GRANTED, "guided", demo_site)

        # --- the next page of the same tab does not ask ------------------------------------------
        chunks_before = len([r for r in wire.requests if "tandem-consent.js" in r.url])
        shopper.goto(f"{demo_site}/apply/address")
        shopper.wait_for_selector("[data-tandem=badge]", state="attached", timeout=10000)
        assert len([r for r in wire.requests if "tandem-consent.js" in r.url]) == chunks_before
        assert shopper.locator("[data-tandem=consent]").count() == 0
        assert len(_device_records(session.pk)) == 1

        # --- a new tab asks (the pasted address), or shows nothing at all (no grant) -------------
        second = customer_ctx.new_page()
        second_wire = Wire(second)
        second.goto(pasted)
        second.wait_for_function(CONSENT_CARD_FOCUSED, timeout=10000)
        second.wait_for_timeout(500)
        _assert_nothing_of_the_page_left(
            second_wire, base, demo_site, after_card=["/api/cobrowse/grants/describe/"]
        )
        third = customer_ctx.new_page()
        third_wire = Wire(third)
        third.goto(f"{demo_site}/apply/personal")
        third.wait_for_timeout(800)
        # The demo site calls Tandem.init({help: true}): its help triggers load, and send nothing.
        assert [urlsplit(r.url).path for r in third_wire.to(base)] == [
            "/static/dist/tandem-loader.js",
            "/static/dist/tandem-triggers.js",
        ]
        assert third_wire.sockets == []
    finally:
        customer_ctx.close()


def test_deny_on_the_page_records_it_ends_the_session_and_sends_nothing(live_server_asgi, demo_site, browser):
    base = live_server_asgi.url
    session, token, _ticket = _setup(demo_site, "2")
    pasted = _agent_decides_on_the_link(browser, base, token)

    customer_ctx = browser.new_context()
    try:
        shopper = customer_ctx.new_page()
        wire = Wire(shopper)
        shopper.goto(pasted)
        answer_consent_card(shopper, allow=False)
        wait_until(shopper, lambda: session_state(session.pk) == SessionState.REVOKED, message="ended")
        shopper.fill("#full-name", "Ada Lovelace")
        shopper.reload()
        shopper.wait_for_timeout(1000)

        ended = CoBrowseSession.objects.get(pk=session.pk)
        assert ended.end_reason == "customer_denied"
        (record,) = _device_records(session.pk)
        assert (record.decision, record.mode, record.origin) == (Decision.DENIED, "", demo_site)
        _assert_calls_carry_no_page(wire, base)
        paths = [urlsplit(r.url).path for r in wire.to(base)]
        # The reload found no grant: only the loader again and the demo site's help triggers
        # (Tandem.init({help: true}), which send nothing; no session call.
        assert paths == [
            "/static/dist/tandem-loader.js",
            "/static/dist/tandem-consent.js",
            "/api/cobrowse/grants/describe/",
            "/api/cobrowse/grants/confirm/",
            "/static/dist/tandem-loader.js",
            "/static/dist/tandem-triggers.js",
        ]
        assert wire.sockets == [] and wire.frames == []
        assert shopper.evaluate("sessionStorage.getItem('tandem.grant')") is None
    finally:
        customer_ctx.close()
