"""The Content-Security-Policy in real Chromium, while a co-browse session plays: the consent page,
the agent's console and a team member's watch page report no violation, and what the customer's page
shows never makes the agent's or the colleague's browser request Tandem's own URLs."""

from __future__ import annotations

import json

import pytest

from cobrowse.models import SessionState
from tests.cobrowse.test_e2e_live import off_loop, replay_has, session_state, wait_until
from tests.consent.helpers import start
from tests.factories import make_account, make_ticket, make_user
from tests.live_server import answer_consent_card, login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("built_bundles"),
]


def _watch(page, sink: dict) -> None:
    """Collect CSP reports (console messages of every frame), page errors and probe requests."""
    page.on("console", lambda m: "Content Security Policy" in m.text and sink["csp"].append(m.text))
    page.on("pageerror", lambda exc: sink["errors"].append(str(exc)))
    page.on("request", lambda r: "probe" in r.url and sink["probes"].append(r.url))


def test_console_and_watch_pages_play_a_session_within_their_policy(live_server_asgi, demo_site, browser):
    base = live_server_asgi.url
    account = make_account("Acme Home Loans", site_url=f"{demo_site}/", allowed_origins=[demo_site])
    customer = make_user("dana", role="customer", account=account, first_name="Dana")
    agent_user = make_user("priya", role="agent", agent_level="L2", first_name="Priya")
    session, token = off_loop(
        start, make_ticket(customer), agent_user, target_url=f"{demo_site}/apply/personal"
    )
    seen = {name: {"csp": [], "errors": [], "probes": []} for name in ("customer", "agent", "colleague")}
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(3)]
    customer_ctx, agent_ctx, team_ctx = contexts
    try:
        # The consent page's form posts to Tandem and is redirected to the customer's own site.
        shopper = customer_ctx.new_page()
        _watch(shopper, seen["customer"])
        consent_page = shopper.goto(f"{base}/j/{token}/")
        assert "form-action 'self'" in consent_page.headers["content-security-policy"]
        shopper.click("button[value=view_only]")
        shopper.wait_for_url(f"{demo_site}/apply/personal*")
        answer_consent_card(shopper)
        shopper.wait_for_selector("[data-tandem=badge]", state="attached", timeout=10000)
        wait_until(shopper, lambda: session_state(session.pk) == SessionState.ACTIVE, message="active")

        agent = agent_ctx.new_page()
        _watch(agent, seen["agent"])
        login(agent, base, agent_user.username)
        console = agent.goto(f"{base}/agent/sessions/{session.pk}/")
        assert "default-src 'none'" in console.headers["content-security-policy"]
        agent.wait_for_selector("[data-testid=console-presence][data-state=connected]", timeout=10000)
        wait_until(agent, lambda: replay_has(agent, "#full-name"), timeout=10, message="the replayed page")

        panel = customer_ctx.new_page()
        _watch(panel, seen["customer"])
        panel.goto(f"{base}/cobrowse/sessions/{session.pk}/")
        panel.fill("[data-testid=team-name]", "Lena Fischer")
        panel.fill("[data-testid=team-email]", "lena.fischer@acme.example")
        panel.select_option("[data-testid=team-channel]", "copy")
        panel.click("[data-testid=team-invite]")
        panel.click("[data-testid=team-link]")  # selects the link (data-select-on-focus, no inline handler)
        selected = panel.evaluate(
            "() => { const el = document.activeElement; return el.value.slice(el.selectionStart, el.selectionEnd); }"
        )
        link = panel.input_value("[data-testid=team-link]")
        assert selected == link and "/w/" in link
        colleague = team_ctx.new_page()
        _watch(colleague, seen["colleague"])
        colleague.goto(link.replace("http://127.0.0.1:8000", base))
        colleague.click("[data-testid=watch-join]")
        watch = colleague.wait_for_url(f"{base}/watch/{session.pk}/")
        del watch
        colleague.wait_for_selector("[data-testid=watch-state][data-state=watching]", timeout=10000)
        wait_until(
            colleague, lambda: replay_has(colleague, "#full-name"), timeout=10, message="the watch page"
        )

        # The customer's page now shows content pointing at Tandem: absolute, and relative (which the
        # replay iframe, an about:blank document on Tandem's origin, would resolve against Tandem).
        hostile = (
            f'<img id="probe-abs" src="{base}/probe-live-abs.png">'
            '<div id="probe-rel" style="width:9px;height:9px;background:url(/probe-live-rel.png)"></div>'
        )
        shopper.evaluate(f"document.body.insertAdjacentHTML('beforeend', {json.dumps(hostile)})")
        shopper.type("#full-name", "Ada Lovelace", delay=20)
        for page in (agent, colleague):
            wait_until(
                page, lambda p=page: replay_has(p, "#probe-rel"), timeout=10, message="hostile content"
            )
        agent.wait_for_timeout(500)

        for who in ("agent", "colleague"):
            assert not [u for u in seen[who]["probes"] if u.startswith(base)], (who, seen[who]["probes"])
            assert not seen[who]["csp"], (who, seen[who]["csp"])
            assert not seen[who]["errors"], (who, seen[who]["errors"])
        # The customer's own page loaded its content (its business); Tandem's pages reported nothing.
        assert not [m for m in seen["customer"]["csp"] if base in m], seen["customer"]["csp"]
    finally:
        for context in contexts:
            context.close()


def test_pages_under_the_site_wide_policy_report_no_violation(live_server_asgi, browser, customer):
    """Login, the portal, the admin and the API docs (Swagger UI, its script split out)."""
    base = live_server_asgi.url
    make_user("root", role="manager", is_staff=True, is_superuser=True)
    seen = {"csp": [], "errors": [], "probes": []}
    context = browser.new_context()
    page = context.new_page()
    _watch(page, seen)
    try:
        login(page, base, customer.username)
        response = page.goto(f"{base}/portal/")
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.click("button:has-text('Sign out')")
        login(page, base, "root")
        for path in ("/admin/", "/admin/accounts/user/", "/admin/accounts/user/add/", "/api/docs/"):
            response = page.goto(f"{base}{path}")
            assert response.status == 200 and response.headers.get("content-security-policy"), path
            page.wait_for_load_state("networkidle")
        page.wait_for_selector(".swagger-ui .info", timeout=10_000)  # the split-out script ran
        assert not seen["csp"], seen["csp"]
        assert not seen["errors"], seen["errors"]
    finally:
        context.close()
