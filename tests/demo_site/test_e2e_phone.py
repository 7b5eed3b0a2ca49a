"""The widget on a phone: a 375 by 667 touch screen (Playwright's mobile emulation, touch events).

The consent card fits the width (no sideways scroll) with buttons at least 44 px tall that a tap
reaches; the badge stays on screen and its Stop sharing works by tap; a help prompt fits and a tap
dismisses it, another tap on Get help asks; a guidance label stays within the screen and an agent's
request sits clear of the badge and is answered by tap; the help card and its waiting card fit, and
Allow and Cancel work by tap. Taps go through the touchscreen at the middle of each
button, and the test checks that the button is what is under that point."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from cobrowse.models import SessionState
from consent.models import HelpRequest
from demo_site.server import SITE_KEY, make_server, serve_in_thread
from tests.cobrowse.test_e2e_device_consent import KEEP_CARD_ROOT, _agent_decides_on_the_link, _setup
from tests.cobrowse.test_e2e_live import session_state, wait_until
from tests.cobrowse.test_widget_browser import GRANT, FakeTandem, _StaticHandler
from tests.cobrowse.test_widget_guidance_browser import (
    HARNESS,
    KEEP_ROOTS,
    drawn,
    node_ids,
    page_id,
    prompt_texts,
    sent,
    to_customer,
)
from tests.cobrowse.test_widget_guidance_browser import PAGE as GUIDANCE_PAGE
from tests.demo_site.test_e2e_help_request import OPEN_ROOTS as HELP_ROOTS
from tests.demo_site.test_e2e_help_request import signed_help_demo
from tests.demo_site.test_e2e_help_triggers import OPEN_PROMPT
from tests.live_server import CONSENT_CARD_FOCUSED, KEEP_BADGE_ROOT, answer_consent_card

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("built_bundles"),
]

PHONE = {
    "viewport": {"width": 375, "height": 667},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
MIN_TARGET_PX = 44
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# A button inside a (kept) shadow root: its box, and whether it is what a tap at its middle hits.
BOX = """([rootName, selector]) => {
  const root = window[rootName];
  const el = root.querySelector(selector);
  const r = el.getBoundingClientRect();
  const x = r.left + r.width / 2, y = r.top + r.height / 2;
  return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width, height: r.height,
          x, y, hit: root.elementFromPoint(x, y) === el};
}"""
NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"


def box(page, root: str, selector: str) -> dict:
    return page.evaluate(BOX, [root, selector])


def assert_tappable(page, root: str, selector: str) -> dict:
    """On screen, at least 44 px tall, and the topmost thing at its middle; returns its box."""
    b = box(page, root, selector)
    assert b["height"] >= MIN_TARGET_PX, (selector, b)
    assert b["left"] >= 0 and b["right"] <= 375 and b["top"] >= 0 and b["bottom"] <= 667, (selector, b)
    assert b["hit"], (selector, "covered at its middle", b)
    return b


def tap(page, root: str, selector: str) -> None:
    b = assert_tappable(page, root, selector)
    page.touchscreen.tap(b["x"], b["y"])


def phone(browser, *init_scripts: str):
    context = browser.new_context(**PHONE)
    for script in init_scripts:
        context.add_init_script(script)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, errors


def test_consent_card_and_badge_on_a_phone(browser, live_server_asgi, demo_site):
    base = live_server_asgi.url
    session, token, _ticket = _setup(demo_site, "phone")
    pasted = _agent_decides_on_the_link(browser, base, token)
    context, page, errors = phone(browser, KEEP_CARD_ROOT, KEEP_BADGE_ROOT)
    try:
        page.goto(pasted)
        page.wait_for_function(CONSENT_CARD_FOCUSED, timeout=10000)
        assert page.evaluate("() => matchMedia('(pointer: coarse)').matches")
        assert page.evaluate("() => window.innerWidth") == 375
        card = box(page, "__cardRoot", "[role=dialog]")
        assert card["left"] >= 0 and card["right"] <= 375 and card["bottom"] <= 667, card
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        assert_tappable(page, "__cardRoot", ".deny")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "phone-consent-card.png"))
        tap(page, "__cardRoot", ".allow")

        page.wait_for_selector("[data-tandem=badge]", state="attached", timeout=10000)
        wait_until(page, lambda: session_state(session.pk) == SessionState.ACTIVE, message="active")
        page.wait_for_function("() => !!window.__badgeRoot.querySelector('.badge')")
        badge = box(page, "__badgeRoot", ".badge")
        assert badge["left"] >= 0 and badge["right"] <= 375 and badge["bottom"] <= 667, badge
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        page.screenshot(path=str(ARTIFACTS / "phone-badge.png"))
        tap(page, "__badgeRoot", ".stop")
        wait_until(page, lambda: session_state(session.pk) == SessionState.REVOKED, message="revoked")
        page.wait_for_function(
            "() => window.__badgeRoot.querySelector('.who').textContent.includes('stopped')"
        )
        tap(page, "__badgeRoot", ".stop")  # now "Close"
        page.wait_for_selector("[data-tandem=badge]", state="detached", timeout=5000)
        assert errors == []
    finally:
        context.close()


@pytest.fixture
def help_site(live_server_asgi):
    """The demo site with help on and a one-second stall (no user, so no signature to check)."""
    init = {"site": SITE_KEY, "help": True, "stallThresholdMs": 1000}
    server = make_server("localhost", 0, live_server_asgi.url, quiet=True, tandem_init=init)
    serve_in_thread(server)
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_help_prompt_on_a_phone_fits_and_answers_taps(browser, help_site):
    context, page, errors = phone(browser, OPEN_PROMPT)
    try:
        page.goto(f"{help_site}/apply/address")
        page.wait_for_function("() => !!window.TandemTriggers", timeout=10000)
        assert page.evaluate(NO_SIDEWAYS_SCROLL)

        page.tap("#pin-code")
        page.wait_for_selector("[data-tandem=help-prompt]", state="attached", timeout=10000)
        card = box(page, "__prompt", ".card")
        assert card["left"] >= 0 and card["right"] <= 375 and card["bottom"] <= 667, card
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        assert_tappable(page, "__prompt", ".help")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "phone-help-prompt.png"))
        tap(page, "__prompt", ".close")
        page.wait_for_selector("[data-tandem=help-prompt]", state="detached", timeout=5000)

        page.tap("#city")
        page.wait_for_selector("[data-tandem=help-prompt]", state="attached", timeout=10000)
        tap(page, "__prompt", ".help")
        page.wait_for_selector("[data-tandem=help-prompt]", state="detached", timeout=5000)
        assert [(h["trigger"], h["field"]) for h in page.evaluate("window.__help")] == [("stall", "city")]
        assert errors == []
    finally:
        context.close()


# Guidance and an agent's request on a phone, on the widget's own test page against a fake Tandem
# (tests/cobrowse/test_widget_guidance_browser.py), with the viewport tag every mobile site has.
PHONE_PAGE = GUIDANCE_PAGE.replace(
    '<meta charset="utf-8">',
    '<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
)
LONG_LABEL = "Pick the city printed on your Aadhaar card, not the one you live in now, if they differ"


@pytest.fixture
def widget_site():
    """Tandem's static files alone (the bundles built by built_bundles), for the fake Tandem."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StaticHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_guidance_and_an_agent_request_on_a_phone(browser, widget_site):
    site = widget_site
    context, page, _errors = phone(browser, KEEP_ROOTS)
    try:
        page.route(f"{site}{HARNESS}", lambda route: route.fulfill(body=PHONE_PAGE, content_type="text/html"))
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
            "annotate",
            {"kind": "text", "page_id": pid, "node_id": ids["city"], "text": LONG_LABEL},
        )
        wait_until(page, lambda: drawn(page, "text"), message="the label")
        page.wait_for_timeout(100)
        (label,) = drawn(page, "text")
        assert label["left"] >= 0 and label["left"] + label["width"] <= 375, label
        assert page.evaluate(NO_SIDEWAYS_SCROLL)

        ask = {"kind": "type", "node_id": ids["name"], "page_id": pid, "value": "Ada", "agent_name": "Sam"}
        to_customer(page, server, "action_request", {**ask, "request_id": "action:1"})
        wait_until(page, lambda: prompt_texts(page), message="the prompt")
        page.evaluate(
            "() => { window.__prompts = window.__roots.prompts; window.__badge = window.__roots.badge; }"
        )
        stack = box(page, "__prompts", ".stack")
        badge = box(page, "__badge", ".badge")
        assert stack["left"] >= 0 and stack["right"] <= 375 and stack["top"] >= 0, stack
        assert stack["bottom"] <= badge["top"] or stack["top"] >= badge["bottom"], (stack, badge)
        assert_tappable(page, "__prompts", ".ask .deny")
        page.screenshot(path=str(ARTIFACTS / "phone-guidance.png"))
        tap(page, "__prompts", ".ask .allow")
        wait_until(page, lambda: sent(server, "action_result"), message="the result")
        assert sent(server, "action_result") == [{"request_id": "action:1", "ok": True, "detail": "typed"}]
        assert page.input_value("#name") == "Ada"
    finally:
        context.close()


