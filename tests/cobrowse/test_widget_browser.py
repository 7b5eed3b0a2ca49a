"""The customer widget and the agent's live view in real Chromium.

The pages are served from the checkout by a small HTTP server; Playwright's ``route_web_socket``
plays the Tandem server on both sockets, so every frame the widget sends can be inspected.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.cobrowse.frame_text import frame_strings
from tests.live_server import CONSENT_CARD_FOCUSED, answer_consent_card

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
GRANT = "testgrant"
# What the fake server's confirm call issues on Allow: the grant the page shares with.
TAB_GRANT = "tabgrant"
SESSION_ID = 7
HARNESS = "/static/cobrowse/widget_harness.html"

# Typed into the harness form; none of them may appear in any frame.
SECRETS = {
    "password": "S3cret-pass!",
    "card": "4111 1111 1111 1111",
    "otp": "918273",
    "maiden": "Byron",
    "iban": "DE89 3704 0044 0532 0130 00",
}
# Already on the page: the card in a <span>, a hidden input, a placeholder, a button value.
PAGE_SECRETS = ["5555 5555 5555 4444", "378282246310005", "GB82 WEST", "123-45-6789"]
# Pieces of the secrets that would betray them even in part (prefixes sent while typing).
FRAGMENTS = ["4111111111111111", "1111 1111", "3704", "0044 0532", "91827", "S3cret", "Byro"]


class _StaticHandler(SimpleHTTPRequestHandler):
    """Serves only /static/ from the checkout, quietly."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=str(ROOT), **kwargs)

    def do_GET(self):
        if not self.path.startswith("/static/"):
            self.send_error(404)
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    """Fresh bundles in static/dist, served on 127.0.0.1."""
    subprocess.run(["node", "frontend/build.mjs"], cwd=ROOT, check=True, timeout=120)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StaticHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class FakeTandem:
    """The Tandem server for the customer's page: the describe and confirm calls of the consent card,
    the grant refresh endpoint and the customer socket, recording every frame (one list per
    connection)."""

    def __init__(self, page, *, agent_name="Sam", grant_status=200):
        self.agent_name = agent_name
        self.grant_status = grant_status
        self.describes: list[str | None] = []
        self.confirms: list[tuple[str | None, dict]] = []
        self.refreshes: list[str | None] = []
        self.connections: list[dict] = []
        self.welcome_last_seq = -1
        page.route("**/api/cobrowse/grants/describe/", self._describe)
        page.route("**/api/cobrowse/grants/confirm/", self._confirm)
        page.route("**/api/cobrowse/grants/refresh/", self._refresh)
        page.route_web_socket(re.compile(r".*/ws/cobrowse/.*/customer/$"), self._connect)

    def _describe(self, route, request):
        self.describes.append(request.headers.get("x-tandem-grant"))
        if self.grant_status != 200:
            route.fulfill(status=self.grant_status, json={"detail": "The grant was revoked."})
            return
        route.fulfill(
            json={
                "agent": self.agent_name,
                "mode": "view_only",
                "mode_label": "View only",
                "recording": False,
                "third_party": False,
                "title": "Share this page with support?",
                "prompt": f"Agent {self.agent_name} wants to see this page to help you with ticket T-1.",
                "details": ["View only: the agent sees this page.", "This session is not recorded."],
                "allow": "Allow",
                "deny": "Deny",
            }
        )

    def _confirm(self, route, request):
        body = json.loads(request.post_data or "{}")
        self.confirms.append((request.headers.get("x-tandem-grant"), body))
        if body.get("allow"):
            route.fulfill(json={"session": SESSION_ID, "state": "consented", "grant": TAB_GRANT})
        else:
            route.fulfill(json={"session": SESSION_ID, "state": "revoked"})

    def _refresh(self, route, request):
        self.refreshes.append(request.headers.get("x-tandem-grant"))
        if self.grant_status != 200:
            route.fulfill(status=self.grant_status, json={"detail": "The grant was revoked."})
            return
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 600))
        route.fulfill(json={"session": SESSION_ID, "expires_at": expires})

    def _connect(self, ws):
        connection = {"ws": ws, "url": ws.url, "frames": [], "closed": False}
        self.connections.append(connection)

        def on_message(raw):
            message = json.loads(raw)
            connection["frames"].append((raw, message))
            if message["type"] == "hello":
                self.send(
                    ws,
                    "welcome",
                    {
                        "session_id": SESSION_ID,
                        "agent_name": self.agent_name,
                        "mode": "view_only",
                        "recording": False,
                        "last_seq": self.welcome_last_seq,
                        "redaction_selectors": [],
                    },
                )

        def on_close(code, reason):
            connection["closed"] = True

        ws.on_message(on_message)
        ws.on_close(on_close)

    @staticmethod
    def send(ws, msg_type, data, seq=0):
        ws.send(json.dumps({"type": msg_type, "seq": seq, "ts": int(time.time() * 1000), "data": data}))

    def raw_frames(self):
        return [raw for c in self.connections for raw, _ in c["frames"]]

    def messages(self, connection=None, msg_type=None):
        connections = self.connections if connection is None else [self.connections[connection]]
        return [m for c in connections for _, m in c["frames"] if msg_type in (None, m["type"])]


