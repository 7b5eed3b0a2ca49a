"""Full Control approvals in real Chromium, under the pages' strict CSP: the agent's feed says a
manager was asked (not the customer), the managers' badge and approvals list update without a
reload, and the feed follows the manager's and the customer's answers."""

from __future__ import annotations

import pytest

from cobrowse.models import ModeRequest
from consent import answers
from tests.cobrowse.test_e2e_live import off_loop, wait_until
from tests.consent.helpers import consent
from tests.factories import make_account, make_ticket, make_user
from tests.live_server import login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("built_bundles"),
]


def _badge(page) -> str | None:
    """The badge's number, or None while it is hidden."""
    return page.evaluate(
        "() => { const b = document.querySelector('[data-approvals-count]');"
        " return b && !b.hidden ? b.querySelector('[data-approvals-number]').textContent : null; }"
    )


def test_full_control_from_the_agents_click_to_the_customers_answer(live_server_asgi, browser):
    base = live_server_asgi.url
    customer = make_user("dana", role="customer", account=make_account("Acme Home Loans"))
    agent_user = make_user("priya", role="agent", agent_level="L2", first_name="Priya")
    make_user("morgan", role="manager")
    make_user("alex", role="manager")
    session, _grant = off_loop(consent, make_ticket(customer), agent_user, mode="controlled")

    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(3)]
    violations: list[str] = []
    try:
        agent, approver, watcher = (context.new_page() for context in contexts)
        for page in (approver, watcher):
            page.on(
                "console", lambda msg: "Content Security Policy" in msg.text and violations.append(msg.text)
            )
        login(agent, base, "priya")
        login(approver, base, "morgan")
        login(watcher, base, "alex")
        agent.goto(f"{base}/agent/sessions/{session.pk}/")
        approver.goto(f"{base}/manager/approvals/")
        watcher.goto(f"{base}/agent/")
        assert _badge(approver) is None and _badge(watcher) is None
        assert "Nothing waiting" in approver.text_content("[data-testid=approvals]")
        wait_until(
            agent,
            lambda: agent.evaluate("!!(window.tandemLive && window.tandemLive.send('ping', {nonce: 'x'}))"),
        )

        def feed() -> str:
            return agent.text_content("[data-testid=console-feed]")

        agent.click("[data-testid=mode-full]")
        wait_until(
            agent, lambda: "Asked a manager to approve Full control" in feed(), message="asked a manager"
        )
        assert "Asked the customer" not in feed()
        wait_until(
            watcher, lambda: _badge(watcher) == "1", message="the badge, live", seen=lambda: _badge(watcher)
        )
        wait_until(
            approver, lambda: approver.locator("tr[data-request]").count() == 1, message="the list, live"
        )
        assert _badge(approver) == "1"

        approver.click("tr[data-request] button[value=approve]")
        wait_until(agent, lambda: "A manager approved; asking the customer" in feed(), message="approved")
        wait_until(watcher, lambda: _badge(watcher) is None, message="the badge cleared, live")

        request = ModeRequest.objects.get(session=session)
        off_loop(answers.respond_to_mode_request, request.pk, accept=False)
        wait_until(agent, lambda: "The customer declined Full control" in feed(), message="customer's answer")
        assert violations == []
    finally:
        for context in contexts:
            context.close()