@pytest.fixture
def signed_help_site(live_server_asgi):
    with signed_help_demo(live_server_asgi.url, stall_ms=1000) as (url, _customer):
        yield url


def test_the_help_card_on_a_phone_fits_and_answers_taps(browser, signed_help_site):
    """Get help on a phone: the help card and its "Waiting for an agent…" card fit the screen, with
    buttons a thumb can hit; Allow and Cancel work by tap."""
    site = signed_help_site
    context, page, errors = phone(browser, HELP_ROOTS)
    try:
        page.goto(f"{site}/apply/address")
        page.wait_for_function("() => !!window.TandemTriggers", timeout=10000)
        page.tap("#pin-code")
        page.wait_for_selector("[data-tandem=help-prompt]", state="attached", timeout=10000)
        page.wait_for_function("() => window.__prompt && window.__prompt.querySelector('.help')")
        tap(page, "__prompt", ".help")

        page.wait_for_selector("[data-tandem=help]", state="attached", timeout=10000)
        page.wait_for_function("() => window.__help && window.__help.querySelector('.allow').textContent")
        card = box(page, "__help", ".card")
        assert card["left"] >= 0 and card["right"] <= 375 and card["bottom"] <= 667, card
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        assert_tappable(page, "__help", ".deny")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "phone-help-card.png"))
        tap(page, "__help", ".allow")

        page.wait_for_function(
            "() => window.__help.querySelector('.status .text').textContent === 'Waiting for an agent…'",
            timeout=10000,
        )
        status = box(page, "__help", ".status")
        assert status["left"] >= 0 and status["right"] <= 375 and status["bottom"] <= 667, status
        assert HelpRequest.objects.get().state == "waiting"
        tap(page, "__help", ".cancel")
        wait_until(page, lambda: HelpRequest.objects.get().state == "cancelled", message="cancelled")
        assert errors == []
    finally:
        context.close()
