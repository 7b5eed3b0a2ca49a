"""Guidance and control end to end, in real Chromium: a customer on the demo site, the agent's
console, managers watching.

The customer shares with view only. An annotation is refused by the server; the agent asks for
guidance and then control from the console, the customer allows both in the widget's prompt; a
highlight drawn from the toolbar appears on the customer's page without changing it; a denied
action changes nothing, an allowed one fills the field; with full control (a manager, then the
customer; the manager approves on the approvals page in their own browser) a form submission is still
refused; a fourth viewer is turned away.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cobrowse.models import CoBrowseSession, ModeRequest, ModeRequestState, SessionState
from tests.cobrowse.test_e2e_live import off_loop, replay_value, session_state, wait_until
from tests.consent.helpers import start
from tests.factories import make_account, make_ticket, make_user
from tests.live_server import answer_consent_card, login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("built_bundles"),
]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"

# Test-only handles on the widget's closed shadow roots (they stay closed for the page itself).
KEEP_ROOTS = """
window.__roots = {};
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) {
  const root = attach.call(this, init);
  const name = this.getAttribute && this.getAttribute("data-tandem");
  if (name) window.__roots[name] = root;
  return root;
};
"""
PAGE_DOM = """() => {
  const body = document.body.cloneNode(true);
  body.querySelectorAll("[data-tandem]").forEach((el) => el.remove());
  return body.outerHTML;
}"""


def replay_point(agent, selector: str) -> dict:
    """Where an element of the replayed page is drawn on the agent's screen (the replay is scaled)."""
    return agent.evaluate(
        """(sel) => { const iframe = document.querySelector('.replayer-wrapper iframe');
            const r = iframe.contentDocument.querySelector(sel).getBoundingClientRect();
            const f = iframe.getBoundingClientRect(); const s = f.width / iframe.offsetWidth;
            return {x: f.left + (r.left + r.width / 2) * s, y: f.top + (r.top + r.height / 2) * s}; }""",
        selector,
    )


def use_tool(agent, tool: str, selector: str) -> None:
    agent.click(f"[data-tool={tool}]")
    point = replay_point(agent, selector)
    agent.mouse.click(point["x"], point["y"])


def feed_text(agent) -> str:
    return agent.text_content("[data-testid=console-feed]") or ""


def prompts(page) -> list[str]:
    return page.evaluate(
        "() => Array.from((window.__roots.prompts || {querySelectorAll: () => []})"
        ".querySelectorAll('.ask')).map((c) => c.querySelector('p').textContent)"
    )


def answer(page, which: str) -> None:
    """Presses Allow or Deny where the prompt is drawn, like a person would."""
    box = page.evaluate(
        """(which) => { const b = window.__roots.prompts.querySelector(`.ask .${which}`);
            const r = b.getBoundingClientRect(); return {x: r.x + r.width / 2, y: r.y + r.height / 2}; }""",
        which,
    )
    page.mouse.click(box["x"], box["y"])


def badge_mode(page) -> str:
    return page.evaluate("window.__roots.badge.querySelector('.mode').textContent")


def marks(page) -> list[dict]:
    return page.evaluate(
        """() => Array.from((window.__roots.overlay || {querySelectorAll: () => []}).querySelectorAll('.mark'))
            .map((el) => { const r = el.getBoundingClientRect();
              return {kind: el.dataset.kind, left: r.left, top: r.top, width: r.width, height: r.height}; })"""
    )


def session_mode(pk: int) -> str:
    return CoBrowseSession.objects.values_list("mode", flat=True).get(pk=pk)