def wait_until(page, predicate, timeout=5.0, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"timed out waiting for {message}")


def open_shared_page(browser, site, *, init_script=None):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    if init_script:
        page.add_init_script(init_script)
    server = FakeTandem(page)
    page.goto(f"{site}{HARNESS}#tandem={GRANT}")
    answer_consent_card(page)
    page.wait_for_selector("[data-tandem=badge]", state="attached")
    return context, page, server


def stream(messages):
    """The numbered part of what the page sent (hello, pong and stop are out of band)."""
    return [m for m in messages if m["type"] in ("rrweb", "page", "signal")]


# Test-only handle on the badge's closed shadow root (the root itself stays closed), so the test
# can find where the Stop sharing button is drawn and click there like a person would.
KEEP_SHADOW_HANDLE = """
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) {
  const root = attach.call(this, init);
  if (this.getAttribute && this.getAttribute("data-tandem") === "badge") window.__badgeRoot = root;
  (window.__roots = window.__roots || []).push(root);
  return root;
};
"""


def type_everything(page):
    page.type("#name", "Ada Lovelace", delay=15)
    for field, value in SECRETS.items():
        page.type(f"#{field}", value, delay=15)
    page.wait_for_timeout(300)


def test_nothing_is_loaded_or_connected_without_a_grant(browser, site):
    context = browser.new_context()
    page = context.new_page()
    requests, sockets = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(f"{site}{HARNESS}")
    page.wait_for_load_state("load")
    page.wait_for_timeout(700)
    loaded = [u for u in requests if not u.endswith("/favicon.ico")]
    assert loaded == [f"{site}{HARNESS}", f"{site}/static/dist/tandem-loader.js"]
    assert sockets == []
    assert page.evaluate("typeof window.TandemRecorder") == "undefined"
    assert page.evaluate("sessionStorage.length") == 0
    context.close()


def test_a_refused_grant_is_forgotten_and_nothing_connects(browser, site):
    context = browser.new_context()
    page = context.new_page()
    server = FakeTandem(page, grant_status=401)
    page.goto(f"{site}{HARNESS}#tandem={GRANT}")
    wait_until(page, lambda: server.describes, message="the consent card's describe call")
    wait_until(page, lambda: page.evaluate("sessionStorage.length") == 0, message="grant forgotten")
    page.wait_for_timeout(300)
    assert server.connections == [] and server.confirms == [] and server.refreshes == []
    assert page.locator("[data-tandem=badge]").count() == 0
    assert page.locator("[data-tandem=consent]").count() == 0
    context.close()


