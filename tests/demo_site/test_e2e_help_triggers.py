"""The help triggers on the demo site, in real Chromium: ``Tandem.init({help: true, ...})`` with a
signed user, a stall on the PIN code field, the prompt (accessible, focus left alone), Escape, and
no second prompt for that field; Get help tells the page; a bad signature leaves help off."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from accounts import site_keys
from demo_site.server import SITE_KEY, make_server, serve_in_thread
from tests.a11y import assert_accessible
from tests.factories import make_account

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("built_bundles"),
]

# Test-only: the prompt's shadow root is opened so that axe and the test can read it (it is closed
# for the page itself), and every help request the page hears is kept.
OPEN_PROMPT = """
window.__help = [];
document.addEventListener("tandem:help-requested", (e) => window.__help.push(e.detail));
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) {
  const help = this.getAttribute && this.getAttribute("data-tandem") === "help-prompt";
  const root = attach.call(this, help ? { ...init, mode: "open" } : init);
  if (help) window.__prompt = root;
  return root;
};
"""
PROMPT = "[data-tandem=help-prompt]"


def sign(secret: str, user_id: str) -> str:
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def signed_demo(live_server_asgi):
    """The demo site calling Tandem.init with help, a 1.5 s stall and a user signed with the site's
    secret; returns (url, make) where make(signature) serves another copy with that signature."""
    account = make_account("Acme Home Loans", allowed_origins=[])
    issued = site_keys.create_site_key(account, SITE_KEY)
    servers = []

    def make(signature: str | None = None) -> str:
        init = {
            "site": SITE_KEY,
            "help": True,
            "stallThresholdMs": 1500,
            "user": {"id": "cust-7", "signature": signature or sign(issued.secret, "cust-7")},
        }
        server = make_server("localhost", 0, live_server_asgi.url, quiet=True, tandem_init=init)
        serve_in_thread(server)
        servers.append(server)
        url = f"http://localhost:{server.server_address[1]}"
        account.allowed_origins = [*account.allowed_origins, url]
        account.save(update_fields=["allowed_origins"])
        return url

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


def prompt_text(page) -> str:
    return page.evaluate("window.__prompt.querySelector('p').textContent")


def test_a_stall_on_the_pin_code_field_offers_help_once(browser, signed_demo):
    demo = signed_demo()
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.add_init_script(OPEN_PROMPT)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        with page.expect_response("**/api/widget/identify/") as identified:
            page.goto(f"{demo}/apply/address")
        assert identified.value.status == 200
        page.wait_for_function("() => !!window.TandemTriggers", timeout=10000)

        page.focus("#pin-code")
        page.wait_for_selector(PROMPT, state="attached", timeout=10000)
        page.wait_for_function("() => window.__prompt.querySelector('p').textContent !== ''")
        assert prompt_text(page) == "Need help with this field?"
        assert page.evaluate("window.__prompt.querySelector('.card').getAttribute('role')") == "status"
        assert page.evaluate("document.activeElement.id") == "pin-code"  # focus not stolen
        assert_accessible(page, name="help prompt on /apply/address")

        page.keyboard.press("Escape")
        page.wait_for_selector(PROMPT, state="detached", timeout=5000)
        # Three thresholds later, still focused and untouched: the field does not prompt again.
        page.wait_for_timeout(4500)
        assert page.locator(PROMPT).count() == 0

        # Another field stalls; Get help tells the page what, where and how far.
        page.fill("#city", "Bengaluru")
        page.focus("#address-line1")
        page.wait_for_selector(PROMPT, state="attached", timeout=10000)
        page.evaluate("window.__prompt.querySelector('.help').click()")
        page.wait_for_selector(PROMPT, state="detached", timeout=5000)
        help_requests = page.evaluate("window.__help")
        assert [(h["trigger"], h["field"]) for h in help_requests] == [("stall", "address-line1")]
        assert isinstance(help_requests[0]["completion"], int) and 0 < help_requests[0]["completion"] < 100
        assert errors == []
    finally:
        context.close()


def test_a_bad_signature_is_a_console_error_and_help_stays_off(browser, signed_demo):
    demo = signed_demo(signature="0" * 64)
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    try:
        with page.expect_response("**/api/widget/identify/") as identified:
            page.goto(f"{demo}/apply/address")
        assert identified.value.status == 403
        page.wait_for_function(
            "() => performance.getEntriesByType('resource').some((e) => e.name.includes('/identify/'))"
        )
        page.wait_for_timeout(500)
        assert any("Tandem.init: bad signature; help stays off" in e for e in errors)
        assert page.evaluate("() => window.TandemTriggers === undefined")
    finally:
        context.close()
