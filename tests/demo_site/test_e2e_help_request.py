"""Widget-initiated help on the demo site, in real Chromium: a stall on the PIN code field, the
prompt, Get help, consent on the page's own help card, "Waiting for an agent…", an agent takes the
request from the queue and lands in the live console, and the customer's page starts sharing with
the grant it was given."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import time
from collections.abc import Iterator
from typing import Any

import pytest

from accounts import site_keys
from cobrowse.models import CoBrowseSession, SessionState
from consent.models import ConsentRecord, HelpRequest
from demo_site.server import SITE_KEY, make_server, serve_in_thread
from tests.a11y import assert_accessible
from tests.factories import make_account, make_user
from tests.live_server import login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("built_bundles"),
]

# Test-only: the prompt's and the help card's shadow roots are opened so that the test and axe can
# read and press them (they are closed for the page itself).
OPEN_ROOTS = """
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) {
  const kind = this.getAttribute && this.getAttribute("data-tandem");
  const open = kind === "help-prompt" || kind === "help";
  const root = attach.call(this, open ? { ...init, mode: "open" } : init);
  if (kind === "help-prompt") window.__prompt = root;
  if (kind === "help") window.__help = root;
  return root;
};
"""


def sign(secret: str, user_id: str) -> str:
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


@contextlib.contextmanager
def signed_help_demo(tandem_url: str, *, stall_ms: int = 1500) -> Iterator[tuple[str, Any]]:
    """The demo site calling Tandem.init with help and customer "cust-7" signed with a fresh site key
    of its account (whose allowed origin and site it is): yields (the site's URL, the customer)."""
    account = make_account("Acme Home Loans", allowed_origins=[])
    issued = site_keys.create_site_key(account, SITE_KEY)
    customer = make_user("cust-7", account=account)
    init = {
        "site": SITE_KEY,
        "help": True,
        "stallThresholdMs": stall_ms,
        "user": {"id": "cust-7", "signature": sign(issued.secret, "cust-7")},
    }
    server = make_server("localhost", 0, tandem_url, quiet=True, tandem_init=init)
    serve_in_thread(server)
    url = f"http://localhost:{server.server_address[1]}"
    account.allowed_origins = [url]
    account.site_url = url + "/"
    account.save(update_fields=["allowed_origins", "site_url"])
    try:
        yield url, customer
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def help_demo(live_server_asgi):
    with signed_help_demo(live_server_asgi.url) as (url, _customer):
        yield url


def _wait_for(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_get_help_consent_on_the_page_an_agent_takes_it_and_the_page_shares(
    browser, help_demo, live_server_asgi
):
    make_user("agent2", role="agent", agent_level="L2")
    customer_ctx = browser.new_context(viewport={"width": 1100, "height": 900})
    customer_ctx.add_init_script(OPEN_ROOTS)
    agent_ctx = browser.new_context(viewport={"width": 1300, "height": 900})
    page = customer_ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{help_demo}/apply/address")
        page.wait_for_function("() => !!window.TandemTriggers", timeout=10000)
        page.focus("#pin-code")
        page.wait_for_selector("[data-tandem=help-prompt]", state="attached", timeout=10000)
        page.wait_for_function("() => window.__prompt.querySelector('.help')")
        page.evaluate("window.__prompt.querySelector('.help').click()")

        # The help card: the consent screen's words and choices, nothing sent before Allow.
        page.wait_for_selector("[data-tandem=help]", state="attached", timeout=10000)
        page.wait_for_function("() => window.__help && window.__help.querySelector('#th-prompt').textContent")
        prompt = page.evaluate("window.__help.querySelector('#th-prompt').textContent")
        assert prompt.startswith("The next available support agent will see this page")
        assert not HelpRequest.objects.exists()
        assert_accessible(page, name="help card on /apply/address")
        page.evaluate("window.__help.querySelector('input[value=guided]').click()")
        page.evaluate("window.__help.querySelector('.allow').click()")
        page.wait_for_function(
            "() => window.__help.querySelector('.status .text').textContent === 'Waiting for an agent…'",
            timeout=10000,
        )
        help_request = HelpRequest.objects.get()
        assert help_request.stall_field == "pin-code" and help_request.mode == "guided"

        # The agent takes it from the queue and lands in the live console.
        agent = agent_ctx.new_page()
        login(agent, live_server_asgi.url, "agent2")
        agent.goto(f"{live_server_asgi.url}/agent/")
        panel = agent.locator("[data-testid=help-queue]")
        assert "pin-code" in panel.inner_text()
        panel.get_by_role("button", name="Take").click()
        agent.wait_for_url("**/agent/sessions/*/", timeout=10000)
        session = CoBrowseSession.objects.get()
        assert agent.url.endswith(f"/agent/sessions/{session.pk}/")

        # The customer's page joins with the grant and the session goes live.
        page.wait_for_function("() => !!window.TandemRecorder", timeout=15000)
        _wait_for(lambda: CoBrowseSession.objects.get(pk=session.pk).state == SessionState.ACTIVE)
        record = ConsentRecord.objects.get(session=session)
        assert record.mode == "guided" and record.origin == help_demo
        assert errors == []
    finally:
        customer_ctx.close()
        agent_ctx.close()