def test_guidance_and_control_from_the_console_to_the_customers_page(live_server_asgi, demo_site, browser):
    base = live_server_asgi.url
    account = make_account("Acme Home Loans", site_url=f"{demo_site}/", allowed_origins=[demo_site])
    customer = make_user("dana", role="customer", account=account)
    agent_user = make_user("priya", role="agent", agent_level="L2", first_name="Priya")
    managers = [make_user(f"mgr{i}", role="manager") for i in range(3)]
    ticket = make_ticket(customer)
    session, token = off_loop(start, ticket, agent_user, target_url=f"{demo_site}/apply/personal")
    ARTIFACTS.mkdir(exist_ok=True)

    customer_ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    agent_ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    viewer_ctxs = []
    try:
        # --- the customer shares with view only -----------------------------------------------------
        customer_ctx.add_init_script(KEEP_ROOTS)
        shopper = customer_ctx.new_page()
        shopper.goto(f"{base}/j/{token}/")
        shopper.click("button[value=view_only]")
        shopper.wait_for_url(f"{demo_site}/apply/personal*")
        answer_consent_card(shopper)  # the page asks its owner before anything is shared
        shopper.wait_for_selector("[data-tandem=badge]", state="attached", timeout=10000)
        wait_until(shopper, lambda: session_state(session.pk) == SessionState.ACTIVE, message="active")
        assert badge_mode(shopper) == "View only"

        agent = agent_ctx.new_page()
        values = []
        agent.on("dialog", lambda dialog: dialog.accept(values.pop(0)) if values else dialog.dismiss())
        login(agent, base, "priya")
        agent.goto(f"{base}/agent/sessions/{session.pk}/")
        agent.wait_for_selector("[data-testid=console-presence][data-state=connected]", timeout=10000)
        wait_until(agent, lambda: replay_value(agent, "#full-name") is not None, message="the replayed page")
        untouched = shopper.evaluate(PAGE_DOM)

        # --- view only: the server refuses guidance -------------------------------------------------
        use_tool(agent, "highlight", "#full-name")
        wait_until(
            agent,
            lambda: "Refused: annotations need guidance mode" in feed_text(agent),
            message="the refusal in the feed",
            seen=lambda: feed_text(agent),
        )
        shopper.wait_for_timeout(300)
        assert marks(shopper) == []

        # --- guidance: asked from the console, allowed in the widget --------------------------------
        agent.click("[data-testid=mode-guided]")
        wait_until(shopper, lambda: prompts(shopper), message="the guidance prompt")
        assert prompts(shopper) == ["Agent Priya asks for guidance"]
        answer(shopper, "allow")
        wait_until(
            agent,
            lambda: agent.text_content("[data-testid=console-mode]") == "Guidance",
            message="Guidance on the console",
        )
        wait_until(shopper, lambda: badge_mode(shopper) == "Guidance", message="Guidance on the badge")
        wait_until(agent, lambda: "The customer allowed Guidance" in feed_text(agent), message="the feed")

        use_tool(agent, "highlight", "#full-name")
        wait_until(
            shopper, lambda: [m["kind"] for m in marks(shopper)] == ["highlight"], message="the highlight"
        )
        field = shopper.evaluate(
            "(() => { const r = document.getElementById('full-name').getBoundingClientRect();"
            " return {left: r.left, top: r.top, width: r.width, height: r.height}; })()"
        )
        drawn = marks(shopper)[0]
        assert abs(drawn["left"] - (field["left"] - 4)) < 2 and abs(drawn["top"] - (field["top"] - 4)) < 2
        assert abs(drawn["width"] - (field["width"] + 8)) < 2
        values.append("Your work email")
        use_tool(agent, "text", "#email")
        wait_until(shopper, lambda: len(marks(shopper)) == 2, message="the label")
        assert shopper.evaluate(PAGE_DOM) == untouched, "guidance changed the customer's page"
        # caret="initial": hiding the caret makes Playwright write style="" on the page's inputs.
        shopper.screenshot(path=str(ARTIFACTS / "customer-guidance.png"), caret="initial")
        agent.screenshot(path=str(ARTIFACTS / "console-guidance.png"), full_page=True)
        # The agent's pointer follows the mouse over the replay, at the same place on the page.
        agent.click("[data-tool=pointer]")
        target = replay_point(agent, "#phone")
        agent.mouse.move(target["x"] - 40, target["y"])
        agent.mouse.move(target["x"], target["y"], steps=5)
        phone = shopper.evaluate(
            "(() => { const r = document.getElementById('phone').getBoundingClientRect();"
            " return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })()"
        )

        def pointer_on_phone() -> bool:
            found = [m for m in marks(shopper) if m["kind"] == "pointer"]
            return (
                bool(found)
                and abs(found[0]["left"] - phone["x"]) < 4
                and abs(found[0]["top"] - phone["y"]) < 4
            )

        wait_until(
            shopper, pointer_on_phone, message="the pointer on the phone field", seen=lambda: marks(shopper)
        )
        agent.click("[data-tool=pointer]")
        agent.click("[data-tool=clear]")
        wait_until(shopper, lambda: marks(shopper) == [], message="cleared")

        # --- control: each action approved by the customer ------------------------------------------
        agent.click("[data-testid=mode-controlled]")
        wait_until(
            shopper, lambda: prompts(shopper) == ["Agent Priya asks for control"], message="control prompt"
        )
        answer(shopper, "allow")
        wait_until(shopper, lambda: badge_mode(shopper) == "Control", message="Control on the badge")
        wait_until(
            agent,
            lambda: "Control" in agent.text_content("[data-testid=console-mode]"),
            message="console mode",
        )

        values.append("Ada Lovelace")
        use_tool(agent, "type", "#full-name")
        wait_until(shopper, lambda: prompts(shopper), message="the action prompt")
        assert prompts(shopper) == ["Agent Priya wants to type into 'Full name': Ada Lovelace"]
        answer(shopper, "deny")
        wait_until(
            agent, lambda: "The customer denied the action" in feed_text(agent), message="denied in the feed"
        )
        assert shopper.input_value("#full-name") == ""

        values.append("Ada Lovelace")
        use_tool(agent, "type", "#full-name")
        wait_until(shopper, lambda: prompts(shopper), message="the second action prompt")
        answer(shopper, "allow")
        wait_until(
            shopper, lambda: shopper.input_value("#full-name") == "Ada Lovelace", message="the typed name"
        )
        wait_until(
            agent,
            lambda: replay_value(agent, "#full-name") == "Ada Lovelace",
            message="the name in the replay",
        )
        wait_until(
            agent, lambda: "Done on the customer's page: typed" in feed_text(agent), message="the result"
        )
        assert "The customer allowed the action" in feed_text(agent)

        # --- full control: a manager, then the customer; a submission is still refused -------------
        agent.click("[data-testid=mode-full]")
        wait_until(
            agent,
            lambda: ModeRequest.objects.filter(session=session, to_mode="full").exists(),
            message="the full control request",
        )
        request = ModeRequest.objects.get(session=session, to_mode="full")
        assert request.state == ModeRequestState.PENDING_MANAGER
        assert prompts(shopper) == []  # the customer is asked only after a manager approved
        # A manager approves on the approvals page, in their own browser.
        approver_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        viewer_ctxs.append(approver_ctx)
        approver = approver_ctx.new_page()
        login(approver, base, managers[0].username)
        approver.goto(f"{base}/manager/approvals/")
        row = approver.locator(f"[data-testid=approvals] tr[data-request='{request.pk}']")
        assert session.ticket.reference in row.text_content()
        row.get_by_role("button", name="Approve").click()
        approver.wait_for_selector("text=Approved: the customer is now asked.")
        assert approver.locator(f"tr[data-request='{request.pk}']").count() == 0
        request.refresh_from_db()
        assert (request.state, request.manager_id) == (ModeRequestState.PENDING_CUSTOMER, managers[0].pk)
        wait_until(
            shopper, lambda: prompts(shopper) == ["Agent Priya asks for full control"], message="full prompt"
        )
        answer(shopper, "allow")
        wait_until(
            shopper, lambda: badge_mode(shopper) == "Full control", message="Full control on the badge"
        )
        wait_until(
            agent,
            lambda: agent.text_content("[data-testid=console-mode]") == "Full control",
            message="Full control on the console",
        )
        assert session_mode(session.pk) == "full"

        page_url = shopper.url
        use_tool(agent, "click", "#continue")
        wait_until(
            agent,
            lambda: "submitting a form is never allowed" in feed_text(agent),
            message="the submit refusal",
            seen=lambda: feed_text(agent),
        )
        shopper.wait_for_timeout(500)
        assert shopper.url == page_url
        assert shopper.input_value("#full-name") == "Ada Lovelace"

        # --- managers watching: the agent and two more, a fourth is turned away ---------------------
        watchers = []
        for manager in managers:
            ctx = browser.new_context(viewport={"width": 1280, "height": 900})
            viewer_ctxs.append(ctx)
            page = ctx.new_page()
            login(page, base, manager.username)
            page.goto(f"{base}/agent/sessions/{session.pk}/")
            watchers.append(page)
        watching, refused = watchers[0], watchers[2]
        watching.wait_for_selector("[data-testid=console-presence][data-state=connected]", timeout=10000)
        watchers[1].wait_for_selector("[data-testid=console-presence][data-state=connected]", timeout=10000)
        refused.wait_for_selector("[data-testid=console-refused]", state="visible", timeout=10000)
        assert "maximum number of viewers" in refused.text_content("[data-testid=console-refused]")
        assert refused.get_attribute("[data-testid=console-presence]", "data-state") == "refused"
        assert refused.locator("[data-testid=console-ended]").is_hidden()
        refused.screenshot(path=str(ARTIFACTS / "console-viewer-refused.png"), full_page=True)
    finally:
        for ctx in viewer_ctxs:
            ctx.close()
        customer_ctx.close()
        agent_ctx.close()