def test_grant_is_taken_from_the_address_and_the_badge_is_in_a_closed_shadow_root(browser, site):
    context, page, server = open_shared_page(browser, site)
    assert page.url == f"{site}{HARNESS}"
    assert server.describes == [GRANT] and server.confirms == [(GRANT, {"allow": True})]
    assert page.evaluate("sessionStorage.getItem('tandem.grant')") == TAB_GRANT
    assert page.evaluate("sessionStorage.getItem('tandem.confirmed')") == TAB_GRANT
    wait_until(page, lambda: server.connections, message="customer socket")
    assert server.refreshes == [TAB_GRANT]
    assert server.connections[0]["url"] == f"ws://127.0.0.1:{site.rsplit(':', 1)[1]}/ws/cobrowse/7/customer/"
    hello = server.messages(0)[0]
    assert hello["type"] == "hello"
    assert hello["data"]["grant"] == TAB_GRANT
    assert hello["data"]["last_acked_seq"] == -1
    assert hello["data"]["url"] == f"{site}{HARNESS}"
    host = page.locator("[data-tandem=badge]")
    assert "rr-block" in host.get_attribute("class")
    assert page.evaluate("document.querySelector('[data-tandem=badge]').shadowRoot") is None
    assert page.get_by_text("Sharing this page").count() == 0
    assert "Sharing this page" not in page.evaluate("document.body.innerText")
    context.close()


def test_recording_masks_secrets_and_numbers_frames_contiguously(browser, site):
    context, page, server = open_shared_page(browser, site)
    type_everything(page)
    wait_until(page, lambda: any("Ada Lovelace" in f for f in server.raw_frames()), message="name typed")

    # Only the text the page sent: JSON numbers (timestamps, ids, coordinates) are dropped first, as
    # a digit fragment such as "3704" turns up inside a millisecond timestamp now and then.
    frames = [frame_strings([f]) for f in server.raw_frames()]
    rrweb = server.messages(msg_type="rrweb")
    assert rrweb and all(m["data"]["page_id"] == server.messages(0)[0]["data"]["page_id"] for m in rrweb)
    for secret in [*SECRETS.values(), *PAGE_SECRETS, *FRAGMENTS]:
        leaking = [f[:200] for f in frames if secret in f]
        assert not leaking, f"{secret!r} sent in {leaking}"
    assert any("******" in f for f in frames)
    assert all("Sharing this page" not in f for f in frames)

    # The one-time code field is blocked: a placeholder with no attributes of its own.
    snapshot = next(e for m in rrweb for e in m["data"]["events"] if e["type"] == 2)
    assert '"autocomplete":"one-time-code"' not in json.dumps(snapshot, separators=(",", ":"))

    seqs = [m["seq"] for m in stream(server.messages(0))]
    assert seqs == list(range(len(seqs)))

    def latest_fields():
        return {f["id"]: f for f in server.messages(msg_type="page")[-1]["data"]["fields"]}

    # Page context is throttled: wait for the one sent after the last keystroke.
    wait_until(page, lambda: latest_fields()["iban"].get("value") == "******", message="final page context")
    page_context = server.messages(msg_type="page")[-1]["data"]
    fields = {f["id"]: f for f in page_context["fields"]}
    assert fields["name"]["value"] == "Ada Lovelace"
    assert fields["name"]["status"] == "complete"
    assert fields["name"]["label"] == "Full name"
    for masked in ("password", "card", "otp", "maiden"):
        assert fields[masked]["masked"] is True and "value" not in fields[masked]
    assert fields["iban"]["masked"] is False and fields["iban"]["value"] == "******"
    assert page_context["focused"] == "iban"
    assert 0 < page_context["completion"] <= 100
    context.close()


