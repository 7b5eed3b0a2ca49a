"""axe-core in Chromium: a page's WCAG 2.1 A/AA findings, and an assertion that none is serious.

axe is evaluated through the DevTools protocol (``page.evaluate``), which the pages' strict
Content-Security-Policy (``script-src 'self'``) does not govern, so the pages are checked under the
policy they really ship with. Frames are not entered: the only frames on Tandem's pages are the
replays of a customer's page, whose content is the customer's, not Tandem's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE_PATH = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = frozenset({"serious", "critical"})

_RUN = """async ([context, tags]) => {
  const results = await axe.run(context || document, {
    runOnly: {type: "tag", values: tags}, iframes: false, resultTypes: ["violations"],
  });
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({target: n.target, summary: n.failureSummary})),
  }));
}"""


def _ensure_axe(page) -> None:
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_PATH.read_text(encoding="utf-8"))


def violations(page, context: Any = None) -> list[dict]:
    """Every WCAG 2.1 A/AA violation axe finds on the page (or within ``context``, an axe context:
    a selector, or ``{"include": [...], "exclude": [...]}``)."""
    _ensure_axe(page)
    return page.evaluate(_RUN, [context, WCAG_TAGS])


def serious(found: list[dict]) -> list[dict]:
    return [v for v in found if v["impact"] in FAILING_IMPACTS]


def count_nodes(found: list[dict]) -> int:
    """Failing elements: what "7 contrast failures on the queue" counts."""
    return sum(len(v["nodes"]) for v in found)


def describe(found: list[dict]) -> str:
    lines = []
    for v in found:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        lines.extend(f"    {node['target']}: {node['summary']}" for node in v["nodes"])
    return "\n".join(lines)


def assert_accessible(page, context: Any = None, *, name: str = "") -> None:
    """Fail when axe finds a serious or critical WCAG 2.1 A/AA violation on the page."""
    bad = serious(violations(page, context))
    label = name or page.url
    assert not bad, f"{label}: {count_nodes(bad)} serious/critical elements\n{describe(bad)}"
