"""Guidance and control on the customer's page, in real Chromium, against a fake Tandem server.

The fake server (Playwright's ``route_web_socket``) sends what the real one would send after its
policy checks; the widget must draw guidance without touching the page, ask before acting, act the
way a person would, and refuse on its own what is never allowed, whatever the server said.
"""

from __future__ import annotations

import subprocess
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.cobrowse.test_widget_browser import GRANT, FakeTandem, _StaticHandler, wait_until
from tests.live_server import answer_consent_card

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
HARNESS = "/guidance.html"

# A customer page with the snippet, served by a Playwright route. Its own scripts count what a
# framework would see: input/change events and submissions.
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Application</title>
<style>body { font: 16px system-ui, sans-serif; margin: 2em; } label { display: block; margin-top: 1em; }</style>
</head><body>
<h1>Application</h1>
<form id="apply" action="/submitted" method="post">
  <label for="name">Full name</label><input id="name" name="name">
  <label for="password">Password</label><input id="password" name="password" type="password">
  <label for="card">Card number</label><input id="card" name="card" autocomplete="cc-number">
  <label for="maiden">Mother's maiden name</label><input id="maiden" name="maiden" data-sensitive>
  <label for="city">City</label>
  <select id="city" name="city"><option value="">Choose</option><option value="pune">Pune</option><option value="goa">Goa</option></select>
  <p><button type="button" id="helper" aria-label="Show help">Help</button>
     <button id="send">Send application</button></p>
</form>
<div style="height: 1600px"></div>
<p id="far">Far down the page</p>
<script>
  window.__events = [];
  window.__submits = 0;
  for (const type of ["input", "change"]) {
    document.addEventListener(type, (e) => window.__events.push(type + ":" + e.target.id), true);
  }
  document.getElementById("apply").addEventListener("submit", (e) => { e.preventDefault(); window.__submits++; });
  document.getElementById("helper").addEventListener("click", () => { window.__helped = true; });
