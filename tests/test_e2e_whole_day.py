"""The whole support day in real Chromium, by clicking only: an agent, a customer and a manager, each
in a browser context of their own, signed in through the login form.

After signing in nobody types an address: every step is a click on a link or a button the product
shows (choosing from the start form's lists counts as a click). The only ``goto`` calls are the
login page, and the customer's second tab, which opens the sign-in page and is sent on to their
requests because they are already signed in.

(a) A session on the customer's own page. The agent opens the queue and the ticket and starts a
    session with the in-app channel. The customer finds the invitation in their notifications,
    presses Open, allows guidance on the consent screen and lands on the company's site, whose
    widget asks again (Allow). The agent follows the ticket page's link to the live console and
    sees the page, then asks for Full control. The manager's navigation shows the waiting count
    live (no reload), they open Approvals and approve; the customer's page asks and they allow;
    the console shows Full control. The customer presses Stop sharing on the badge and is told
    nothing more is sent; the console shows the end.
(b) A server-side browser with the signed-in customer. The agent starts one from the ticket
    (in-app). The customer opens it from the portal, allows, reaches the viewer (its card asks:
    Allow) and sees frames; the agent opens the viewer from the ticket's link and sees them too.
    The customer presses Stop sharing and both viewers say the session is over.

axe checks (serious or critical WCAG 2.1 A/AA findings fail) the pages of this walk that
tests/test_accessibility.py does not reach: the start confirmation, the portal ticket with an
in-app invitation and open notifications, the browser session's consent screen, the viewer's
consent card, and the running viewer for the customer and for the agent.

The server-side browser's runner runs in this process, as the Celery worker on the ``browsers``
queue would run it, and talks to the forked server only through Redis and the database.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import re
import threading
from pathlib import Path

import pytest

from browser.worker import BrowserHost, BrowserSessionRunner
from cobrowse.models import CoBrowseSession, EndReason, SessionKind, SessionState
from demo_site.server import make_server, render_pages, serve_in_thread
from tests.a11y import assert_accessible
from tests.cobrowse.test_e2e_guidance import KEEP_ROOTS
from tests.cobrowse.test_e2e_live import replay_has, wait_until
from tests.factories import make_account, make_ticket, make_user
from tests.live_server import CONSENT_CARD_FOCUSED, login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("built_bundles"),
    pytest.mark.timeout(360),
]

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
VIEWER = "[data-testid=browser-viewer]"
STATUS = "[data-testid=bv-status]"


# --- the company's site and the browser worker --------------------------------------------------


@pytest.fixture
def site(settings, request):
    """The demo site, on a port known before the live server forks (the server-side browser may
    reach it only through the egress allow-list), serving the widget from that live server."""
    server = make_server("localhost", 0, "http://localhost:1", quiet=True)
    port = server.server_address[1]
    settings.BROWSER_EGRESS_ALLOW_HOSTS = [f"localhost:{port}"]
    live = request.getfixturevalue("live_server_asgi")
    server.RequestHandlerClass.pages = render_pages(live.url)  # the widget loader from the live server
    thread = serve_in_thread(server)
    yield f"http://localhost:{port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


class BrowserWorker:
    """What a worker on the ``browsers`` queue does (browser/tasks.py): one event loop in
    a thread of its own with one :class:`BrowserHost`, running a session's runner until it ends."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-browser-loop", daemon=True)
        self.thread.start()
        self.host = self._submit(BrowserHost().start()).result(timeout=90)
        self.runs: list[concurrent.futures.Future] = []

    def _submit(self, coro) -> concurrent.futures.Future:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, session_id: int) -> None:
        self.runs.append(self._submit(BrowserSessionRunner(session_id, self.host).run()))

    def close(self) -> None:
        for run in self.runs:
            run.cancel()
            with contextlib.suppress(BaseException):
                run.result(timeout=20)
        with contextlib.suppress(Exception):
            self._submit(self.host.close()).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


@pytest.fixture
def browser_worker():
    worker = BrowserWorker()
    yield worker
    worker.close()


# --- what people see and click -------------------------------------------------------------------


def click_in_root(page, root: str, selector: str) -> None:
    """Clicks where an element of the widget's closed shadow root is drawn, like a person would."""
    box = page.evaluate(
        """([root, sel]) => { const el = window.__roots[root].querySelector(sel);
            const r = el.getBoundingClientRect(); return {x: r.x + r.width / 2, y: r.y + r.height / 2}; }""",
        [root, selector],
    )
    page.mouse.click(box["x"], box["y"])


def in_root(page, root: str, selector: str) -> str | None:
    return page.evaluate(
        """([root, sel]) => { const r = window.__roots && window.__roots[root];
            const el = r && r.querySelector(sel); return el ? el.textContent : null; }""",
        [root, selector],
    )


def prompts(page) -> list[str]:
    return page.evaluate(
        "() => Array.from((window.__roots.prompts || {querySelectorAll: () => []})"
        ".querySelectorAll('.ask')).map((c) => c.querySelector('p').textContent)"
    )


