"""The redactor: one co-browse session's customer messages, made safe before they are relayed.

A :class:`Redactor` per session keeps, for each ``page_id``, what it has seen of the page's nodes
(:mod:`cobrowse.masking.nodes`), so an input event for a sensitive field is masked even when its
value looks harmless. Each rrweb event, mutation, input and page-context field goes through the
element rules (:mod:`cobrowse.masking.elements`), the value and attribute rules
(:mod:`cobrowse.masking.values`), the URL rules (:mod:`cobrowse.masking.url`) and the layout rules
(:mod:`cobrowse.masking.layout`). Inputs are never mutated; an event that cannot be made safe is
dropped.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from cobrowse.masking.elements import ElementRules
from cobrowse.masking.layout import (
    BOUNDARY,
    CELL_JOIN,
    CELL_TAGS,
    DIGIT,
    INLINE_TAGS,
    MAX_FRAGMENTS,
    SHORT_TEXT,
    SKIP_TAGS,
    SPACE,
    check_fragments,
    remask_blocks,
    remember_text,
    segment,
)
from cobrowse.masking.nodes import (
    BLOCKED,
    EV_FULL_SNAPSHOT,
    EV_INCREMENTAL,
    EV_META,
    MASKED,
    MAX_NODE_DEPTH,
    NODE_CDATA,
    NODE_COMMENT,
    NODE_ELEMENT,
    NODE_TEXT,
    PLAIN,
    SRC_INPUT,
    SRC_MUTATION,
    NodeFacts,
    PageState,
    forget_node,
    in_editable,
    in_style,
    is_id,
    link_subtree,
    mark,
    status_of,
)
from cobrowse.masking.url import redact_url
from cobrowse.masking.values import (
    CSS_ATTRS,
    FORM_TAGS,
    SCALARS,
    STRUCTURAL_ATTRS,
    UNSCANNED_ATTRS,
    URL_ATTRS,
    mask_value,
    redact_json,
    typed_value,
)
from cobrowse.protocol import Message
from masking.patterns import MASK, redact_css, redact_text, redact_typed_value

#: Elements a signal's ``field`` names (the widget reports inputs, selects and text areas).
FIELD_TAGS = frozenset({"input", "select", "textarea"})

logger = logging.getLogger(__name__)


class Redactor(ElementRules):
    """Redacts one co-browse session's messages; keeps per-page node state between messages.

    ``strict`` re-raises unexpected errors (for tests); otherwise an event that fails is dropped and
    logged, so a redaction bug fails closed.
    """

    def __init__(self, selectors: Iterable[str] = (), *, max_pages: int = 16, strict: bool = False) -> None:
        super().__init__(selectors)
        self.max_pages = max_pages
        self.strict = strict
        self.dropped = 0
        self._pages: OrderedDict[str, PageState] = OrderedDict()

    # -- public API ----------------------------------------------------------------------------

    def redact_message(self, message: Message | dict) -> Message | dict:
        """Redact a customer message (a parsed :class:`Message` or an envelope dict) by its type."""
        if isinstance(message, Message):
            return replace(message, data=self.redact_data(message.type, message.data))
        if not isinstance(message, dict):
            return redact_json(message)
        out = {k: redact_json(v) for k, v in message.items() if k != "data"}
        if "data" in message:
            out["data"] = self.redact_data(message.get("type"), message["data"])
        return out

    def redact_data(self, msg_type: Any, data: Any) -> Any:
        if not isinstance(data, dict):
            return redact_json(data)
        if msg_type == "rrweb":
            out = {k: redact_json(v) for k, v in data.items() if k != "events"}
            if "events" in data:
                out["events"] = self.redact_events(data["events"], data.get("page_id"))
            return out
        if msg_type == "page":
            return self.redact_page(data)
        if msg_type == "hello":
            out = {k: redact_json(v) for k, v in data.items()}
            if isinstance(data.get("url"), str):
                out["url"] = redact_url(data["url"])
            return out
        return redact_json(data)

    def redact_events(self, events: Any, page_id: Any = None) -> list:
        """Redact a batch of rrweb events of one page; events that cannot be made safe are dropped."""
        if not isinstance(events, list):
            return []
        state = self._page(page_id)
        out = []
        for event in events:
            try:
                redacted = self._event(state, event)
            except Exception:
                if self.strict:
                    raise
                self.dropped += 1
                logger.warning("dropped an rrweb event that could not be redacted", exc_info=True)
                continue
            if redacted is not None:
                out.append(redacted)
        return out

    def redact_page(self, data: Any) -> Any:
        """Redact a page-context message's data (fields, URL, title)."""
        if not isinstance(data, dict):
            return redact_json(data)
        state = self._page(data.get("page_id"))
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key == "url" and isinstance(value, str):
                out[key] = redact_url(value)
            elif key == "fields" and isinstance(value, list):
                out[key] = [f for f in (self._field(state, item) for item in value) if f is not None]
            else:
                out[key] = redact_json(value)
        return out

    def node_facts(self, page_id: Any, node_id: Any) -> NodeFacts | None:
        """What the server knows of one element of a page (for policy checks on agent actions).

        ``None`` for a node the server has not seen (stale, unknown page, or not an element).
        """
        key = page_id if isinstance(page_id, str) else ""
        state = self._pages.get(key)
        if state is None or not is_id(node_id) or node_id not in state.elements:
            return None
        tag, info = state.elements[node_id]
        in_form, ancestor, seen = False, state.parents.get(node_id), 0
        while ancestor is not None and seen <= MAX_NODE_DEPTH:
            if state.elements.get(ancestor, ("", {}))[0] == "form":
                in_form = True
                break
            ancestor, seen = state.parents.get(ancestor), seen + 1
        return NodeFacts(
            tag=tag,
            input_type=info.get("type", "").lower() if tag in ("input", "button") else "",
            autocomplete=info.get("autocomplete", "").lower(),
            masked=status_of(state, node_id) != PLAIN,
            in_form=in_form,
        )

    def field_key(self, page_id: Any, node_id: Any) -> str:
        """The id (else the name) of the form field a node is, or sits in: how the widget names fields
        in its signals, so guidance aimed at a node can be counted against the field. "" if none."""
        key = page_id if isinstance(page_id, str) else ""
        state = self._pages.get(key)
        if state is None or not is_id(node_id):
            return ""
        current: int | None = node_id
        seen = 0
        while current is not None and seen <= MAX_NODE_DEPTH:
            tag, info = state.elements.get(current, ("", {}))
            if tag in FIELD_TAGS:
                return str(info.get("id") or info.get("name") or "")[:256]
            current, seen = state.parents.get(current), seen + 1
        return ""

    def node_for_field(self, page_id: Any, field: str) -> int | None:
        """The node of the form field with this id (else name), the reverse of :meth:`field_key`:
        the assistant aims a prompt at a field it knows only by the id the page reported."""
        state = self._pages.get(page_id if isinstance(page_id, str) else "")
        if state is None or not field:
            return None
        by_name = None
        for node_id, (tag, info) in state.elements.items():
            if tag not in FIELD_TAGS:
                continue
            if info.get("id") == field:
                return node_id
            if by_name is None and info.get("name") == field:
                by_name = node_id
        return by_name

    def tracked_nodes(self, page_id: Any) -> int:
        """How many nodes of the page the redactor holds structure for (its memory, roughly)."""
        key = page_id if isinstance(page_id, str) else ""
        state = self._pages.get(key)
        return len(state.parents) if state is not None else 0

    def forget_page(self, page_id: str) -> None:
        self._pages.pop(page_id, None)

    # -- state ---------------------------------------------------------------------------------

    def _page(self, page_id: Any) -> PageState:
        key = page_id if isinstance(page_id, str) else ""
        state = self._pages.get(key)
        if state is None:
            state = self._pages[key] = PageState()
            while len(self._pages) > self.max_pages:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(key)
        return state

    # -- events --------------------------------------------------------------------------------

    def _event(self, state: PageState, event: Any) -> dict | None:
        if not isinstance(event, dict):
            return None
        out = {k: redact_json(v) for k, v in event.items() if k != "data"}
        data = event.get("data")
        etype = event.get("type")
        if etype == EV_FULL_SNAPSHOT:
            if not isinstance(data, dict):
                return None
            # Node ids survive takeFullSnapshot on a page, so sticky markings stay.
            state.parents.clear()
            state.elements.clear()
            state.segments.clear()
            state.digit_texts.clear()
            state.block_texts.clear()
            out["data"] = {k: redact_json(v) for k, v in data.items() if k != "node"}
            if "node" in data:
                state.out_inputs.clear()
                frags: list = []
                node = self._node(state, data["node"], None, PLAIN, 0, frags)
                state.out_inputs.clear()
                if node is None:
                    return None
                check_fragments(state, frags)
                state.touched.clear()  # a snapshot reads its blocks whole
                out["data"]["node"] = node
        elif etype == EV_INCREMENTAL and isinstance(data, dict):
            source = data.get("source")
            if source == SRC_MUTATION:
                out["data"] = self._mutation(state, data)
            elif source == SRC_INPUT:
                redacted = self._input(state, data)
                if redacted is None:
                    return None
                out["data"] = redacted
            else:
                out["data"] = redact_json(data)
        elif etype == EV_META and isinstance(data, dict):
            out["data"] = {k: (redact_url(v) if k == "href" else redact_json(v)) for k, v in data.items()}
        elif "data" in event:
            out["data"] = redact_json(data)
        return out

    def _node(
        self, state: PageState, node: Any, parent_id: Any, inherited: int, depth: int, frags: list | None
    ) -> dict | None:
        """Redact a serialized node and its subtree, recording parent links and markings.

        ``frags`` collects the texts the enclosing block lays out inline (``None`` where no text is
        read, as in ``<script>``): a block reads them together once its subtree is done
        (:func:`~cobrowse.masking.layout.check_fragments`).
        """
        if not isinstance(node, dict) or depth > MAX_NODE_DEPTH:
            return None
        node_id = node.get("id")
        if is_id(node_id) and is_id(parent_id):
            state.parents[node_id] = parent_id
        ntype = node.get("type")
        status = inherited
        out: dict[str, Any] = {}
        inner = frags
        # A block element: its own fragments (read once its subtree is done) and the enclosing ones.
        block: tuple[list, list] | None = None
        if ntype == NODE_ELEMENT:
            tag = node.get("tagName")
            tag = tag.lower() if isinstance(tag, str) else ""
            raw_attrs = node.get("attributes")
            raw_attrs = raw_attrs if isinstance(raw_attrs, dict) else {}
            info = self._relevant_attrs(raw_attrs)
            if is_id(node_id):
                state.elements[node_id] = (tag, info)
                if tag == "style":
                    state.styles.add(node_id)
                if info.get("contenteditable", "false").lower() != "false":
                    state.editable.add(node_id)
            own = self._classify(tag, info)
            mark(state, node_id, own, info)
            status = max(inherited, own)
            if status == BLOCKED:
                out["attributes"] = {
                    k: v for k in ("class", "rr_width", "rr_height") if isinstance(v := raw_attrs.get(k), str)
                }
                out["childNodes"] = []
                link_subtree(state, node, depth)
            else:
                free_text = typed_value(tag, raw_attrs)
                out["attributes"] = attrs = self._attrs(state, node_id, tag, raw_attrs, status, free_text)
                if tag == "input":
                    value = attrs.get("value")
                    if is_id(node_id) and isinstance(value, str):
                        state.out_inputs[node_id] = attrs
                    if own == PLAIN:
                        segment(state, node_id, info)
                    if frags is not None and isinstance(value, str) and value and status == PLAIN:
                        frags.append((attrs, "value", value, node_id))
            if tag in INLINE_TAGS or frags is None:
                pass
            elif tag in SKIP_TAGS:
                frags.append(BOUNDARY)
                inner = None
            elif tag == "br":
                frags.append(SPACE)
            else:
                if tag in CELL_TAGS:
                    frags.append(CELL_JOIN)
                inner = []
                block = (inner, frags)
        elif ntype in (NODE_TEXT, NODE_CDATA, NODE_COMMENT):
            if status == BLOCKED:
                return None
            text = node.get("textContent")
            if isinstance(text, str):
                if status == MASKED:
                    out["textContent"] = mask_value(text)
                elif type(parent_id) is int and parent_id in state.styles:
                    out["textContent"] = redact_css(redact_text(text))
                elif state.editable and in_editable(state, parent_id):
                    out["textContent"] = text = redact_typed_value(text)
                else:
                    out["textContent"] = text = redact_text(text)
                    if ntype == NODE_TEXT and frags is not None and text:
                        frags.append((out, "textContent", text, None))
                        if len(text) <= SHORT_TEXT and (DIGIT.search(text) or not text.isascii()):
                            remember_text(state, node_id, text)
        for key, value in node.items():
            if key in out:
                continue
            if key == "childNodes":
                out[key] = self._children(state, value, node_id, status, depth, inner)
            elif key in ("attributes", "textContent"):
                continue  # malformed for this node type: dropped
            else:
                out[key] = value if type(value) in SCALARS else redact_json(value)
        if block is not None:
            block_frags, enclosing = block
            check_fragments(state, block_frags)
            if tag in CELL_TAGS:
                enclosing.extend(block_frags)  # a cell is read with its row, too
            else:
                enclosing.append(BOUNDARY)
        return out

    def _children(
        self, state: PageState, children: Any, parent_id: Any, status: int, depth: int, frags: list | None
    ) -> list:
        if not isinstance(children, list):
            return []
        out = []
        for child in children:  # a plain loop: two stack frames per tree level, not four
            redacted = self._node(state, child, parent_id, status, depth + 1, frags)
            if redacted is not None:
                out.append(redacted)
            if frags is not None and len(frags) > MAX_FRAGMENTS:
                check_fragments(state, frags)
                del frags[:-8]
        return out

    def _attrs(
        self, state: PageState, node_id: Any, tag: str, attrs: dict, status: int, free_text: bool
    ) -> dict:
        out: dict[str, Any] = {}
        for name, value in attrs.items():
            lowered = name.lower()
            if status == MASKED and lowered == "value":
                out[name] = mask_value(value)
            elif status == MASKED and tag == "option" and lowered == "selected":
                continue
            elif status == MASKED and lowered not in STRUCTURAL_ATTRS and isinstance(value, str):
                out[name] = mask_value(value)
            elif isinstance(value, str):
                if lowered in UNSCANNED_ATTRS:
                    out[name] = value
                elif lowered in CSS_ATTRS:
                    out[name] = redact_css(value)
                elif lowered in URL_ATTRS:
                    out[name] = redact_url(value)
                elif lowered == "value" and tag in FORM_TAGS | {""}:
                    redacted = redact_typed_value(value) if free_text else redact_text(value)
                    if redacted != value:
                        # The field held a sensitive value once: mask all its later input events.
                        mark(state, node_id, MASKED, {})
                        redacted = MASK
                    out[name] = redacted
                else:
                    out[name] = redact_text(value)
            else:
                out[name] = redact_json(value)
        return {redact_text(k): v for k, v in out.items()}

    def _mutation(self, state: PageState, data: dict) -> dict:
        out: dict[str, Any] = {}
        state.touched.clear()
        state.out_inputs.clear()
        removes = data.get("removes")
        if isinstance(removes, list):
            for remove in removes:
                if isinstance(remove, dict) and is_id(remove.get("id")):
                    forget_node(state, remove["id"])
        adds = data.get("adds")
        if isinstance(adds, list):
            # First pass: the whole batch's parent links and markings, whatever the order of adds.
            for add in adds:
                if isinstance(add, dict) and isinstance(add.get("node"), dict):
                    node = add["node"]
                    if is_id(node.get("id")) and is_id(add.get("parentId")):
                        state.parents[node["id"]] = add["parentId"]
                    if node.get("type") == NODE_ELEMENT:
                        tag = node.get("tagName")
                        info = self._relevant_attrs(
                            node["attributes"] if isinstance(node.get("attributes"), dict) else {}
                        )
                        mark(
                            state,
                            node.get("id"),
                            self._classify(tag.lower() if isinstance(tag, str) else "", info),
                            info,
                        )
            redacted_adds = []
            for add in adds:
                if not isinstance(add, dict):
                    continue
                inherited = status_of(state, add.get("parentId"))
                if inherited == BLOCKED:
                    node = add.get("node")
                    if isinstance(node, dict) and is_id(node.get("id")):
                        state.blocked.add(node["id"])
                    continue
                frags: list = []
                node = self._node(state, add.get("node"), add.get("parentId"), inherited, 0, frags)
                if node is None:
                    continue
                check_fragments(state, frags)
                entry = {k: redact_json(v) for k, v in add.items() if k != "node"}
                entry["node"] = node
                redacted_adds.append(entry)
            out["adds"] = redacted_adds
        texts = data.get("texts")
        if isinstance(texts, list):
            out["texts"] = [t for t in (self._text_change(state, t) for t in texts) if t is not None]
        if state.touched:
            out["texts"] = out.get("texts", [])
            remask_blocks(state, out["texts"])
        attributes = data.get("attributes")
        if isinstance(attributes, list):
            changes = (self._attr_change(state, a) for a in attributes)
            out["attributes"] = [a for a in changes if a is not None]
        for key, value in data.items():
            if key not in out and key not in ("adds", "texts", "attributes"):
                out[key] = redact_json(value)
        return out

    def _text_change(self, state: PageState, change: Any) -> dict | None:
        if not isinstance(change, dict):
            return None
        status = status_of(state, change.get("id"))
        if status == BLOCKED:
            return None
        out = {k: redact_json(v) for k, v in change.items() if k != "value"}
        if "value" in change:
            value = change["value"]
            if status == MASKED:
                out["value"] = mask_value(value)
            elif isinstance(value, str) and in_style(state, change.get("id")):
                out["value"] = redact_css(redact_text(value))
            else:
                typed = isinstance(value, str) and state.editable and in_editable(state, change.get("id"))
                out["value"] = redact_typed_value(value) if typed else redact_json(value)
                if isinstance(out["value"], str):
                    remember_text(state, change.get("id"), out["value"])
        return out

    def _attr_change(self, state: PageState, change: Any) -> dict | None:
        if not isinstance(change, dict):
            return None
        node_id = change.get("id")
        attrs = change.get("attributes")
        tag = ""
        if isinstance(attrs, dict):
            known_tag, known = state.elements.get(node_id, ("", {})) if is_id(node_id) else ("", {})
            tag = known_tag
            merged = {**known, **self._relevant_attrs(attrs)}
            for name, value in attrs.items():
                if value is None and isinstance(name, str):
                    merged.pop(name.lower(), None)
            if is_id(node_id):
                state.elements[node_id] = (tag, merged)
            mark(state, node_id, self._classify(tag, merged), merged)
            if tag == "input":
                segment(state, node_id, merged)
        status = status_of(state, node_id)
        if status == BLOCKED:
            return None
        out = {k: redact_json(v) for k, v in change.items() if k != "attributes"}
        if "attributes" in change:
            out["attributes"] = (
                self._attrs(state, node_id, tag, attrs, status, typed_value(tag, merged))
                if isinstance(attrs, dict)
                else {}
            )
        return out

    def _input(self, state: PageState, data: dict) -> dict | None:
        node_id = data.get("id")
        status = status_of(state, node_id)
        if status == BLOCKED:
            return None
        out = {k: redact_json(v) for k, v in data.items() if k != "text"}
        if "text" in data:
            text = data["text"]
            if status == MASKED:
                out["text"] = mask_value(text)
            elif isinstance(text, str):
                tag, info = state.elements.get(node_id, ("", {})) if is_id(node_id) else ("", {})
                redacted = redact_typed_value(text) if typed_value(tag, info) else redact_text(text)
                if redacted != text:
                    mark(state, node_id, MASKED, {})
                    redacted = MASK
                out["text"] = redacted
            else:
                out["text"] = redact_json(text)
        return out

    # -- page context --------------------------------------------------------------------------

    def _field(self, state: PageState, item: Any) -> dict | None:
        if not isinstance(item, dict):
            return None
        dom_id = v if isinstance(v := item.get("id"), str) else ""
        name = v if isinstance(v := item.get("name"), str) else ""
        ftype = v if isinstance(v := item.get("type"), str) else ""
        tag = "select" if ftype.startswith("select") else "textarea" if ftype == "textarea" else "input"
        attrs = {k: v for k, v in (("id", dom_id), ("name", name), ("type", ftype)) if v}
        masked = (
            item.get("masked") is not False
            or (dom_id and dom_id in state.sensitive_dom_ids)
            or (name and name in state.sensitive_names)
            or self._classify(tag, attrs) != PLAIN
        )
        value = item.get("value")
        redact = redact_typed_value if typed_value(tag, attrs) else redact_text
        if not masked and isinstance(value, str) and redact(value) != value:
            masked = True
            if dom_id:
                state.sensitive_dom_ids.add(dom_id)
            if name:
                state.sensitive_names.add(name)
        out = {k: redact_json(v) for k, v in item.items() if k not in ("value", "masked")}
        out["masked"] = bool(masked)
        if not masked and "value" in item:
            out["value"] = redact_json(value)
        return out
