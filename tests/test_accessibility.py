"""Every kind of page Tandem serves, checked with axe-core in Chromium (WCAG 2.1 A/AA): no serious or
critical finding on the desk, the portal, the consent screens, the live console, a team member's
watch page, a recording's replay, nor the widget's consent card and badge on a customer's page."""

from __future__ import annotations

import pytest

from browser import services as browser_services
from cobrowse import services as cobrowse_services
from cobrowse.models import SessionState
from outcomes import survey
from tests.a11y import assert_accessible, serious, violations
from tests.cobrowse.test_e2e_live import off_loop, replay_has, session_state, wait_until
from tests.cobrowse.test_widget_browser import GRANT, FakeTandem
from tests.cobrowse.test_widget_guidance_browser import (  # noqa: F401
    HARNESS,
    KEEP_ROOTS,
    PAGE,
    node_ids,
    prompt_texts,
    site,
)
from tests.consent.helpers import consent, start
from tests.factories import make_account, make_ticket, make_user
from tests.live_server import CONSENT_CARD_FOCUSED, answer_consent_card, login
from tests.recordings.rec_helpers import build_recording, recorded_session, recording_env  # noqa: F401
from tickets import services as ticket_services
from tickets.models import Priority, Status, Ticket

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("built_bundles"),
]

# Test-only: the widget's shadow roots are closed to the page (and so to axe); this opens them in
# the test's browser so axe checks the consent card and the badge as the customer sees them.
OPEN_WIDGET_ROOTS = """
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) {
  const tandem = this.getAttribute && this.getAttribute("data-tandem");
  return attach.call(this, tandem ? { ...init, mode: "open" } : init);
};
"""


def _every_status_and_priority(customer) -> None:
    """A queue showing each status and priority badge, so each colour pair is checked."""
    priorities = list(Priority.values)
    for index, status in enumerate(Status.values):
        ticket = make_ticket(
            customer, subject=f"Request {index}", priority=priorities[index % len(priorities)]
        )
        Ticket.objects.filter(pk=ticket.pk).update(status=status)


@pytest.fixture
def server(request):
    request.getfixturevalue("recording_env")  # keys and media root are set before the server forks
    return request.getfixturevalue("live_server_asgi")


def _page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    return context, context.new_page()


def test_the_agent_desk(live_server_asgi, browser, agent, customer):
    base = live_server_asgi.url
    _every_status_and_priority(customer)
    ticket = make_ticket(customer, priority=Priority.URGENT)
    ticket_services.add_comment(ticket, author=customer, body="Still stuck on step 3.")
    ticket_services.add_comment(ticket, author=agent, body="Checking the form.", internal=True)
    consent(ticket, agent)  # a live session for the ticket panel and Active sessions
    _, token = start(make_ticket(customer, subject="Second request"), agent)
    viewer = browser_services.start_browser_session(
        make_ticket(customer, subject="Third request"),
        agent=agent,
        start_url="http://localhost:8001/apply",
        channel="copy",
    ).session
    context, page = _page(browser)
    try:
        login(page, base, agent.username)
        for name, path in (
            ("queue", "/agent/"),
            ("queue, every status", "/agent/?status="),
            ("ticket page", f"/agent/tickets/{ticket.number}/"),
            ("active sessions", "/agent/sessions/"),
            ("staff refused", f"/j/{token}/"),
            ("browser viewer, waiting for the customer", f"/browser/{viewer.pk}/"),
        ):
            page.goto(f"{base}{path}")
            page.wait_for_load_state("networkidle")
            assert_accessible(page, name=name)
    finally:
        context.close()