def approvals_badge(page) -> str | None:
    """The number on the manager's Approvals link, or None while it is hidden."""
    return page.evaluate(
        "() => { const b = document.querySelector('[data-approvals-count]');"
        " return b && !b.hidden ? b.querySelector('[data-approvals-number]').textContent : null; }"
    )


def frames(page) -> int:
    return int(page.get_attribute(VIEWER, "data-frames") or 0)


def feed(page) -> str:
    return page.text_content("[data-testid=console-feed]") or ""


def state_of(pk: int) -> tuple[str, str]:
    return tuple(CoBrowseSession.objects.values_list("state", "end_reason").get(pk=pk))


def start_from_the_ticket(agent, *, kind: str) -> None:
    """The agent starts a session from the ticket page's panel: the in-app notice, the account's
    site as the page to open (already filled in), and comes back to the ticket."""
    agent.select_option("#cobrowse-channel", "in_app")
    agent.select_option("#cobrowse-kind", kind)
    agent.click("[data-testid=cobrowse-start]")
    assert "in-app notice" in agent.text_content("[data-testid=link-notice]")
    assert agent.locator("[data-testid=join-link]").count() == 0  # never shown to staff
    assert_accessible(agent, name="co-browse started")
    agent.click("[data-testid=back-to-ticket]")


def open_invitation_from_notifications(customer, ticket) -> None:
    """The customer opens the header's notifications and follows the invitation to the ticket."""
    notices = customer.locator("[data-testid=portal-notifications]")
    assert notices.locator("[data-testid=notification-count]").text_content() == "1"
    notices.locator("summary").click()
    notices.get_by_role("link", name=ticket.reference).click()
    customer.wait_for_selector("[data-testid=in-app-invitation]")