def test_reconnect_resends_unacknowledged_batches(browser, site):
    context, page, server = open_shared_page(browser, site)
    page.type("#name", "Ada", delay=20)
    wait_until(page, lambda: len(server.messages(0)) >= 4, message="first frames")
    first = stream(server.messages(0))
    kept_from = 2  # the server acknowledged 0 and 1 before the connection dropped
    server.send(server.connections[0]["ws"], "ack", {"seq": 1})
    assert len(first) > kept_from
    server.welcome_last_seq = kept_from - 1
    page.wait_for_timeout(100)
    sent_before_drop = stream(server.messages(0))
    server.connections[0]["ws"].close(code=1011, reason="restart")

    wait_until(page, lambda: len(server.connections) == 2, timeout=8, message="reconnect")
    wait_until(page, lambda: len(server.messages(1)) > len(sent_before_drop) - kept_from, message="resend")
    hello = server.messages(1)[0]
    assert hello["type"] == "hello"
    assert hello["data"]["last_acked_seq"] == 1
    assert hello["data"]["page_id"] == server.messages(0)[0]["data"]["page_id"]

    resent = server.messages(1)[1 : 1 + len(sent_before_drop) - kept_from]
    assert [m["seq"] for m in resent] == [m["seq"] for m in sent_before_drop[kept_from:]]
    assert [m["data"] for m in resent] == [m["data"] for m in sent_before_drop[kept_from:]]

    page.type("#name", " Lovelace", delay=20)
    wait_until(
        page,
        lambda: any("Ada Lovelace" in raw for raw, _ in server.connections[1]["frames"]),
        message="typing after reconnect",
    )
    after = [m["seq"] for m in stream(server.messages(1))]
    assert after == list(range(kept_from, kept_from + len(after)))
    context.close()


def test_snapshot_request_and_ping(browser, site):
    context, page, server = open_shared_page(browser, site)
    wait_until(page, lambda: server.messages(msg_type="rrweb"), message="first batch")
    ws = server.connections[0]["ws"]
    server.send(ws, "snapshot_request", {})
    server.send(ws, "ping", {"nonce": "n-1"})
    server.send(ws, "quality", {"level": "poor", "rtt_ms": 900})
    wait_until(page, lambda: server.messages(msg_type="pong"), message="pong")
    assert server.messages(msg_type="pong")[0]["data"] == {"nonce": "n-1"}

    def full_snapshots():
        return [e for m in server.messages(msg_type="rrweb") for e in m["data"]["events"] if e["type"] == 2]

    wait_until(page, lambda: len(full_snapshots()) == 2, message="second full snapshot")
    context.close()


def test_stop_sharing_revokes_and_tears_down(browser, site):
    context, page, server = open_shared_page(browser, site, init_script=KEEP_SHADOW_HANDLE)
    revokes = []

    def on_revoke(route, request):
        revokes.append((request.method, request.url, request.headers.get("x-tandem-grant")))
        route.fulfill(status=204)

    page.route("**/api/cobrowse/sessions/*/revoke/", on_revoke)
    wait_until(page, lambda: server.messages(msg_type="rrweb"), message="recording")
    box = page.evaluate(
        "(() => { const r = window.__badgeRoot.querySelector('button.stop').getBoundingClientRect();"
        " return {x: r.x + r.width / 2, y: r.y + r.height / 2}; })()"
    )
    page.mouse.click(box["x"], box["y"])

    wait_until(page, lambda: revokes and server.connections[0]["closed"], message="revoke and close")
    assert revokes == [("POST", f"{site}/api/cobrowse/sessions/7/revoke/", TAB_GRANT)]
    assert server.messages(msg_type="stop")[0]["data"] == {"reason": "customer"}
    # The badge does not just vanish: it says sharing stopped, until the customer closes it.
    assert badge_text(page).startswith("You stopped sharing — nothing more is sent")
    assert page.evaluate("window.__badgeRoot.querySelector('button.stop').textContent") == "Close"
    assert page.evaluate("sessionStorage.getItem('tandem.grant')") is None
    frames_after_stop = len(server.raw_frames())
    page.type("#name", "after stop", delay=10)
    page.wait_for_timeout(1200)
    assert len(server.raw_frames()) == frames_after_stop
    assert len(server.connections) == 1
    page.mouse.click(box["x"], box["y"])  # Close, where Stop sharing was
    page.wait_for_selector("[data-tandem=badge]", state="detached")
    context.close()


def badge_text(page) -> str:
    """What the badge says (visible parts only), through the test-only handle on its root."""
    return page.evaluate(
        "[...window.__badgeRoot.querySelectorAll('.who, .mode, .watching')]"
        ".filter((el) => !el.hidden).map((el) => el.textContent).join(' | ')"
    )