def test_the_manager_pages_and_a_replay(server, browser, agent, customer, manager):
    base = server.url
    recording = build_recording(recorded_session(agent, customer))
    waiting, _ = consent(make_ticket(customer), agent, mode="controlled")
    cobrowse_services.request_mode(waiting, actor=agent, mode="full")
    context, page = _page(browser)
    try:
        login(page, base, manager.username)
        for name, path in (
            ("approvals", "/manager/approvals/"),
            ("recordings", "/manager/recordings/"),
            ("active sessions (manager)", "/agent/sessions/"),
            ("agents", "/manager/agents/"),
            ("an agent's certification", f"/manager/agents/{agent.pk}/"),
            ("ROI calculator", "/manager/roi/"),
            ("form friction", "/manager/forms/"),
            ("programme dashboard", "/manager/"),
            ("monthly report", "/manager/report/"),
            ("session outcome", f"/agent/sessions/{recording.session_id}/outcome/"),
        ):
            page.goto(f"{base}{path}")
            page.wait_for_load_state("networkidle")
            assert_accessible(page, name=name)
        page.goto(f"{base}/manager/recordings/{recording.pk}/")
        page.wait_for_selector("body[data-replay-ready='1']", timeout=15_000)
        assert_accessible(page, name="replay")
    finally:
        context.close()
    context, page = _page(browser)  # the customer's survey, opened from its link without signing in
    try:
        page.goto(f"{base}{survey.survey_path(recording.session)}")
        page.wait_for_load_state("networkidle")
        assert_accessible(page, name="survey")
    finally:
        context.close()


def test_the_replay_frame_is_named(server, browser, agent, customer, manager):
    recording = build_recording(recorded_session(agent, customer))
    context, page = _page(browser)
    try:
        login(page, server.url, manager.username)
        page.goto(f"{server.url}/manager/recordings/{recording.pk}/")
        page.wait_for_selector("body[data-replay-ready='1']", timeout=15_000)
        assert not [v for v in violations(page) if v["id"] == "frame-title"]
    finally:
        context.close()


def test_the_check_fails_on_a_serious_finding(browser):
    """The helper itself: faint text and an unnamed field are reported, a clean page is not."""
    context, page = _page(browser)
    try:
        page.set_content(
            '<!doctype html><html lang="en"><title>t</title><main><h1>Clean</h1>'
            '<p style="color:#1c2233">Readable text.</p></main></html>'
        )
        assert_accessible(page, name="clean")
        page.set_content(
            '<!doctype html><html lang="en"><title>t</title><main><h1>Faint</h1>'
            '<p style="color:#c0c0c0;background:#fff">Faint text.</p><input type="text"></main></html>'
        )
        found = {v["id"] for v in serious(violations(page))}
        assert {"color-contrast", "label"} <= found, found
        with pytest.raises(AssertionError, match="serious/critical"):
            assert_accessible(page, name="faint")
    finally:
        context.close()


def test_the_customer_portal_and_consent_screen(live_server_asgi, browser, customer, agent):
    base = live_server_asgi.url
    ticket = make_ticket(customer)
    _, token = start(ticket, agent)
    context, page = _page(browser)
    try:
        for name, path in (("sign-in", "/login/"), ("password reset", "/password-reset/")):
            page.goto(f"{base}{path}")
            assert_accessible(page, name=name)
        login(page, base, customer.username)
        for name, path in (
            ("portal", "/portal/"),
            ("new request", "/portal/new/"),
            ("portal ticket", f"/portal/tickets/{ticket.number}/"),
            ("my recordings", "/portal/recordings/"),
            ("consent screen", f"/j/{token}/"),
        ):
            page.goto(f"{base}{path}")
            page.wait_for_load_state("networkidle")
            assert_accessible(page, name=name)
    finally:
        context.close()


