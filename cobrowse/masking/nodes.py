"""What the redactor knows of a page's nodes: rrweb's numbers, the markings, and the page state.

rrweb node ids restart on every page load, so everything here is per page (:class:`PageState`): the
tree's parent links, each element's tag and relevant attributes, and which nodes are sensitive or
blocked. A marking holds for the node's whole subtree (:func:`status_of`) and is sticky for the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeGuard

# rrweb 2.x EventType, IncrementalSource and serialized NodeType values.
EV_FULL_SNAPSHOT, EV_INCREMENTAL, EV_META = 2, 3, 4
SRC_MUTATION, SRC_INPUT = 0, 5
NODE_DOCUMENT, NODE_DOCTYPE, NODE_ELEMENT, NODE_TEXT, NODE_CDATA, NODE_COMMENT = 0, 1, 2, 3, 4, 5

# A node's marking: relayed (patterns only), masked (values, text and attributes) or blocked (dropped).
PLAIN, MASKED, BLOCKED = 0, 1, 2
MAX_NODE_DEPTH = 250  # deeper subtrees are dropped (fail closed)


def is_id(value: Any) -> TypeGuard[int]:
    """An rrweb node id (an int, never a bool or a float)."""
    return type(value) is int


@dataclass(frozen=True)
class NodeFacts:
    tag: str
    input_type: str
    autocomplete: str
    masked: bool
    in_form: bool

    @property
    def submits_on_click(self) -> bool:
        """A click here would submit a form: submit/image inputs, or a button that defaults to submit."""
        if self.tag == "input" and self.input_type in ("submit", "image"):
            return True
        return self.tag == "button" and self.input_type in ("", "submit") and self.in_form


@dataclass
class PageState:
    parents: dict[int, int] = field(default_factory=dict)
    elements: dict[int, tuple[str, dict[str, str]]] = field(default_factory=dict)
    sensitive: set[int] = field(default_factory=set)
    blocked: set[int] = field(default_factory=set)
    sensitive_dom_ids: set[str] = field(default_factory=set)
    sensitive_names: set[str] = field(default_factory=set)
    # Short inputs by each of their close ancestors: a value split over several boxes.
    segments: dict[int, set[int]] = field(default_factory=dict)
    # Short text nodes with digits (as relayed) and, by block, which of them it holds: a mutation
    # that completes a number split over nodes masks the nodes relayed before, too.
    digit_texts: dict[int, str] = field(default_factory=dict)
    block_texts: dict[int, list[int]] = field(default_factory=dict)
    touched: list[int] = field(default_factory=list)
    styles: set[int] = field(default_factory=set)  # <style> elements: their text is CSS
    editable: set[int] = field(default_factory=set)  # contenteditable elements: their text is typed
    # While one snapshot or batch of adds is redacted: the relayed attributes of its inputs.
    out_inputs: dict[int, dict] = field(default_factory=dict)


#: Beyond this many nodes held for one page, the relay asks the page for a full snapshot, which
#: rebuilds the state from the page's DOM as it is (dropping subtrees removed meanwhile).
MAX_TRACKED_NODES = 50_000


def forget_node(state: PageState, node_id: int) -> None:
    """A removed node's structure goes with it, so a page whose DOM churns for the whole session
    (toasts, validation hints, live lists) keeps state for the nodes it has, not every node it
    ever had. Its markings stay: they are a few integers, and a node moved elsewhere comes back
    with the same id. Descendants of a removed subtree stay until the next full snapshot (the
    relay asks for one when a page tracks more than ``MAX_TRACKED_NODES``)."""
    state.parents.pop(node_id, None)
    state.elements.pop(node_id, None)
    state.digit_texts.pop(node_id, None)
    state.segments.pop(node_id, None)
    state.block_texts.pop(node_id, None)
    state.styles.discard(node_id)
    state.editable.discard(node_id)


def status_of(state: PageState, node_id: Any) -> int:
    """The strongest marking on the node or any of its ancestors."""
    if not is_id(node_id):
        return PLAIN
    status, seen = PLAIN, 0
    while node_id is not None and seen <= MAX_NODE_DEPTH:
        if node_id in state.blocked:
            return BLOCKED
        if node_id in state.sensitive:
            status = MASKED
        node_id = state.parents.get(node_id)
        seen += 1
    return status


def mark(state: PageState, node_id: Any, status: int, attrs: dict[str, str]) -> None:
    """Mark a node sensitive or blocked for the rest of the page, with its DOM id and name."""
    if not is_id(node_id) or status == PLAIN:
        return
    (state.blocked if status == BLOCKED else state.sensitive).add(node_id)
    if attrs.get("id"):
        state.sensitive_dom_ids.add(attrs["id"])
    if attrs.get("name"):
        state.sensitive_names.add(attrs["name"])


def link_subtree(state: PageState, node: dict, depth: int) -> None:
    """Remember a blocked element's dropped descendants so their later mutations are dropped too."""
    stack = [(node, depth)]
    while stack:
        current, level = stack.pop()
        children = current.get("childNodes")
        if not isinstance(children, list) or level > MAX_NODE_DEPTH:
            continue
        for child in children:
            if isinstance(child, dict):
                if is_id(child.get("id")) and is_id(current.get("id")):
                    state.parents[child["id"]] = current["id"]
                stack.append((child, level + 1))


def in_editable(state: PageState, node_id: Any) -> bool:
    """Whether a node is inside a contenteditable element: what it holds is typed there."""
    seen = 0
    while is_id(node_id) and seen <= MAX_NODE_DEPTH:
        if node_id in state.editable:
            return True
        node_id, seen = state.parents.get(node_id), seen + 1
    return False


def in_style(state: PageState, node_id: Any) -> bool:
    """Whether a text node is the text of a ``<style>`` element (CSS, not page text)."""
    parent = state.parents.get(node_id) if is_id(node_id) else None
    return parent is not None and state.elements.get(parent, ("",))[0] == "style"
