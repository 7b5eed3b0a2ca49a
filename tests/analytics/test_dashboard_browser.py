"""The dashboard's charts in real Chromium: a manager signs in through the login page, opens
/manager/ and sees four charts drawn (pixels on each canvas) under the page's own CSP, with no console
error; axe finds nothing serious. An agent's /agent/performance/ draws their own charts the same way.

A full-page screenshot goes to the test's tmp dir; with ``SAVE_SCREENSHOTS=1`` also to
docs/img/dashboard.png (the picture in docs/manager-pages.md), so a normal run never rewrites docs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from demo.history import seed_history
from tests.a11y import assert_accessible
from tests.factories import make_account, make_user
from tests.live_server import login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("built_bundles"),
]

DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "dashboard.png"
CHARTS = ("days", "csat", "modes", "durations")

# Collects what the CSP refused (the event fires for every violation, reported or not).
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""

# A canvas counts as drawn when Chart.js sized it and painted non-transparent pixels on it.
PAINTED = """(name) => {
  const canvas = document.querySelector(`canvas[data-chart="${name}"]`);
  if (!canvas || canvas.dataset.drawn !== "1" || !canvas.width || !canvas.height) return 0;
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) painted++;
  return painted;
}"""


@pytest.fixture
def history(db):
    """Thirty days of the demo's seeded history (about 800 sessions) over four named agents."""
    acme, globex = make_account("Acme Home Loans"), make_account("Globex")
    customers = [
        make_user("dana", account=acme, first_name="Dana", last_name="Whitfield"),
        make_user("omar", account=acme, first_name="Omar", last_name="Haddad"),
        make_user("lena", account=globex, first_name="Lena", last_name="Kowalski"),
    ]
    agents = [
        make_user(username, role="agent", agent_level=level, first_name=first, last_name=last)
        for username, level, first, last in (
            ("priya", "L2", "Priya", "Raman"),
            ("marco", "L2", "Marco", "Bellini"),
            ("aisha", "L3", "Aisha", "Okafor"),
            ("tom", "L2", "Tom", "Becker"),
        )
    ]
    assert seed_history(30, agents, customers) > 500
    return agents


def _open(browser, *, reduced_motion: str = "reduce"):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, reduced_motion=reduced_motion)
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return context, page, problems


def _wait_for_charts(page) -> dict[str, int]:
    for name in CHARTS:
        page.wait_for_function(f"({PAINTED})({name!r}) > 500", timeout=15_000)
    return {name: page.evaluate(PAINTED, name) for name in CHARTS}


def test_a_manager_sees_the_dashboard_charts(live_server_asgi, browser, manager, history, tmp_path):
    context, page, problems = _open(browser)
    try:
        login(page, live_server_asgi.url, manager.username)
        response = page.goto(f"{live_server_asgi.url}/manager/")
        assert response is not None and response.status == 200
        assert "'unsafe-inline'" not in response.headers["content-security-policy"]
        painted = _wait_for_charts(page)
        assert all(n > 500 for n in painted.values()), painted
        sizes = page.eval_on_selector_all(
            "canvas[data-chart]", "cs => cs.map(c => [c.clientWidth, c.clientHeight])"
        )
        assert len(sizes) == 4 and all(w > 200 and h > 150 for w, h in sizes), sizes
        labels = page.eval_on_selector_all(
            "canvas[role=img]", "cs => cs.map(c => c.getAttribute('aria-label'))"
        )
        assert all(label and "none" not in label for label in labels), labels
        assert page.evaluate("window.__cspViolations") == []
        assert problems == []
        assert_accessible(page, name="dashboard with charts")
        shot = tmp_path / "dashboard.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 20_000
        if os.environ.get("SAVE_SCREENSHOTS") == "1":
            DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, DOCS_SCREENSHOT)
    finally:
        context.close()


def test_an_agent_sees_their_own_charts(live_server_asgi, browser, history):
    priya = history[0]
    context, page, problems = _open(browser, reduced_motion="no-preference")  # animated, as by default
    try:
        login(page, live_server_asgi.url, priya.username)
        page.goto(f"{live_server_asgi.url}/agent/performance/")
        _wait_for_charts(page)
        own = page.locator("[data-figure=sessions]").inner_text()
        assert f"{own} sessions" in page.locator("canvas[data-chart=days]").get_attribute("aria-label")
        assert page.evaluate("window.__cspViolations") == []
        assert problems == []
    finally:
        context.close()
