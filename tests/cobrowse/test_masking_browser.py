"""Numbers a page lays out over several elements, in real Chromium.

First the widget on its own (the Tandem server played by Playwright, so only the widget's masking
stands between the page and the frames), then the whole path: the widget on a page of the demo
site's origin, the relay with its redactor, and the agent's console replay.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.cobrowse.frame_text import frame_strings
from tests.cobrowse.test_e2e_live import off_loop, replay_has, wait_until
from tests.cobrowse.test_widget_browser import open_shared_page, site  # noqa: F401 (fixture)
from tests.cobrowse.test_widget_browser import wait_until as widget_wait
from tests.consent.helpers import consent
from tests.factories import make_account, make_ticket, make_user
from tests.live_server import KEEP_BADGE_ROOT, answer_consent_card, login

pytestmark = pytest.mark.browser

# <p>Card on file: <span>4111</span> <span>1111</span> … and the same with dots and thin spaces.
SPLIT = """
<p id="card">Card on file: <span>4111</span> <span>1111</span> <span>1111</span> <span>1111</span></p>
<p id="dotted"><b>5555</b>.<b>5555</b>.<i>5555</i>.<i>4444</i></p>
<p id="ssn"><strong>SSN:</strong> <span>123</span>&#8201;<span>45</span>&#8201;<span>6789</span></p>
<p id="later"><span>3782</span> <span>822463</span> </p>
<div id="boxes"><input maxlength="4" id="b1"><input maxlength="4" id="b2"><input maxlength="4" id="b3"><input maxlength="4" id="b4"></div>
"""
GROUPS = ["4111", "1111", "5555", "4444", "6789", "10005", "9012"]


def test_the_widget_alone_masks_numbers_split_over_elements(browser, site):  # noqa: F811
    context, page, server = open_shared_page(browser, site)
    page.evaluate("(html) => document.body.insertAdjacentHTML('beforeend', html)", SPLIT)
    for box, group in zip(["#b1", "#b2", "#b3", "#b4"], ["5105", "1051", "0510", "9012"], strict=True):
        page.type(box, group, delay=10)
    page.evaluate("document.querySelector('#later').insertAdjacentHTML('beforeend', '<span>10005</span>')")
    widget_wait(
        page, lambda: any("10005" in f or "******" in f for f in server.raw_frames()), message="frames"
    )
    page.wait_for_timeout(600)
    words = frame_strings(server.raw_frames())
    leaking = [g for g in GROUPS if g in words]
    assert not leaking, leaking
    # The groups sent before the last one arrived are masked again by the same mutation.
    mutations = [
        e["data"]
        for m in server.messages(msg_type="rrweb")
        for e in m["data"]["events"]
        if e["type"] == 3 and e["data"].get("source") == 0 and e["data"].get("texts")
    ]
    assert any(len([t for t in d["texts"] if t["value"] == "******"]) >= 2 for d in mutations)
    # The side panel's form state: the boxes are masked fields, sent without their values.
    widget_wait(
        page, lambda: "b4" in {f["id"] for f in server.messages(msg_type="page")[-1]["data"]["fields"]}
    )
    fields = {f["id"]: f for f in server.messages(msg_type="page")[-1]["data"]["fields"]}
    for box in ("b1", "b2", "b3", "b4"):
        assert fields[box]["masked"] is True and "value" not in fields[box], fields[box]
    context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("built_bundles")
def test_a_number_split_over_spans_reaches_the_agent_masked(live_server_asgi, demo_site, browser):
    base = live_server_asgi.url
    account = make_account("Acme Home Loans", site_url=f"{demo_site}/", allowed_origins=[demo_site])
    customer = make_user("dana", role="customer", account=account)
    make_user("priya", role="agent", agent_level="L2", first_name="Priya")
    agent_user = type(customer).objects.get(username="priya")
    session, grant = off_loop(consent, make_ticket(customer), agent_user)

    customer_ctx = browser.new_context()
    agent_ctx = browser.new_context()
    try:
        customer_ctx.add_init_script(KEEP_BADGE_ROOT)
        # The demo site's page with the numbers added before the widget takes its first snapshot.
        customer_ctx.add_init_script(
            "document.addEventListener('DOMContentLoaded', () =>"
            f" document.body.insertAdjacentHTML('beforeend', {json.dumps(SPLIT)}))"
        )
        shopper = customer_ctx.new_page()
        shopper.goto(f"{demo_site}/#tandem={grant}")
        answer_consent_card(shopper)  # a grant in the address always asks the page's owner
        shopper.wait_for_selector("[data-tandem=badge]", state="attached", timeout=10000)

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
        wait_until(agent, lambda: replay_has(agent, "#card"), timeout=15, message="the replayed page")
        for box, group in zip(["#b1", "#b2", "#b3", "#b4"], ["5105", "1051", "0510", "9012"], strict=True):
            shopper.type(box, group, delay=10)
        shopper.evaluate(
            "document.querySelector('#later').insertAdjacentHTML('beforeend', '<span>10005</span>')"
        )
        replay = agent.frame_locator(".tandem-live iframe")
        wait_until(
            agent,
            lambda: "******" in (replay.locator("#later").text_content() or ""),
            message="the last group",
        )
        agent.wait_for_timeout(500)

        for selector in ("#card", "#dotted", "#ssn", "#later"):
            shown = replay.locator(selector).text_content() or ""
            assert not re.search(r"[0-9]{3}", shown), (selector, shown)
        assert [replay.locator(f"#b{i}").input_value() for i in range(1, 5)] == ["******"] * 4
        words = frame_strings(received)
        leaking = [g for g in GROUPS if g in words]
        assert not leaking, leaking
    finally:
        customer_ctx.close()
        agent_ctx.close()
