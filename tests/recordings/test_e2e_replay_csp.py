"""In real Chromium: the replay page plays under its strict Content-Security-Policy without a single
violation, and replayed customer content never makes the agent's browser request Tandem's URLs
(absolute, scheme-relative or relative: inside the replay iframe those would resolve to Tandem)."""

from __future__ import annotations

import copy

import pytest

from tests.live_server import login
from tests.recordings.rec_helpers import (  # noqa: F401
    BASE_TS,
    build_recording,
    recorded_session,
    recording_env,
    rrweb_stream,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("built_bundles"),
]


@pytest.fixture
def server(request):
    request.getfixturevalue("recording_env")  # keys and media root are set before the server forks
    return request.getfixturevalue("live_server_asgi")


def _hostile_items(tandem: str) -> list[dict]:
    """A recorded customer page whose content points at Tandem in every way a rebuild would load."""
    events = rrweb_stream()
    snapshot = copy.deepcopy(events[1])
    head, body = snapshot["data"]["node"]["childNodes"][1]["childNodes"]
    host = tandem.split("//", 1)[1]
    head["childNodes"] += [
        {"type": 2, "tagName": "link", "id": 50, "childNodes": [],
         "attributes": {"rel": "stylesheet", "href": f"{tandem}/probe-link.css"}},
        {"type": 2, "tagName": "style", "id": 51, "attributes": {}, "childNodes": [
            {"type": 3, "id": 52, "isStyle": True,
             "textContent": f"#title {{ background: url({tandem}/probe-style-text.png) }}"}]},
    ]  # fmt: skip
    body["childNodes"] += [
        {"type": 2, "tagName": "img", "id": 60, "childNodes": [], "attributes": {"src": f"{tandem}/probe-img.png"}},
        {"type": 2, "tagName": "img", "id": 61, "childNodes": [], "attributes": {"src": f"//{host}/probe-scheme-relative.png"}},
        {"type": 2, "tagName": "img", "id": 62, "childNodes": [], "attributes": {"src": "/probe-relative.png"}},
        {"type": 2, "tagName": "img", "id": 63, "childNodes": [],
         "attributes": {"srcset": f"{tandem}/probe-srcset.png 1x, /probe-srcset-relative.png 2x"}},
        {"type": 2, "tagName": "div", "id": 64, "childNodes": [],
         "attributes": {"style": f"width:10px;height:10px;background-image:url('{tandem}/probe-style-attr.png')"}},
        {"type": 2, "tagName": "video", "id": 65, "childNodes": [], "attributes": {"poster": f"{tandem}/probe-poster.png"}},
    ]  # fmt: skip
    later = {
        "type": 3,
        "timestamp": BASE_TS + 2000,
        "data": {
            "source": 0, "texts": [], "removes": [],
            "adds": [{"parentId": 4, "nextId": None, "node": {
                "type": 2, "tagName": "img", "id": 70, "childNodes": [], "attributes": {"src": "/probe-added.png"}}}],
            "attributes": [{"id": 60, "attributes": {"src": f"{tandem}/probe-changed.png"}}],
        },
    }  # fmt: skip
    rule = {
        "type": 3,
        "timestamp": BASE_TS + 2500,
        "data": {
            "source": 8,
            "id": 51,
            "adds": [{"rule": f"h1 {{ background: url({tandem}/probe-rule.png) }}", "index": 0}],
        },
    }
    stream = [events[0], snapshot, events[2], later, rule, *events[3:]]
    return [
        {"type": "rrweb", "seq": 1, "ts": BASE_TS + 10, "data": {"events": stream[:2], "page_id": "p1"}},
        {"type": "rrweb", "seq": 2, "ts": BASE_TS + 2500, "data": {"events": stream[2:5], "page_id": "p1"}},
        {"type": "rrweb", "seq": 3, "ts": BASE_TS + 9000, "data": {"events": stream[5:], "page_id": "p1"}},
    ]


def test_replay_plays_without_csp_violations_and_never_requests_tandem(
    server, browser, agent, customer, manager
):
    recording = build_recording(recorded_session(agent, customer), _hostile_items(server.url))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requests: list[str] = []
    console: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        login(page, server.url, manager.username)
        response = page.goto(f"{server.url}/manager/recordings/{recording.pk}/")
        policy = response.headers["content-security-policy"]
        assert (
            "script-src 'self'" in policy
            and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
        )
        assert "default-src 'none'" in policy
        page.evaluate(
            """() => { window.__violations = [];
                document.addEventListener('securitypolicyviolation',
                  (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`)); }"""
        )
        page.wait_for_selector("body[data-replay-ready='1']", timeout=15_000)
        frame = page.wait_for_selector("#replay-player iframe", state="attached").content_frame()
        frame.wait_for_selector("#title", state="attached", timeout=5_000)
        assert frame.inner_text("#title") == "Loan application"
        page.select_option("[data-testid=replay-speed]", "4")
        page.click("[data-testid=replay-play]")
        frame.wait_for_selector(
            "img[src='https://loans.example/probe-added.png']", state="attached", timeout=8_000
        )
        page.wait_for_timeout(500)  # let anything the rebuild started go out

        probes = [url for url in requests if "probe" in url]
        assert not [url for url in probes if url.startswith(server.url)], probes
        # Relative URLs now point at the recorded page's own origin, as they did for the customer.
        assert (
            frame.get_attribute("img[src$='probe-relative.png']", "src")
            == "https://loans.example/probe-relative.png"
        )
        violations = page.evaluate("window.__violations")
        assert not violations, violations
        assert not [line for line in console if "Content Security Policy" in line], console
        assert not errors, errors
    finally:
        context.close()