</script>
<script async src="/static/dist/tandem-loader.js"></script>
</body></html>"""

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

# The page's own DOM, without the widget's hosts.
PAGE_DOM = """() => {
  const body = document.body.cloneNode(true);
  body.querySelectorAll("[data-tandem]").forEach((el) => el.remove());
  return body.outerHTML;
}"""


@pytest.fixture(scope="module")
def site():
    subprocess.run(["node", "frontend/build.mjs"], cwd=ROOT, check=True, timeout=120)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StaticHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def open_page(browser, site):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.add_init_script(KEEP_ROOTS)
    page = context.new_page()
    page.route(f"{site}{HARNESS}", lambda route: route.fulfill(body=PAGE, content_type="text/html"))
    server = FakeTandem(page)
    page.goto(f"{site}{HARNESS}#tandem={GRANT}")
    answer_consent_card(page)
    page.wait_for_selector("[data-tandem=badge]", state="attached")
    wait_until(page, lambda: server.messages(msg_type="rrweb"), message="the first recording")
    return context, page, server


def page_id(server) -> str:
    return server.messages(0)[0]["data"]["page_id"]


def node_ids(server) -> dict[str, int]:
    """Element id attribute → rrweb node id, from the latest full snapshot the widget sent."""
    snapshot = [e for m in server.messages(msg_type="rrweb") for e in m["data"]["events"] if e["type"] == 2][
        -1
    ]
    found: dict[str, int] = {}

    def walk(node):
        element_id = (node.get("attributes") or {}).get("id")
        if element_id:
            found[element_id] = node["id"]
        for child in node.get("childNodes", []):
            walk(child)

    walk(snapshot["data"]["node"])
    return found


def to_customer(page, server, msg_type, data):
    server.send(server.connections[-1]["ws"], msg_type, data)


def drawn(page, kind=None):
    return page.evaluate(
        """(kind) => Array.from((window.__roots.overlay || {querySelectorAll: () => []})
            .querySelectorAll(kind ? `.mark[data-kind=${kind}]` : ".mark"))
            .map((el) => { const r = el.getBoundingClientRect();
              return {kind: el.dataset.kind, left: r.left, top: r.top, width: r.width, height: r.height,
                      text: el.textContent}; })""",
        kind,
    )


def prompt_texts(page):
    return page.evaluate(
        "() => Array.from((window.__roots.prompts || {querySelectorAll: () => []})"
        ".querySelectorAll('.card')).map((c) => c.querySelector('p').textContent)"
    )


def press(page, which: str):
    """Clicks Allow or Deny where it is drawn, like a person would."""
    box = page.evaluate(
        """(which) => { const b = window.__roots.prompts.querySelector(`.ask .${which}`);
            const r = b.getBoundingClientRect(); return {x: r.x + r.width / 2, y: r.y + r.height / 2}; }""",
        which,
    )
    page.mouse.click(box["x"], box["y"])


def sent(server, msg_type):
    return [m["data"] for m in server.messages(msg_type=msg_type)]


def test_guidance_is_drawn_in_a_closed_overlay_and_the_page_is_untouched(browser, site):
    context, page, server = open_page(browser, site)
    before = page.evaluate(PAGE_DOM)
    ids, pid = node_ids(server), page_id(server)

    # In view only the widget ignores guidance even if it arrives.
    to_customer(page, server, "annotate", {"kind": "highlight", "page_id": pid, "node_id": ids["name"]})
    page.wait_for_timeout(300)
    assert drawn(page) == []

    to_customer(page, server, "mode", {"mode": "guided"})
    for kind in ("highlight", "circle", "arrow"):
        to_customer(page, server, "annotate", {"kind": kind, "page_id": pid, "node_id": ids["name"]})
    to_customer(
        page,
        server,
        "annotate",
        {"kind": "text", "page_id": pid, "node_id": ids["city"], "text": "Pick your city"},
    )
    to_customer(page, server, "annotate", {"kind": "spotlight", "page_id": pid, "node_id": ids["send"]})
    to_customer(
        page, server, "annotate", {"kind": "pointer", "page_id": pid, "x": 400, "y": 120, "agent_name": "Sam"}
    )
    # A node id of another page load is never resolved.
    to_customer(
        page, server, "annotate", {"kind": "circle", "page_id": "another-page", "node_id": ids["city"]}
    )
    wait_until(page, lambda: len(drawn(page)) == 6, message="six drawings")

    name_box = page.evaluate(
        "(() => { const r = document.getElementById('name').getBoundingClientRect();"
        " return {left: r.left, top: r.top, width: r.width, height: r.height}; })()"
    )
    highlight = drawn(page, "highlight")[0]
    assert abs(highlight["left"] - (name_box["left"] - 4)) < 1.5
    assert abs(highlight["width"] - (name_box["width"] + 8)) < 1.5
    assert drawn(page, "text")[0]["text"] == "Pick your city"
    assert "Sam" in drawn(page, "pointer")[0]["text"]
    assert len(drawn(page, "circle")) == 1

    host = page.locator("[data-tandem=overlay]")
    assert "rr-block" in host.get_attribute("class")
    assert page.evaluate("document.querySelector('[data-tandem=overlay]').shadowRoot") is None
    assert (
        page.evaluate("getComputedStyle(document.querySelector('[data-tandem=overlay]')).pointerEvents")
        == "none"
    )
    # Guidance never blocks the page: a click on the highlighted field reaches it.
    page.mouse.click(name_box["left"] + 10, name_box["top"] + name_box["height"] / 2)
    assert page.evaluate("document.activeElement.id") == "name"
    ARTIFACTS.mkdir(exist_ok=True)
    # caret="initial": hiding the caret makes Playwright write style="" on the page's inputs.
    page.screenshot(path=str(ARTIFACTS / "widget-guidance-overlay.png"), caret="initial")

    # Drawings follow their element when the page scrolls.
    page.evaluate("window.scrollTo(0, 200)")
    wait_until(
        page,
        lambda: abs(drawn(page, "highlight")[0]["top"] - (name_box["top"] - 204)) < 1.5,
        message="the highlight to follow the scroll",
    )

    # scroll_to brings a far element into view.
    to_customer(page, server, "annotate", {"kind": "scroll_to", "page_id": pid, "node_id": ids["far"]})
    wait_until(page, lambda: page.evaluate("window.scrollY") > 1000, message="scrolled to the element")

    to_customer(page, server, "annotate", {"kind": "clear"})
    wait_until(page, lambda: drawn(page) == [], message="cleared")
    page.evaluate("window.scrollTo(0, 0)")
    assert page.evaluate(PAGE_DOM) == before
    # Nothing the overlay drew went into the recording.
    assert all(
        "Pick your city" not in raw
        for raw in server.raw_frames()
        if '"type": "rrweb"' in raw or '"rrweb"' in raw
    )
    context.close()


def test_an_action_request_acts_only_when_the_customer_allows_it(browser, site):
    context, page, server = open_page(browser, site)
    ids, pid = node_ids(server), page_id(server)
    to_customer(page, server, "mode", {"mode": "controlled"})
    before = page.evaluate(PAGE_DOM)

    ask = {
        "kind": "type",
        "node_id": ids["name"],
        "page_id": pid,
        "value": "Ada Lovelace",
        "agent_name": "Sam",
    }
    to_customer(page, server, "action_request", {**ask, "request_id": "action:1"})
    wait_until(page, lambda: prompt_texts(page), message="the prompt")
    assert prompt_texts(page) == ["Agent Sam wants to type into 'Full name': Ada Lovelace"]
    press(page, "deny")
    wait_until(page, lambda: sent(server, "decision"), message="the decision")
    assert sent(server, "decision") == [{"request_id": "action:1", "approved": False}]
    assert page.input_value("#name") == ""
    assert page.evaluate("window.__events") == []
    assert sent(server, "action_result") == []
    assert page.evaluate(PAGE_DOM) == before

    to_customer(page, server, "action_request", {**ask, "request_id": "action:2"})
    wait_until(page, lambda: prompt_texts(page), message="the second prompt")
    press(page, "allow")
    wait_until(page, lambda: sent(server, "action_result"), message="the result")
    assert sent(server, "decision")[-1] == {"request_id": "action:2", "approved": True}
    assert sent(server, "action_result") == [{"request_id": "action:2", "ok": True, "detail": "typed"}]
    assert page.input_value("#name") == "Ada Lovelace"
    assert page.evaluate("window.__events") == ["input:name", "change:name"]
    # The agent sees the change through the recording, like any typing.
    wait_until(page, lambda: any("Ada Lovelace" in raw for raw in server.raw_frames()), message="recorded")

    to_customer(
        page,
        server,
        "action_request",
        {
            "kind": "select",
            "node_id": ids["city"],
            "page_id": pid,
            "value": "Goa",
            "agent_name": "Sam",
            "request_id": "action:3",
        },
    )
    wait_until(page, lambda: prompt_texts(page), message="the select prompt")
    assert prompt_texts(page) == ["Agent Sam wants to choose 'Goa' in 'City'"]
    press(page, "allow")
    wait_until(page, lambda: len(sent(server, "action_result")) == 2, message="the select result")
    assert page.input_value("#city") == "goa"

    # A mode request is answered the same way.
    to_customer(page, server, "mode_request", {"request_id": "mode:9", "mode": "full"})
    wait_until(page, lambda: prompt_texts(page), message="the mode prompt")
    assert prompt_texts(page) == ["Agent Sam asks for full control"]
    press(page, "allow")
    wait_until(
        page,
        lambda: {"request_id": "mode:9", "approved": True} in sent(server, "decision"),
        message="the mode decision",
    )
    context.close()


def test_the_widget_refuses_what_is_never_allowed_even_if_asked(browser, site):
    context, page, server = open_page(browser, site)
    ids, pid = node_ids(server), page_id(server)
    to_customer(page, server, "mode", {"mode": "controlled"})

    # Asked in control mode: refused at once, the customer is not even asked.
    for n, (field, value) in enumerate([("password", "hunter2"), ("card", "4111"), ("maiden", "Byron")]):
        to_customer(
            page,
            server,
            "action_request",
            {
                "kind": "type",
                "node_id": ids[field],
                "page_id": pid,
                "value": value,
                "agent_name": "Sam",
                "request_id": f"action:{n + 10}",
            },
        )
    wait_until(page, lambda: len(sent(server, "action_result")) == 3, message="three refusals")
    results = sent(server, "action_result")
    assert [r["ok"] for r in results] == [False, False, False]
    assert "password fields are never touched" in results[0]["detail"]
    assert "payment" in results[1]["detail"]
    assert "masked" in results[2]["detail"]
    assert all(d["approved"] is False for d in sent(server, "decision"))
    assert prompt_texts(page) == []

    # In full control the server does not ask the customer; the widget still refuses.
    to_customer(page, server, "mode", {"mode": "full"})
    to_customer(
        page, server, "action", {"kind": "click", "node_id": ids["send"], "page_id": pid, "agent_name": "Sam"}
    )
    to_customer(
        page,
        server,
        "action",
        {"kind": "type", "node_id": ids["password"], "page_id": pid, "value": "hunter2", "agent_name": "Sam"},
    )
    to_customer(
        page,
        server,
        "action",
        {"kind": "click", "node_id": ids["helper"], "page_id": "old-page", "agent_name": "Sam"},
    )
    wait_until(page, lambda: len(sent(server, "action_result")) == 6, message="three more refusals")
    submit, password, stale = sent(server, "action_result")[3:]
    assert submit["ok"] is False and submit["detail"] == "submitting a form is never allowed"
    assert password["ok"] is False and "password" in password["detail"]
    assert stale["ok"] is False and "not on the customer's current page" in stale["detail"]
    assert page.evaluate("window.__submits") == 0
    assert page.input_value("#password") == ""
    assert page.evaluate("window.__helped") is None

    # An allowed full-control action happens and is shown to the customer.
    to_customer(
        page,
        server,
        "action",
        {"kind": "click", "node_id": ids["helper"], "page_id": pid, "agent_name": "Sam"},
    )
    wait_until(page, lambda: page.evaluate("window.__helped") is True, message="the click")
    wait_until(page, lambda: "Agent Sam clicked 'Show help'" in prompt_texts(page), message="the toast")
    assert sent(server, "action_result")[-1]["ok"] is True
    context.close()


def test_an_unanswered_action_request_expires_as_denied(browser, site):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.add_init_script(KEEP_ROOTS)
    page = context.new_page()
    page.clock.install()
    page.route(f"{site}{HARNESS}", lambda route: route.fulfill(body=PAGE, content_type="text/html"))
    server = FakeTandem(page)
    page.goto(f"{site}{HARNESS}#tandem={GRANT}")
    answer_consent_card(page)
    page.wait_for_selector("[data-tandem=badge]", state="attached")
    wait_until(page, lambda: server.messages(msg_type="rrweb"), message="the first recording")
    ids, pid = node_ids(server), page_id(server)
    to_customer(page, server, "mode", {"mode": "controlled"})
    to_customer(
        page,
        server,
        "action_request",
        {
            "kind": "type",
            "node_id": ids["name"],
            "page_id": pid,
            "value": "Ada",
            "agent_name": "Sam",
            "request_id": "action:4",
        },
    )
    wait_until(page, lambda: prompt_texts(page), message="the prompt")
    page.clock.run_for(29_000)
    assert sent(server, "decision") == []
    page.clock.run_for(2_000)
    wait_until(page, lambda: sent(server, "decision"), message="the automatic answer")
    assert sent(server, "decision") == [{"request_id": "action:4", "approved": False}]
    assert prompt_texts(page) == ["Expired: Agent Sam wants to type into 'Full name': Ada"]
    assert page.input_value("#name") == ""
    context.close()