def test_the_badge_waits_for_the_agent_until_presence_says_they_joined(browser, site):
    context, page, server = open_shared_page(browser, site, init_script=KEEP_SHADOW_HANDLE)
    wait_until(page, lambda: server.messages(msg_type="rrweb"), message="recording")
    # Consented, but nobody has opened the session yet: the welcome lists nobody watching.
    wait_until(page, lambda: "Waiting for Sam to join" in badge_text(page), message="waiting text")
    assert "Watching" not in badge_text(page)

    ws = server.connections[0]["ws"]
    server.send(ws, "participants", {"watching": [{"name": "Sam", "role": "agent"}]}, seq=3)
    wait_until(page, lambda: "Watching: Sam" in badge_text(page), message="the agent joined")
    assert "Waiting" not in badge_text(page)

    server.send(ws, "participants", {"watching": []}, seq=4)  # the agent's console closed
    wait_until(page, lambda: "Waiting for Sam to join" in badge_text(page), message="waiting again")
    context.close()


def test_ended_clears_the_grant_and_a_new_page_starts_a_new_stream(browser, site):
    context, page, server = open_shared_page(browser, site, init_script=KEEP_SHADOW_HANDLE)
    wait_until(page, lambda: server.messages(msg_type="rrweb"), message="recording")
    first_page_id = server.messages(0)[0]["data"]["page_id"]

    page.click("#next")
    page.wait_for_selector("[data-tandem=badge]", state="attached")
    wait_until(page, lambda: len(server.connections) == 2, message="second page connects")
    assert len(server.describes) == len(server.confirms) == 1  # the tab confirmed: no second card
    assert server.connections[1]["frames"][0][1]["data"]["grant"] == TAB_GRANT
    wait_until(page, lambda: server.messages(1, "rrweb"), message="second page records")
    hello = server.messages(1)[0]
    assert hello["data"]["page_id"] != first_page_id
    assert hello["data"]["last_acked_seq"] == -1
    assert [m["seq"] for m in stream(server.messages(1))[:2]] == [0, 1]

    server.send(server.connections[1]["ws"], "ended", {"reason": "agent_ended"})
    wait_until(
        page, lambda: badge_text(page).startswith("Sharing has ended — nothing more is sent"), message="end"
    )
    assert page.evaluate("sessionStorage.getItem('tandem.grant')") is None
    assert page.locator("[data-tandem=badge]").count() == 1  # it says so until closed
    context.close()


def test_page_context_reports_validation_errors_rage_clicks_and_exit_intent(browser, site):
    context, page, server = open_shared_page(browser, site)
    # Exit intent counts only between 30 % and 90 % complete: at 0 % it is dropped, at one of the
    # three required fields (33 %) it is reported.
    page.evaluate("document.dispatchEvent(new MouseEvent('mouseout', {clientY: -5, bubbles: true}))")
    page.fill("#name", "Ada")
    page.type("#email", "ada@", delay=10)
    page.evaluate(
        """() => {
        const email = document.getElementById("email");
        email.setAttribute("aria-invalid", "true");
        document.getElementById("email-error").textContent = "Enter a complete e-mail address";
    }"""
    )
    for _ in range(3):
        page.mouse.click(400, 40)
    page.evaluate("document.dispatchEvent(new MouseEvent('mouseout', {clientY: -5, bubbles: true}))")
    page.mouse.wheel(0, 5000)

    def signal(kind):
        return [m["data"] for m in server.messages(msg_type="signal") if m["data"]["kind"] == kind]

    wait_until(
        page,
        lambda: signal("validation_error") and signal("rage_click") and signal("exit_intent"),
        message="signals",
    )
    assert signal("exit_intent") == [{"kind": "exit_intent", "detail": "33 % complete"}]
    assert signal("validation_error")[0] == {
        "kind": "validation_error",
        "field": "email",
        "detail": "Enter a complete e-mail address",
    }
    wait_until(
        page,
        lambda: server.messages(msg_type="page")[-1]["data"]["scroll_depth"] == 100,
        message="scroll depth",
    )
    latest = server.messages(msg_type="page")[-1]["data"]
    email = next(f for f in latest["fields"] if f["id"] == "email")
    assert (email["status"], email["error"], email["value"]) == (
        "error",
        "Enter a complete e-mail address",
        "ada@",
    )
    assert latest["rage_clicks"] == 1
    context.close()