def test_a_live_session_console_watch_page_badge_and_consent_card(live_server_asgi, demo_site, browser):
    base = live_server_asgi.url
    account = make_account("Acme Home Loans", site_url=f"{demo_site}/", allowed_origins=[demo_site])
    customer = make_user("dana", role="customer", account=account, first_name="Dana")
    agent_user = make_user("priya", role="agent", agent_level="L2", first_name="Priya")
    session, token = off_loop(
        start, make_ticket(customer), agent_user, target_url=f"{demo_site}/apply/personal"
    )
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(3)]
    customer_ctx, agent_ctx, team_ctx = contexts
    try:
        customer_ctx.add_init_script(OPEN_WIDGET_ROOTS)
        shopper = customer_ctx.new_page()
        shopper.goto(f"{base}/j/{token}/")
        shopper.click("button[value=view_only]")
        shopper.wait_for_url(f"{demo_site}/apply/personal*")
        shopper.wait_for_function(CONSENT_CARD_FOCUSED, timeout=10_000)
        assert shopper.evaluate("() => !!document.querySelector('[data-tandem=consent]').shadowRoot")
        assert_accessible(shopper, "[data-tandem=consent]", name="widget consent card")
        answer_consent_card(shopper)
        shopper.wait_for_selector("[data-tandem=badge]", state="attached", timeout=10_000)
        wait_until(shopper, lambda: session_state(session.pk) == SessionState.ACTIVE, message="active")
        assert_accessible(shopper, "[data-tandem=badge]", name="widget badge")
        # axe reaches into the (opened) root: faint text planted there is found.
        shopper.evaluate(
            "() => { const p = document.createElement('p'); p.textContent = 'probe';"
            " p.style.color = '#dddddd'; p.style.background = '#ffffff';"
            " document.querySelector('[data-tandem=badge]').shadowRoot.append(p); }"
        )
        planted = serious(violations(shopper, "[data-tandem=badge]"))
        assert [v for v in planted if v["id"] == "color-contrast"], planted
        shopper.evaluate("() => document.querySelector('[data-tandem=badge]').shadowRoot.lastChild.remove()")

        agent = agent_ctx.new_page()
        login(agent, base, agent_user.username)
        agent.goto(f"{base}/agent/sessions/{session.pk}/")
        agent.wait_for_selector("[data-testid=console-presence][data-state=connected]", timeout=10_000)
        wait_until(agent, lambda: replay_has(agent, "#full-name"), timeout=10, message="the replayed page")
        assert_accessible(agent, name="console")

        panel = customer_ctx.new_page()
        panel.goto(f"{base}/cobrowse/sessions/{session.pk}/")
        assert_accessible(panel, name="you are sharing")
        panel.fill("[data-testid=team-name]", "Lena Fischer")
        panel.fill("[data-testid=team-email]", "lena.fischer@acme.example")
        panel.select_option("[data-testid=team-channel]", "copy")
        panel.click("[data-testid=team-invite]")
        link = panel.input_value("[data-testid=team-link]")
        colleague = team_ctx.new_page()
        colleague.goto(link.replace("http://127.0.0.1:8000", base))
        assert_accessible(colleague, name="watch consent")
        colleague.click("[data-testid=watch-join]")
        colleague.wait_for_url(f"{base}/watch/{session.pk}/")
        colleague.wait_for_selector("[data-testid=watch-state][data-state=watching]", timeout=10_000)
        wait_until(
            colleague, lambda: replay_has(colleague, "#full-name"), timeout=10, message="the watch page"
        )
        assert_accessible(colleague, name="watch")
    finally:
        for context in contexts:
            context.close()


def test_the_widget_prompts_card_and_badge_against_a_fake_server(browser, site):  # noqa: F811
    """The prompts that ask the customer before an agent acts, on a page with the widget."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.add_init_script(KEEP_ROOTS)
    context.add_init_script(OPEN_WIDGET_ROOTS)
    page = context.new_page()
    page.route(f"{site}{HARNESS}", lambda route: route.fulfill(body=PAGE, content_type="text/html"))
    server = FakeTandem(page)
    try:
        page.goto(f"{site}{HARNESS}#tandem={GRANT}")
        page.wait_for_function(CONSENT_CARD_FOCUSED, timeout=10_000)
        assert_accessible(page, "[data-tandem=consent]", name="widget consent card")
        answer_consent_card(page)
        page.wait_for_selector("[data-tandem=badge]", state="attached")
        wait_until(page, lambda: server.messages(msg_type="rrweb"), message="the first recording")
        server.send(server.connections[-1]["ws"], "mode", {"mode": "controlled"})
        assert_accessible(page, "[data-tandem=badge]", name="widget badge, controlled")
        ids, pid = node_ids(server), server.messages(0)[0]["data"]["page_id"]
        ask = {"kind": "type", "node_id": ids["name"], "page_id": pid, "value": "Ada", "agent_name": "Sam"}
        server.send(server.connections[-1]["ws"], "action_request", {**ask, "request_id": "action:1"})
        wait_until(page, lambda: prompt_texts(page), message="the prompt")
        assert_accessible(page, "[data-tandem=prompts]", name="widget action prompt")
        server.send(server.connections[-1]["ws"], "mode_request", {"request_id": "mode:2", "mode": "full"})
        wait_until(page, lambda: len(prompt_texts(page)) == 2, message="the mode prompt")
        assert_accessible(page, "[data-tandem=prompts]", name="widget mode prompt")
    finally:
        context.close()