def test_the_whole_day_by_clicking(site, browser, browser_worker, live_server_asgi):
    base = live_server_asgi.url
    account = make_account("Acme Home Loans", site_url=f"{site}/", allowed_origins=[site])
    dana = make_user("dana", role="customer", account=account, first_name="Dana")
    make_user("priya", role="agent", agent_level="L2", first_name="Priya")
    make_user("morgan", role="manager", first_name="Morgan")
    ticket = make_ticket(dana, subject="Stuck on the loan application")
    ARTIFACTS.mkdir(exist_ok=True)

    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(3)]
    agent_ctx, customer_ctx, manager_ctx = contexts
    customer_ctx.add_init_script(KEEP_ROOTS)
    try:
        agent, customer, manager = agent_ctx.new_page(), customer_ctx.new_page(), manager_ctx.new_page()
        login(agent, base, "priya")
        login(customer, base, "dana")
        login(manager, base, "morgan")
        assert approvals_badge(manager) is None

        # === (a) the customer's own page ==========================================================
        agent.click("nav.mainnav >> text=Queue")
        agent.get_by_role("link", name=ticket.reference).click()
        start_from_the_ticket(agent, kind=SessionKind.DOM)
        session = CoBrowseSession.objects.get(ticket=ticket, kind=SessionKind.DOM)
        assert "Link sent by an in-app notice to the customer." in agent.text_content(
            "[data-testid=cobrowse-panel]"
        )

        customer.click("nav.mainnav >> text=My requests")
        open_invitation_from_notifications(customer, ticket)
        panel = customer.text_content("[data-testid=cobrowse-portal-panel]")
        assert "Press Open on the invitation" in panel, panel
        customer.locator("[data-testid=portal-notifications] summary").click()  # open for axe too
        assert_accessible(customer, name="portal ticket with an in-app invitation")
        customer.click("[data-testid=open-invitation]")
        assert "help you with ticket" in customer.text_content("[data-testid=consent-prompt]")
        customer.click("button[value=guided]")
        customer.wait_for_url(f"{site}/**")
        customer.wait_for_function(CONSENT_CARD_FOCUSED, timeout=15_000)  # the page asks its owner
        click_in_root(customer, "consent", "button.allow")
        customer.wait_for_selector("[data-tandem=badge]", state="attached", timeout=15_000)
        wait_until(
            customer,
            lambda: state_of(session.pk)[0] == SessionState.ACTIVE,
            timeout=15,
            message="the session active",
        )

        agent.click("[data-testid=cobrowse-watch]")  # "Open the live console", on the ticket page
        agent.wait_for_url(f"{base}/agent/sessions/{session.pk}/")
        agent.wait_for_selector("[data-testid=console-presence][data-state=connected]", timeout=15_000)
        wait_until(agent, lambda: replay_has(agent, "#start-application"), timeout=15, message="the page")
        assert agent.text_content("[data-testid=console-mode]") == "Guidance"

        agent.click("[data-testid=mode-full]")
        wait_until(
            agent,
            lambda: "Asked a manager to approve Full control" in feed(agent),
            message="a manager asked",
            seen=lambda: feed(agent),
        )
        # The manager's navigation shows the waiting request live, without a reload.
        wait_until(
            manager,
            lambda: approvals_badge(manager) == "1",
            message="the Approvals count",
            seen=lambda: approvals_badge(manager),
        )
        manager.click("[data-testid=nav-approvals]")
        row = manager.locator("[data-testid=approvals] tr[data-request]")
        assert ticket.reference in row.text_content()
        row.get_by_role("button", name="Approve").click()
        manager.wait_for_selector("text=Approved: the customer is now asked.")

        wait_until(
            customer,
            lambda: prompts(customer) == ["Agent Priya asks for full control"],
            message="the customer asked",
            seen=lambda: prompts(customer),
        )
        click_in_root(customer, "prompts", ".ask .allow")
        wait_until(
            agent,
            lambda: agent.text_content("[data-testid=console-mode]") == "Full control",
            message="Full control on the console",
        )
        wait_until(
            customer,
            lambda: in_root(customer, "badge", ".mode") == "Full control",
            message="Full control on the badge",
        )

        click_in_root(customer, "badge", "button.stop")
        wait_until(
            customer,
            lambda: in_root(customer, "badge", ".who") == "You stopped sharing — nothing more is sent",
            message="the confirmation",
            seen=lambda: in_root(customer, "badge", ".who"),
        )
        agent.wait_for_selector("[data-testid=console-ended]", state="visible", timeout=10_000)
        assert "The customer stopped sharing" in agent.text_content("[data-testid=console-ended]")
        assert state_of(session.pk) == (SessionState.REVOKED, EndReason.CUSTOMER_REVOKED)
        customer.screenshot(path=str(ARTIFACTS / "whole-day-stopped.png"))

        # === (b) a server-side browser with the signed-in customer =================================
        agent.click(f"[data-testid=console-ended] >> text=Back to {ticket.reference}")
        start_from_the_ticket(agent, kind=SessionKind.BROWSER)
        browser_session = CoBrowseSession.objects.get(ticket=ticket, kind=SessionKind.BROWSER)

        # The customer's first tab is on the company's site; a second one opens Tandem's sign-in
        # page, which sends a signed-in customer on to their requests.
        portal = customer_ctx.new_page()
        portal.goto(f"{base}/login/")
        portal.wait_for_url(f"{base}/portal/")
        open_invitation_from_notifications(portal, ticket)
        invitation = portal.text_content("[data-testid=in-app-invitation]")
        assert "shared browser" in invitation, invitation
        portal.click("[data-testid=open-invitation]")
        assert "shared browser" in portal.text_content("[data-testid=consent-prompt]")
        assert_accessible(portal, name="consent screen, server-side browser")
        portal.check("input[name=recording][value=off]")  # a separate question: not recorded
        portal.click("button[value=guided]")
        portal.wait_for_url(re.compile(rf"^{re.escape(base)}/browser/{browser_session.pk}/(#.*)?$"))
        portal.wait_for_selector("[data-testid=bv-consent]", state="visible", timeout=15_000)
        assert_accessible(portal, name="browser viewer, its consent card")
        assert state_of(browser_session.pk)[0] == SessionState.CONSENTED
        browser_worker.run(browser_session.pk)  # the queued task, taken up by the worker
        portal.click("[data-testid=bv-consent-allow]")
        wait_until(portal, lambda: frames(portal) > 0, timeout=60, message="frames for the customer")
        assert portal.get_attribute(VIEWER, "data-role") == "customer"
        wait_until(
            portal,
            lambda: "Agent is browsing" in portal.text_content(STATUS),
            timeout=20,
            message="the customer's status",
            seen=lambda: portal.text_content(STATUS),
        )
        assert_accessible(portal, name="browser viewer, running (customer)")

        agent.click("[data-testid=cobrowse-watch]")  # "Open the browser viewer", on the ticket page
        agent.wait_for_url(f"{base}/browser/{browser_session.pk}/")
        wait_until(agent, lambda: frames(agent) > 0, timeout=60, message="frames for the agent")
        assert agent.get_attribute(VIEWER, "data-role") != "customer"
        assert_accessible(agent, name="browser viewer, running (agent)")
        portal.screenshot(path=str(ARTIFACTS / "whole-day-viewer-customer.png"))

        portal.click("[data-testid=bv-stop]")
        wait_until(
            portal,
            lambda: portal.text_content(STATUS) == "You stopped sharing — nothing more is sent.",
            timeout=15,
            message="the customer's confirmation",
            seen=lambda: portal.text_content(STATUS),
        )
        wait_until(
            agent,
            lambda: "ended" in agent.text_content(STATUS),
            timeout=15,
            message="the end on the agent's viewer",
            seen=lambda: agent.text_content(STATUS),
        )
        assert state_of(browser_session.pk) == (SessionState.REVOKED, EndReason.CUSTOMER_REVOKED)
    except BaseException:
        for number, page in enumerate(p for context in contexts for p in context.pages):
            with contextlib.suppress(Exception):
                page.screenshot(path=str(ARTIFACTS / f"whole-day-failed-{number}.png"))
        raise
    finally:
        for context in contexts:
            context.close()