def test_console_replays_a_recorded_stream(browser, site):
    context, page, server = open_shared_page(browser, site)
    page.type("#name", "Ada Lovelace", delay=15)
    page.type("#password", SECRETS["password"], delay=15)
    wait_until(page, lambda: any("Ada Lovelace" in f for f in server.raw_frames()), message="name typed")
    recorded = [m for m in server.messages(0) if m["type"] in ("rrweb", "page")]
    context.close()

    agent_context = browser.new_context(viewport={"width": 1000, "height": 700})
    agent = agent_context.new_page()
    agent_frames = []
    sockets = []

    def agent_socket(ws):
        sockets.append(ws)
        ws.on_message(lambda raw: agent_frames.append(json.loads(raw)))

    agent.route_web_socket(re.compile(r".*/ws/cobrowse/7/agent/$"), agent_socket)
    agent.goto(f"{site}/static/cobrowse/console_harness.html")
    wait_until(agent, lambda: sockets, message="agent socket")
    # A fresh console asks for a full snapshot as soon as it connects.
    wait_until(agent, lambda: any(m["type"] == "resync" for m in agent_frames), message="join resync")

    ws = sockets[0]
    FakeTandem.send(ws, "presence", {"customer": "connected"})
    FakeTandem.send(ws, "quality", {"level": "good", "rtt_ms": 42})
    for message in recorded:  # relayed as the customer sent them (after redaction)
        ws.send(json.dumps(message))

    replayed = agent.frame_locator(".tandem-live iframe").locator("#name")
    wait_until(
        agent,
        lambda: replayed.count() == 1 and replayed.input_value() == "Ada Lovelace",
        message="name in the replay",
    )
    assert agent.frame_locator(".tandem-live iframe").locator("#password").input_value() == "******"
    assert agent.text_content(".tandem-live__presence") == "Customer connected"
    assert agent.text_content(".tandem-live__title") == "Loan application"
    assert "scale(" in agent.evaluate("document.querySelector('.replayer-wrapper').style.transform")
    received = agent.evaluate("window.received.map(([type]) => type)")
    assert {"page", "presence", "quality"} <= set(received)

    # A lost batch: the console waits for a full snapshot and asks for one.
    last_rrweb = [m for m in recorded if m["type"] == "rrweb"][-1]
    marker = last_rrweb["data"]["events"][0]
    batch = marker["data"]["payload"]["batch"]
    skipped = {**marker, "data": {**marker["data"], "payload": {"batch": batch + 2}}}
    resyncs = sum(m["type"] == "resync" for m in agent_frames)
    agent.wait_for_timeout(2100)  # resync requests are spaced two seconds apart
    FakeTandem.send(ws, "rrweb", {"page_id": last_rrweb["data"]["page_id"], "events": [skipped]}, seq=999)
    wait_until(
        agent, lambda: sum(m["type"] == "resync" for m in agent_frames) > resyncs, message="gap resync"
    )
    resync = [m for m in agent_frames if m["type"] == "resync"][-1]
    assert resync["data"] == {"from_seq": 1000}
    agent_context.close()


def test_badge_lowers_the_mode_with_the_grant(browser, site):
    context, page, server = open_shared_page(browser, site, init_script=KEEP_SHADOW_HANDLE)
    lowered = []

    def on_lower(route, request):
        lowered.append((request.url, request.headers.get("x-tandem-grant"), json.loads(request.post_data)))
        route.fulfill(json={"mode": "view_only"})

    page.route("**/api/cobrowse/sessions/*/lower/", on_lower)
    wait_until(page, lambda: server.messages(msg_type="rrweb"), message="recording")
    badge_root = "window.__roots.find((r) => r.querySelector('button.lower'))"
    hidden = page.evaluate(f"{badge_root}.querySelector('button.lower').hidden")
    assert hidden is True  # nothing to lower in view only
    server.send(server.connections[0]["ws"], "mode", {"mode": "controlled"}, seq=5)
    wait_until(
        page,
        lambda: page.evaluate(f"!{badge_root}.querySelector('button.lower').hidden"),
        message="lower button shown",
    )
    box = page.evaluate(
        f"(() => {{ const r = {badge_root}.querySelector('button.lower').getBoundingClientRect();"
        " return {x: r.x + r.width / 2, y: r.y + r.height / 2}; })()"
    )
    page.mouse.click(box["x"], box["y"])
    wait_until(page, lambda: lowered, message="lower request")
    assert lowered == [(f"{site}/api/cobrowse/sessions/7/lower/", TAB_GRANT, {"mode": "view_only"})]
    context.close()


