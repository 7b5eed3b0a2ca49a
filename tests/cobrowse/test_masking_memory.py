"""The redactor's per-page state follows the page's DOM: nodes removed are forgotten, so a page whose
DOM churns for a whole session does not grow the relay's memory without bound."""

from __future__ import annotations

from cobrowse.masking import Redactor

PAGE = "p1"


def _snapshot() -> dict:
    form = {
        "type": 2,
        "tagName": "form",
        "attributes": {},
        "id": 5,
        "childNodes": [
            {"type": 2, "tagName": "input", "attributes": {"type": "password"}, "childNodes": [], "id": 6},
            {"type": 2, "tagName": "input", "attributes": {"type": "text"}, "childNodes": [], "id": 7},
        ],
    }
    body = {"type": 2, "tagName": "body", "attributes": {}, "childNodes": [form], "id": 4}
    html = {"type": 2, "tagName": "html", "attributes": {}, "childNodes": [body], "id": 2}
    return {"type": 2, "data": {"node": {"type": 0, "childNodes": [html], "id": 1}}, "timestamp": 1}


def _hint(node_id: int, removes: list[int]) -> dict:
    """A validation hint added under the form, older ones removed (what live pages do all day)."""
    span = {"type": 2, "tagName": "span", "attributes": {"role": "alert"}, "childNodes": [], "id": node_id}
    data = {
        "source": 0,
        "adds": [{"parentId": 5, "nextId": None, "node": span}],
        "removes": [{"parentId": 5, "id": r} for r in removes],
        "texts": [],
        "attributes": [],
    }
    return {"type": 3, "data": data, "timestamp": 2}


def test_nodes_added_and_removed_all_session_long_leave_no_state_behind():
    redactor = Redactor([])
    redactor.redact_events([_snapshot()], PAGE)
    start = redactor.tracked_nodes(PAGE)
    live: list[int] = []
    for node_id in range(1000, 6000):
        removes = [live.pop(0)] if len(live) >= 4 else []
        live.append(node_id)
        redactor.redact_events([_hint(node_id, removes)], PAGE)
    assert redactor.tracked_nodes(PAGE) == start + 4  # the hints on the page now, not 5,000


def test_a_sensitive_node_moved_elsewhere_stays_masked():
    redactor = Redactor([])
    redactor.redact_events([_snapshot()], PAGE)
    moved = {
        "type": 3,
        "timestamp": 3,
        "data": {
            "source": 0,
            "removes": [{"parentId": 5, "id": 6}],
            "adds": [
                {
                    "parentId": 4,
                    "nextId": None,
                    "node": {"type": 2, "tagName": "input", "attributes": {"type": "password"}, "id": 6},
                }
            ],
            "texts": [],
            "attributes": [],
        },
    }
    redactor.redact_events([moved], PAGE)
    typed = {"type": 3, "timestamp": 4, "data": {"source": 5, "id": 6, "text": "hunter2", "isChecked": False}}
    (out,) = redactor.redact_events([typed], PAGE)
    assert "hunter2" not in str(out)
    facts = redactor.node_facts(PAGE, 6)
    assert facts is not None and facts.masked
