"""The whole proactive-help story in real Chromium, as the issue tells it: a customer stalls on the
demo site's PIN code field, the page offers help, they ask for it and allow control on the page's own
help card, an agent takes the request from the queue, the assistant proposes filling the PIN code
from the customer's data on file, the agent applies it, the customer approves and the field is
filled."""

from __future__ import annotations

import pytest

from accounts.models import CustomerProfile
from cobrowse.models import CoBrowseSession, SessionState
from consent.models import HelpRequest
from tests.cobrowse.test_e2e_guidance import answer, prompts
from tests.cobrowse.test_e2e_live import session_state, wait_until
from tests.demo_site.test_e2e_help_request import signed_help_demo
from tests.factories import make_user
from tests.live_server import login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("built_bundles"),
]

PIN = "560001"
FILL = "[data-testid=assist-list] li[data-kind=autofill]"
# Test-only: every widget root is kept (the guide's approval prompts among them), and the help
# prompt's and help card's are opened, so that the test can read and press them.
ROOTS = """
window.__roots = {};
const keptAttachShadow = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) {
  const name = this.getAttribute && this.getAttribute("data-tandem");
  const open = name === "help-prompt" || name === "help";
  const root = keptAttachShadow.call(this, open ? { ...init, mode: "open" } : init);
  if (name) window.__roots[name] = root;
  return root;
};
"""


@pytest.fixture
def quick_stall(settings):
    """The assistant's stall threshold at 4 s, set before the live server forks (it inherits it)."""
    settings.ASSIST_STALL_THRESHOLD_MS = 4000


@pytest.fixture
def help_demo(quick_stall, live_server_asgi):
    """The demo site calling Tandem.init with help and a signed customer who has a PIN code on file."""
    with signed_help_demo(live_server_asgi.url) as (url, customer):
        CustomerProfile.objects.create(user=customer, postal_code=PIN, city="Bengaluru")
        yield url


def _in_root(page, root: str, script: str):
    return page.evaluate(f"() => {{ const r = window.__roots[{root!r}]; return r && ({script}); }}")


def test_stall_get_help_take_and_the_assistant_fills_the_pin_code(browser, help_demo, live_server_asgi):
    make_user("priya", role="agent", agent_level="L2", first_name="Priya")
    customer_ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    customer_ctx.add_init_script(ROOTS)
    agent_ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = customer_ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        # The page notices the stall and offers help; the customer asks for it.
        page.goto(f"{help_demo}/apply/address")
        page.wait_for_function("() => !!window.TandemTriggers", timeout=10000)
        page.focus("#pin-code")
        wait_until(
            page, lambda: _in_root(page, "help-prompt", "!!r.querySelector('.help')"), message="prompt"
        )
        _in_root(page, "help-prompt", "r.querySelector('.help').click()")

        # Consent on the page's own help card: control, asked per action.
        wait_until(page, lambda: _in_root(page, "help", "!!r.querySelector('.allow')"), message="help card")
        _in_root(page, "help", "r.querySelector('input[value=controlled]').click()")
        _in_root(page, "help", "r.querySelector('.allow').click()")
        wait_until(page, lambda: HelpRequest.objects.exists(), message="the help request")
        assert HelpRequest.objects.get().mode == "controlled"

        # The agent takes it from the queue and lands in the live console.
        agent = agent_ctx.new_page()
        login(agent, live_server_asgi.url, "priya")
        agent.goto(f"{live_server_asgi.url}/agent/")
        agent.locator("[data-testid=help-queue]").get_by_role("button", name="Take").click()
        agent.wait_for_url("**/agent/sessions/*/", timeout=10000)
        session = CoBrowseSession.objects.get()
        wait_until(page, lambda: session_state(session.pk) == SessionState.ACTIVE, timeout=15, message="live")
        agent.wait_for_selector("[data-testid=console-presence][data-state=connected]", timeout=10000)

        # The customer is back on the PIN code field and stalls again: the assistant proposes.
        page.focus("#pin-code")
        agent.wait_for_selector(FILL, timeout=25000)
        assert agent.text_content(f"{FILL} .console-assist__text").endswith(f"fill {PIN} from profile?")
        agent.locator(f"{FILL} [data-testid=assist-apply]").click()

        # Control is asked per action: the customer approves and the field is filled.
        wait_until(page, lambda: prompts(page), message="the action prompt")
        assert PIN in prompts(page)[0] and page.input_value("#pin-code") == ""
        answer(page, "allow")
        wait_until(page, lambda: page.input_value("#pin-code") == PIN, message="the filled PIN code")
        assert errors == []
    finally:
        customer_ctx.close()
        agent_ctx.close()