BIG_PAGE = """
document.addEventListener("DOMContentLoaded", () => {
  const filler = "Terms and conditions apply to every loan offer shown on this page. ".repeat(20);
  const box = document.createElement("section");
  for (let i = 0; i < 400; i++) {
    const p = document.createElement("p");
    p.textContent = `${i}: ${filler}`;
    box.appendChild(p);
  }
  document.body.appendChild(box);
});
"""


def test_a_full_snapshot_larger_than_a_frame_goes_out_in_parts(browser, site):
    from cobrowse.protocol import PART_BODY_MAX, PartAssembler

    context, page, server = open_shared_page(browser, site, init_script=BIG_PAGE)
    wait_until(page, lambda: server.messages(msg_type="part"), timeout=10, message="parts")
    parts = server.messages(msg_type="part")
    assert all(len(p["data"]["body"]) <= PART_BODY_MAX for p in parts)
    assembler, whole = PartAssembler(), None
    for part in parts:
        whole = assembler.add(part["data"]) or whole
    message = json.loads(whole)
    assert message["type"] == "rrweb"
    assert any(e["type"] == 2 for e in message["data"]["events"])
    assert len(whole) > PART_BODY_MAX
    context.close()


# --- the page's own consent card -----------------------------------------------------------------

KEEP_CARD_ROOT = """
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) {
  const root = attach.call(this, init);
  if (this.getAttribute && this.getAttribute("data-tandem") === "consent") window.__cardRoot = root;
  return root;
};
"""
CARD_FOCUS = "(() => { const r = window.__cardRoot; const el = r && r.activeElement; return el ? (el.className || el.getAttribute('role')) : null; })()"


def _watch_everything(page):
    requests, sockets = [], []
    page.on("request", lambda r: requests.append(r))
    page.on("websocket", lambda ws: sockets.append(ws.url))
    return requests, sockets


def test_a_grant_in_the_address_asks_first_and_nothing_leaves_before_allow(browser, site):
    context = browser.new_context()
    page = context.new_page()
    page.add_init_script(KEEP_CARD_ROOT)
    requests, sockets = _watch_everything(page)
    server = FakeTandem(page)
    page.goto(f"{site}{HARNESS}?q=private#tandem={GRANT}")
    page.wait_for_function(CONSENT_CARD_FOCUSED)
    page.wait_for_timeout(500)

    # Before Allow: the loader, the card's chunk and its describe call; no socket, no recorder.
    urls = [r.url.split("?")[0] for r in requests if not r.url.endswith("/favicon.ico")]
    assert urls == [
        f"{site}{HARNESS}",
        f"{site}/static/dist/tandem-loader.js",
        f"{site}/static/dist/tandem-consent.js",
        f"{site}/api/cobrowse/grants/describe/",
    ]
    describe = next(r for r in requests if r.url.endswith("/describe/"))
    assert describe.method == "POST" and describe.post_data in (None, "")
    assert describe.headers["x-tandem-grant"] == GRANT
    assert not describe.headers.get("referer")
    assert sockets == [] and server.connections == [] and server.refreshes == []
    assert page.evaluate("typeof window.TandemRecorder") == "undefined"
    assert page.evaluate("sessionStorage.getItem('tandem.confirmed')") is None

    # The card: a labelled modal dialog in a closed shadow root, holding the focus.
    assert page.evaluate("document.querySelector('[data-tandem=consent]').shadowRoot") is None
    card = page.evaluate(
        """(() => { const d = window.__cardRoot.querySelector('[role=dialog]');
        return { modal: d.getAttribute('aria-modal'),
                 label: window.__cardRoot.getElementById(d.getAttribute('aria-labelledby')).textContent,
                 text: d.textContent,
                 buttons: [...d.querySelectorAll('button:not([hidden])')].map((b) => b.textContent) }; })()"""
    )
    assert card["modal"] == "true" and card["label"] == "Share this page with support?"
    assert "Agent Sam wants to see this page" in card["text"] and "not recorded" in card["text"]
    assert card["buttons"] == ["Allow", "Deny"]
    assert "wants to see" not in page.evaluate("document.body.innerText")
    assert page.evaluate(CARD_FOCUS) == "card"
    page.keyboard.press("Tab")
    assert page.evaluate(CARD_FOCUS) == "allow"
    page.keyboard.press("Tab")
    assert page.evaluate(CARD_FOCUS) == "deny"
    page.keyboard.press("Tab")
    assert page.evaluate(CARD_FOCUS) == "allow"  # Tab stays within the card
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(CARD_FOCUS) == "deny"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")

    page.wait_for_selector("[data-tandem=badge]", state="attached")
    wait_until(page, lambda: server.messages(msg_type="rrweb"), message="recording after Allow")
    assert page.locator("[data-tandem=consent]").count() == 0
    assert server.confirms == [(GRANT, {"allow": True})]
    confirm = next(r for r in requests if r.url.endswith("/confirm/"))
    assert not confirm.headers.get("referer") and "private" not in (confirm.post_data or "")
    assert server.messages(0)[0]["data"]["grant"] == TAB_GRANT
    context.close()


def test_deny_sends_nothing_and_forgets_the_grant(browser, site):
    context = browser.new_context()
    page = context.new_page()
    page.add_init_script(KEEP_CARD_ROOT)
    requests, sockets = _watch_everything(page)
    server = FakeTandem(page)
    page.goto(f"{site}{HARNESS}#tandem={GRANT}")
    page.wait_for_function(CONSENT_CARD_FOCUSED)
    page.keyboard.press("Escape")  # Escape answers Deny
    wait_until(page, lambda: server.confirms, message="the deny call")
    assert server.confirms == [(GRANT, {"allow": False})]
    wait_until(
        page,
        lambda: "Nothing from this page was shared." in page.evaluate("window.__cardRoot.textContent"),
        message="the card says so",
    )
    assert page.evaluate(CARD_FOCUS) == "close"
    assert page.evaluate("sessionStorage.length") == 0
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-tandem=consent]", state="detached")
    page.type("#name", "Ada Lovelace", delay=10)
    page.reload()
    page.wait_for_timeout(800)
    assert sockets == [] and server.connections == [] and server.refreshes == []
    assert not [r for r in requests if "tandem-recorder.js" in r.url]
    assert len(server.describes) == 1  # the reload found no grant: no card, nothing loaded
    context.close()


def test_a_grant_stored_but_not_confirmed_asks_again_on_the_next_page(browser, site):
    context = browser.new_context()
    page = context.new_page()
    server = FakeTandem(page)
    page.goto(f"{site}{HARNESS}#tandem={GRANT}")
    page.wait_for_function(CONSENT_CARD_FOCUSED)
    page.evaluate("document.getElementById('next').click()")  # left without answering
    page.wait_for_url("**step=2")
    answer_consent_card(page)
    page.wait_for_selector("[data-tandem=badge]", state="attached")
    assert server.describes == [GRANT, GRANT] and server.confirms == [(GRANT, {"allow": True})]
    context.close()


def test_a_grant_in_the_address_asks_even_in_a_tab_that_confirmed(browser, site):
    """An agent could paste a tab grant: from the address bar it is asked about like any other."""
    context, page, server = open_shared_page(browser, site)
    wait_until(page, lambda: server.connections, message="sharing")
    page.goto(f"{site}{HARNESS}?step=2#tandem={TAB_GRANT}")
    page.wait_for_function(CONSENT_CARD_FOCUSED)
    assert server.describes == [GRANT, TAB_GRANT]
    assert page.evaluate("sessionStorage.getItem('tandem.confirmed')") is None
    page.wait_for_timeout(300)
    assert len(server.connections) == 1  # the second page has not connected
    context.close()
