"""Server-side redaction of everything a customer page sends before it is relayed or recorded.

The widget masks on the client, but rrweb has known gaps (hidden inputs, ``maskInputFn`` skipped in
some snapshot paths, ``placeholder`` and button ``value`` attributes, textarea ``value``) and a widget
can be misconfigured or old. This layer assumes the events arrive raw and masks them again, so a page
without any markup still leaks nothing to the agent, the assistant or a recording.

Three mechanisms (docs/masking.md; the widget applies the same, both held to
``tests/masking_cases.json``):

* **Markup**: elements marked sensitive have their values, all text inside them and every attribute
  but the structural ones (:data:`STRUCTURAL_ATTRS`) replaced by :data:`MASK`:
  ``input[type=password]``, ``input[type=hidden]``, any ``autocomplete`` token starting with ``cc-``,
  ``[data-sensitive]``, ``[data-pii]``, rrweb's ``.rr-mask``, the account's own selectors and its
  industry presets' (:mod:`masking.presets`). ``autocomplete=one-time-code`` (and
  ``.rr-block``) is *blocked*: the element keeps only ``class`` and rrweb's placeholder size, its
  children are dropped and every later mutation or input event for it is dropped.
* **Patterns** (:mod:`masking.patterns`) on every text node, string attribute, input value,
  page-context field, URL and CSS ``content:`` string: Luhn-valid card numbers, US SSNs, Aadhaar
  numbers, Indian PANs, mod-97-valid IBANs and numbers after a label that names them, whatever
  separators and digits they are written with. Each match becomes :data:`MASK` whatever its length.
* **Layout**: a block's inline texts and input values are read together, so a number split over
  ``<span>``s, table cells or several inputs is masked in each; three or more short inputs under one
  close ancestor are masked as the boxes of one value; a mutation that completes a number masks the
  nodes relayed before it.

State is per page (rrweb node ids restart on every page load): a :class:`Redactor` per co-browse
session keeps, for each ``page_id``, the node tree's parent links and the ids of sensitive and blocked
nodes, so an input event for a sensitive field is masked even when its value looks harmless.
Sensitivity is sticky for the page: a password field switched to ``type=text`` by a "show password"
toggle stays masked, and so does a field whose value once matched a pattern.

Account selectors support a simple subset of CSS (:mod:`masking.selector`): a tag, ``*``,
``#id``, ``.class``, ``[attr]``, ``[attr=value]``, ``[attr^=value]``, ``[attr$=value]``,
``[attr*=value]`` (each with an optional ``i`` flag: without regard to case), compounds of these
(``input.secret[name=pin]``) and comma-separated lists. No combinators or pseudo-classes: those raise
:class:`ValueError` so that a typo never silently turns masking off.

Inputs are never mutated; every function returns new objects. Malformed shapes never raise: unknown
parts are pattern-masked generically, and a part that cannot be understood at all is dropped.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, unquote, unquote_plus, urlsplit, urlunsplit

from cobrowse.protocol import Message
from masking.patterns import (  # noqa: F401  (re-exported: callers import the rules from here)
    MASK,
    fold_digits,
    iban_valid,
    luhn_valid,
    redact_css,
    redact_fragments,
    redact_text,
    redact_typed_value,
)
from masking.selector import Selector, parse_selector, parse_selectors  # noqa: F401  (re-exported)

logger = logging.getLogger(__name__)


# Input types a person types characters into one by one ("" = no type attribute, or unknown).
FREE_TEXT_TYPES = frozenset({"", "text", "search", "tel", "number", "email", "url", "hidden"})


# --- URLs -------------------------------------------------------------------------------------

_SECRET_PARAM_WORDS = (
    "password",
    "passwd",
    "token",
    "secret",
    "cvv",
    "cvc",
    "ssn",
    "aadhaar",
    "aadhar",
    "iban",
    "card",
    "otp",
    "apikey",
    "api_key",
    "signature",
    "session",
    "grant",
)
_SECRET_PARAM_TOKENS = frozenset({"pass", "pwd", "pan", "pin", "sig", "sid", "code", "auth", "key", "csc"})
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def _secret_param(name: str) -> bool:
    """Whether a query parameter's name says its value is a secret (``access_token``, ``cardNumber``)."""
    lowered = name.lower()
    if any(word in lowered for word in _SECRET_PARAM_WORDS):
        return True
    return any(token in _SECRET_PARAM_TOKENS for token in _NON_ALNUM.split(lowered))


def _redact_component(raw: str, *, plus: bool = False) -> str:
    """Pattern-mask one URL component, looking through percent-encoding."""
    decoded = unquote_plus(raw) if plus else unquote(raw)
    redacted = redact_text(decoded)
    if redacted == decoded:
        return raw
    return quote(redacted, safe="/:@!$'()*,;=-._~")


def _redact_pairs(raw: str) -> str:
    pieces = []
    for piece in raw.split("&"):
        name, eq, value = piece.partition("=")
        if eq and value and _secret_param(unquote_plus(name)):
            value = MASK
        elif eq:
            value = _redact_component(value, plus=True)
        pieces.append(_redact_component(name, plus=True) + eq + value)
    return "&".join(pieces)


def redact_url(url: str) -> str:
    """Mask credentials, secret-named query parameters and patterns anywhere in a URL."""
    if not url or not isinstance(url, str):
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = MASK + "@" + netloc.rsplit("@", 1)[1]
    path = _redact_component(parts.path)
    query = _redact_pairs(parts.query) if parts.query else parts.query
    fragment = parts.fragment
    if fragment:
        fragment = _redact_pairs(fragment) if "=" in fragment else _redact_component(fragment)
    if (netloc, path, query, fragment) == (parts.netloc, parts.path, parts.query, parts.fragment):
        return url
    return urlunsplit((parts.scheme, netloc, path, query, fragment))


# --- rrweb structures -------------------------------------------------------------------------

# rrweb 2.x EventType, IncrementalSource and serialized NodeType values.
EV_FULL_SNAPSHOT, EV_INCREMENTAL, EV_META = 2, 3, 4
SRC_MUTATION, SRC_INPUT = 0, 5
NODE_DOCUMENT, NODE_DOCTYPE, NODE_ELEMENT, NODE_TEXT, NODE_CDATA, NODE_COMMENT = 0, 1, 2, 3, 4, 5

PLAIN, MASKED, BLOCKED = 0, 1, 2
_FORM_TAGS = frozenset({"input", "textarea", "select"})
_URL_ATTRS = frozenset(
    {"href", "src", "action", "formaction", "rr_src", "poster", "cite", "data", "background"}
)
# CSS and inlined images: scanning them costs much and masking them breaks the replay.
# Inlined images: scanning them costs much and masking them breaks the replay.
_UNSCANNED_ATTRS = frozenset({"rr_dataURL", "class"})
# CSS: only the strings of ``content:`` declarations are text a person reads.
_CSS_ATTRS = frozenset({"style", "_csstext"})
# What a masked element keeps of its attributes: layout and identity, never text. Everything else
# (placeholder, title, aria-*, data-*, href, alt, value...) becomes MASK.
STRUCTURAL_ATTRS = frozenset(
    {
        "class", "id", "name", "type", "style", "rr_width", "rr_height", "autocomplete", "maxlength",
        "size", "tabindex", "role", "for", "disabled", "required", "readonly", "hidden", "dir", "lang",
        "width", "height",
    }
)  # fmt: skip
_BASE_RELEVANT = frozenset(
    {"type", "autocomplete", "data-sensitive", "data-pii", "class", "id", "name", "maxlength"}
    | {"contenteditable"}
)
# Block layout, as the widget reads it (masking.js): an element's inline descendants are read as one
# text; table cells and definition terms are read with their row (a label beside its value).
_INLINE_TAGS = frozenset(
    {
        "a", "abbr", "b", "cite", "code", "em", "font", "i", "kbd", "label", "mark", "q", "s", "small",
        "span", "strong", "sub", "sup", "time", "u", "input", "wbr", "tspan", "textpath",
    }
)  # fmt: skip
_CELL_TAGS = frozenset({"td", "th", "dt", "dd"})
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "head", "textarea", "select"})
_BOUNDARY = (None, None, "\n|\n", None)
_CELL_JOIN = (None, None, " ; ", None)
_SPACE = (None, None, " ", None)
_MAX_FRAGMENTS = 64
_SEGMENT_MAX_LENGTH = 6  # an input this short is one box of a value typed into several
_SEGMENT_GROUP = 3  # that many boxes under one close ancestor are one value (card, SSN, OTP, date)
_SEGMENT_LEVELS = 3
_SHORT_TEXT = 40  # longer texts hold their own numbers whole, or are prose
_MAX_DIGIT_TEXTS = 20_000
_DIGIT = re.compile(r"[0-9]")
_MAX_NODE_DEPTH = 250  # deeper subtrees are dropped (fail closed)
_MAX_DEEP = 64


def _is_id(value: Any) -> bool:
    return type(value) is int


_SCALARS = (int, float, bool, type(None))


def _deep(value: Any, depth: int = 0) -> Any:
    """Pattern-mask every string (keys too) in a JSON value of unknown shape."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        if depth >= _MAX_DEEP:
            return None
        return {redact_text(k) if isinstance(k, str) else k: _deep(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        if depth >= _MAX_DEEP:
            return None
        return [_deep(v, depth + 1) for v in value]
    return value


def _free_text(tag: str, attrs: dict) -> bool:
    """Whether values of this element are typed character by character (unknown counts as yes)."""
    if tag == "textarea":
        return True
    kind = attrs.get("type")
    return tag in ("input", "") and (kind.strip().lower() if isinstance(kind, str) else "") in FREE_TEXT_TYPES


def _typed_value(tag: str, attrs: dict) -> bool:
    """Whether a field's value gets the typing rules (prefixes of identifiers masked).

    A number field holds a quantity (a loan amount of 5000000 is not the start of a card number),
    so only complete identifiers are masked there, as the widget does (``isQuantityField``).
    """
    kind = attrs.get("type")
    if tag == "input" and isinstance(kind, str) and kind.strip().lower() == "number":
        return False
    return _free_text(tag, attrs)


def _mask_value(value: Any) -> Any:
    """A masked field's value: the fixed mask for any non-blank text, blanks kept for the layout."""
    if isinstance(value, str):
        return MASK if value.strip() else value
    return _deep(value)


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
class _PageState:
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


class Redactor:
    """Redacts one co-browse session's messages; keeps per-page node state between messages.

    ``strict`` re-raises unexpected errors (for tests); otherwise an event that fails is dropped and
    logged, so a redaction bug fails closed.
    """

    def __init__(self, selectors: Iterable[str] = (), *, max_pages: int = 16, strict: bool = False) -> None:
        self.selectors = parse_selectors(selectors)
        # "[attr*=word i]" selectors (the presets have many) become one regular expression per attribute.
        words: dict[str, list[str]] = {}
        self._general: list[Selector] = []
        for sel in self.selectors:
            only = sel.attrs[0] if len(sel.attrs) == 1 and not (sel.tag or sel.ids or sel.classes) else None
            if only and only[1] == "*=" and only[3] and only[2]:
                words.setdefault(only[0], []).append(re.escape(only[2]))
            else:
                self._general.append(sel)
        self._contains = tuple((name, re.compile("|".join(found))) for name, found in words.items())
        self.max_pages = max_pages
        self.strict = strict
        self.dropped = 0
        self._relevant = _BASE_RELEVANT.union(*(s.attribute_names for s in self.selectors))
        # Selectors that can match an element without any of the relevant attributes.
        self._tag_selectors = any(not s.attribute_names for s in self.selectors)
        self._pages: OrderedDict[str, _PageState] = OrderedDict()

    # -- public API ----------------------------------------------------------------------------

    def redact_message(self, message: Message | dict) -> Message | dict:
        """Redact a customer message (a parsed :class:`Message` or an envelope dict) by its type."""
        if isinstance(message, Message):
            return replace(message, data=self.redact_data(message.type, message.data))
        if not isinstance(message, dict):
            return _deep(message)
        out = {k: _deep(v) for k, v in message.items() if k != "data"}
        if "data" in message:
            out["data"] = self.redact_data(message.get("type"), message["data"])
        return out

    def redact_data(self, msg_type: Any, data: Any) -> Any:
        if not isinstance(data, dict):
            return _deep(data)
        if msg_type == "rrweb":
            out = {k: _deep(v) for k, v in data.items() if k != "events"}
            if "events" in data:
                out["events"] = self.redact_events(data["events"], data.get("page_id"))
            return out
        if msg_type == "page":
            return self.redact_page(data)
        if msg_type == "hello":
            out = {k: _deep(v) for k, v in data.items()}
            if isinstance(data.get("url"), str):
                out["url"] = redact_url(data["url"])
            return out
        return _deep(data)

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
            return _deep(data)
        state = self._page(data.get("page_id"))
        out = {}
        for key, value in data.items():
            if key == "url" and isinstance(value, str):
                out[key] = redact_url(value)
            elif key == "fields" and isinstance(value, list):
                out[key] = [f for f in (self._field(state, item) for item in value) if f is not None]
            else:
                out[key] = _deep(value)
        return out

    def node_facts(self, page_id: Any, node_id: Any) -> NodeFacts | None:
        """What the server knows of one element of a page (for policy checks on agent actions).

        ``None`` for a node the server has not seen (stale, unknown page, or not an element).
        """
        key = page_id if isinstance(page_id, str) else ""
        state = self._pages.get(key)
        if state is None or not _is_id(node_id) or node_id not in state.elements:
            return None
        tag, info = state.elements[node_id]
        in_form, ancestor, seen = False, state.parents.get(node_id), 0
        while ancestor is not None and seen <= _MAX_NODE_DEPTH:
            if state.elements.get(ancestor, ("", {}))[0] == "form":
                in_form = True
                break
            ancestor, seen = state.parents.get(ancestor), seen + 1
        return NodeFacts(
            tag=tag,
            input_type=info.get("type", "").lower() if tag in ("input", "button") else "",
            autocomplete=info.get("autocomplete", "").lower(),
            masked=self._status(state, node_id) != PLAIN,
            in_form=in_form,
        )

    def forget_page(self, page_id: str) -> None:
        self._pages.pop(page_id, None)

    # -- state ---------------------------------------------------------------------------------

    def _page(self, page_id: Any) -> _PageState:
        key = page_id if isinstance(page_id, str) else ""
        state = self._pages.get(key)
        if state is None:
            state = self._pages[key] = _PageState()
            while len(self._pages) > self.max_pages:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(key)
        return state

    @staticmethod
    def _status(state: _PageState, node_id: Any) -> int:
        """The strongest marking on the node or any of its ancestors."""
        if not _is_id(node_id):
            return PLAIN
        status, seen = PLAIN, 0
        while node_id is not None and seen <= _MAX_NODE_DEPTH:
            if node_id in state.blocked:
                return BLOCKED
            if node_id in state.sensitive:
                status = MASKED
            node_id = state.parents.get(node_id)
            seen += 1
        return status

    def _classify(self, tag: str, attrs: dict[str, str]) -> int:
        if not attrs and not self._tag_selectors:
            return PLAIN
        tokens = attrs.get("autocomplete", "").lower().split()
        classes = attrs.get("class", "").split()
        if "one-time-code" in tokens or "rr-block" in classes:
            return BLOCKED
        if tag in ("input", "") and attrs.get("type", "").strip().lower() in ("password", "hidden"):
            return MASKED
        if any(t.startswith("cc-") for t in tokens) or "rr-mask" in classes:
            return MASKED
        if "data-sensitive" in attrs or "data-pii" in attrs:
            return MASKED
        if any(sel.matches(tag, attrs) for sel in self._general):
            return MASKED
        if self._contains:
            for name, pattern in self._contains:
                value = attrs.get(name)
                if value and pattern.search(value.lower()):
                    return MASKED
        return PLAIN

    def _relevant_attrs(self, attrs: dict) -> dict[str, str]:
        out = {}
        for name, value in attrs.items():
            if isinstance(name, str) and name.lower() in self._relevant:
                out[name.lower()] = value if isinstance(value, str) else ("" if value is not None else None)
        return {k: v for k, v in out.items() if v is not None}

    def _mark(self, state: _PageState, node_id: Any, status: int, attrs: dict[str, str]) -> None:
        if not _is_id(node_id) or status == PLAIN:
            return
        (state.blocked if status == BLOCKED else state.sensitive).add(node_id)
        if attrs.get("id"):
            state.sensitive_dom_ids.add(attrs["id"])
        if attrs.get("name"):
            state.sensitive_names.add(attrs["name"])

    # -- events --------------------------------------------------------------------------------

    def _event(self, state: _PageState, event: Any) -> dict | None:
        if not isinstance(event, dict):
            return None
        out = {k: _deep(v) for k, v in event.items() if k != "data"}
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
            out["data"] = {k: _deep(v) for k, v in data.items() if k != "node"}
            if "node" in data:
                state.out_inputs.clear()
                frags: list = []
                node = self._node(state, data["node"], None, PLAIN, 0, frags)
                state.out_inputs.clear()
                if node is None:
                    return None
                self._check(state, frags)
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
                out["data"] = _deep(data)
        elif etype == EV_META and isinstance(data, dict):
            out["data"] = {k: (redact_url(v) if k == "href" else _deep(v)) for k, v in data.items()}
        elif "data" in event:
            out["data"] = _deep(data)
        return out

    def _node(
        self, state: _PageState, node: Any, parent_id: Any, inherited: int, depth: int, frags: list | None
    ) -> dict | None:
        """Redact a serialized node and its subtree, recording parent links and markings.

        ``frags`` collects the texts the enclosing block lays out inline (``None`` where no text is
        read, as in ``<script>``): a block reads them together once its subtree is done (:meth:`_check`).
        """
        if not isinstance(node, dict) or depth > _MAX_NODE_DEPTH:
            return None
        node_id = node.get("id")
        if _is_id(node_id) and _is_id(parent_id):
            state.parents[node_id] = parent_id
        ntype = node.get("type")
        status = inherited
        out: dict[str, Any] = {}
        inner = frags
        block = False
        if ntype == NODE_ELEMENT:
            tag = node.get("tagName")
            tag = tag.lower() if isinstance(tag, str) else ""
            raw_attrs = node.get("attributes")
            raw_attrs = raw_attrs if isinstance(raw_attrs, dict) else {}
            info = self._relevant_attrs(raw_attrs)
            if _is_id(node_id):
                state.elements[node_id] = (tag, info)
                if tag == "style":
                    state.styles.add(node_id)
                if info.get("contenteditable", "false").lower() != "false":
                    state.editable.add(node_id)
            own = self._classify(tag, info)
            self._mark(state, node_id, own, info)
            status = max(inherited, own)
            if status == BLOCKED:
                out["attributes"] = {
                    k: v for k in ("class", "rr_width", "rr_height") if isinstance(v := raw_attrs.get(k), str)
                }
                out["childNodes"] = []
                self._link_subtree(state, node, depth)
            else:
                free_text = _typed_value(tag, raw_attrs)
                out["attributes"] = attrs = self._attrs(state, node_id, tag, raw_attrs, status, free_text)
                if tag == "input":
                    value = attrs.get("value")
                    if _is_id(node_id) and isinstance(value, str):
                        state.out_inputs[node_id] = attrs
                    if own == PLAIN:
                        self._segment(state, node_id, info)
                    if frags is not None and isinstance(value, str) and value and status == PLAIN:
                        frags.append((attrs, "value", value, node_id))
            if tag in _INLINE_TAGS or frags is None:
                pass
            elif tag in _SKIP_TAGS:
                frags.append(_BOUNDARY)
                inner = None
            elif tag == "br":
                frags.append(_SPACE)
            else:
                if tag in _CELL_TAGS:
                    frags.append(_CELL_JOIN)
                inner, block = [], True
        elif ntype in (NODE_TEXT, NODE_CDATA, NODE_COMMENT):
            if status == BLOCKED:
                return None
            text = node.get("textContent")
            if isinstance(text, str):
                if status == MASKED:
                    out["textContent"] = _mask_value(text)
                elif type(parent_id) is int and parent_id in state.styles:
                    out["textContent"] = redact_css(redact_text(text))
                elif state.editable and self._editable(state, parent_id):
                    out["textContent"] = text = redact_typed_value(text)
                else:
                    out["textContent"] = text = redact_text(text)
                    if ntype == NODE_TEXT and frags is not None and text:
                        frags.append((out, "textContent", text, None))
                        if len(text) <= _SHORT_TEXT and (_DIGIT.search(text) or not text.isascii()):
                            self._remember_text(state, node_id, text)
        for key, value in node.items():
            if key in out:
                continue
            if key == "childNodes":
                out[key] = self._children(state, value, node_id, status, depth, inner)
            elif key in ("attributes", "textContent"):
                continue  # malformed for this node type: dropped
            else:
                out[key] = value if type(value) in _SCALARS else _deep(value)
        if block:
            self._check(state, inner)
            if tag in _CELL_TAGS:
                frags.extend(inner)  # a cell is read with its row, too
            else:
                frags.append(_BOUNDARY)
        return out

    def _children(
        self, state: _PageState, children: Any, parent_id: Any, status: int, depth: int, frags: list | None
    ) -> list:
        if not isinstance(children, list):
            return []
        out = []
        for child in children:  # a plain loop: two stack frames per tree level, not four
            redacted = self._node(state, child, parent_id, status, depth + 1, frags)
            if redacted is not None:
                out.append(redacted)
            if frags is not None and len(frags) > _MAX_FRAGMENTS:
                self._check(state, frags)
                del frags[:-8]
        return out

    def _link_subtree(self, state: _PageState, node: dict, depth: int) -> None:
        """Remember a blocked element's dropped descendants so their later mutations are dropped too."""
        stack = [(node, depth)]
        while stack:
            current, level = stack.pop()
            children = current.get("childNodes")
            if not isinstance(children, list) or level > _MAX_NODE_DEPTH:
                continue
            for child in children:
                if isinstance(child, dict):
                    if _is_id(child.get("id")) and _is_id(current.get("id")):
                        state.parents[child["id"]] = current["id"]
                    stack.append((child, level + 1))

    def _attrs(
        self, state: _PageState, node_id: Any, tag: str, attrs: dict, status: int, free_text: bool
    ) -> dict:
        out: dict[str, Any] = {}
        for name, value in attrs.items():
            lowered = name.lower()
            if status == MASKED and lowered == "value":
                out[name] = _mask_value(value)
            elif status == MASKED and tag == "option" and lowered == "selected":
                continue
            elif status == MASKED and lowered not in STRUCTURAL_ATTRS and isinstance(value, str):
                out[name] = _mask_value(value)
            elif isinstance(value, str):
                if lowered in _UNSCANNED_ATTRS:
                    out[name] = value
                elif lowered in _CSS_ATTRS:
                    out[name] = redact_css(value)
                elif lowered in _URL_ATTRS:
                    out[name] = redact_url(value)
                elif lowered == "value" and tag in _FORM_TAGS | {""}:
                    redacted = redact_typed_value(value) if free_text else redact_text(value)
                    if redacted != value:
                        # The field held a sensitive value once: mask all its later input events.
                        self._mark(state, node_id, MASKED, {})
                        redacted = MASK
                    out[name] = redacted
                else:
                    out[name] = redact_text(value)
            else:
                out[name] = _deep(value)
        return {redact_text(k): v for k, v in out.items()}

    def _mutation(self, state: _PageState, data: dict) -> dict:
        out: dict[str, Any] = {}
        state.touched.clear()
        state.out_inputs.clear()
        removes = data.get("removes")
        if isinstance(removes, list):
            for remove in removes:
                if isinstance(remove, dict) and _is_id(remove.get("id")):
                    state.digit_texts.pop(remove["id"], None)
        adds = data.get("adds")
        if isinstance(adds, list):
            # First pass: the whole batch's parent links and markings, whatever the order of adds.
            for add in adds:
                if isinstance(add, dict) and isinstance(add.get("node"), dict):
                    node = add["node"]
                    if _is_id(node.get("id")) and _is_id(add.get("parentId")):
                        state.parents[node["id"]] = add["parentId"]
                    if node.get("type") == NODE_ELEMENT:
                        tag = node.get("tagName")
                        info = self._relevant_attrs(
                            node["attributes"] if isinstance(node.get("attributes"), dict) else {}
                        )
                        self._mark(
                            state,
                            node.get("id"),
                            self._classify(tag.lower() if isinstance(tag, str) else "", info),
                            info,
                        )
            redacted_adds = []
            for add in adds:
                if not isinstance(add, dict):
                    continue
                inherited = self._status(state, add.get("parentId"))
                if inherited == BLOCKED:
                    node = add.get("node")
                    if isinstance(node, dict) and _is_id(node.get("id")):
                        state.blocked.add(node["id"])
                    continue
                frags = []
                node = self._node(state, add.get("node"), add.get("parentId"), inherited, 0, frags)
                if node is None:
                    continue
                self._check(state, frags)
                entry = {k: _deep(v) for k, v in add.items() if k != "node"}
                entry["node"] = node
                redacted_adds.append(entry)
            out["adds"] = redacted_adds
        texts = data.get("texts")
        if isinstance(texts, list):
            out["texts"] = [t for t in (self._text_change(state, t) for t in texts) if t is not None]
        if state.touched:
            out["texts"] = out.get("texts", [])
            self._remask_blocks(state, out["texts"])
        attributes = data.get("attributes")
        if isinstance(attributes, list):
            changes = (self._attr_change(state, a) for a in attributes)
            out["attributes"] = [a for a in changes if a is not None]
        for key, value in data.items():
            if key not in out and key not in ("adds", "texts", "attributes"):
                out[key] = _deep(value)
        return out

    def _text_change(self, state: _PageState, change: Any) -> dict | None:
        if not isinstance(change, dict):
            return None
        status = self._status(state, change.get("id"))
        if status == BLOCKED:
            return None
        out = {k: _deep(v) for k, v in change.items() if k != "value"}
        if "value" in change:
            value = change["value"]
            if status == MASKED:
                out["value"] = _mask_value(value)
            elif isinstance(value, str) and self._in_style(state, change.get("id")):
                out["value"] = redact_css(redact_text(value))
            else:
                typed = isinstance(value, str) and state.editable and self._editable(state, change.get("id"))
                out["value"] = redact_typed_value(value) if typed else _deep(value)
                if isinstance(out["value"], str):
                    self._remember_text(state, change.get("id"), out["value"])
        return out

    def _attr_change(self, state: _PageState, change: Any) -> dict | None:
        if not isinstance(change, dict):
            return None
        node_id = change.get("id")
        attrs = change.get("attributes")
        tag = ""
        if isinstance(attrs, dict):
            known_tag, known = state.elements.get(node_id, ("", {})) if _is_id(node_id) else ("", {})
            tag = known_tag
            merged = {**known, **self._relevant_attrs(attrs)}
            for name, value in attrs.items():
                if value is None and isinstance(name, str):
                    merged.pop(name.lower(), None)
            if _is_id(node_id):
                state.elements[node_id] = (tag, merged)
            self._mark(state, node_id, self._classify(tag, merged), merged)
            if tag == "input":
                self._segment(state, node_id, merged)
        status = self._status(state, node_id)
        if status == BLOCKED:
            return None
        out = {k: _deep(v) for k, v in change.items() if k != "attributes"}
        if "attributes" in change:
            out["attributes"] = (
                self._attrs(state, node_id, tag, attrs, status, _typed_value(tag, merged))
                if isinstance(attrs, dict)
                else {}
            )
        return out

    def _input(self, state: _PageState, data: dict) -> dict | None:
        node_id = data.get("id")
        status = self._status(state, node_id)
        if status == BLOCKED:
            return None
        out = {k: _deep(v) for k, v in data.items() if k != "text"}
        if "text" in data:
            text = data["text"]
            if status == MASKED:
                out["text"] = _mask_value(text)
            elif isinstance(text, str):
                tag, info = state.elements.get(node_id, ("", {})) if _is_id(node_id) else ("", {})
                redacted = redact_typed_value(text) if _typed_value(tag, info) else redact_text(text)
                if redacted != text:
                    self._mark(state, node_id, MASKED, {})
                    redacted = MASK
                out["text"] = redacted
            else:
                out["text"] = _deep(text)
        return out

    @staticmethod
    def _editable(state: _PageState, node_id: Any) -> bool:
        """Whether a node is inside a contenteditable element: what it holds is typed there."""
        seen = 0
        while _is_id(node_id) and seen <= _MAX_NODE_DEPTH:
            if node_id in state.editable:
                return True
            node_id, seen = state.parents.get(node_id), seen + 1
        return False

    @staticmethod
    def _in_style(state: _PageState, node_id: Any) -> bool:
        """Whether a text node is the text of a ``<style>`` element (CSS, not page text)."""
        parent = state.parents.get(node_id) if _is_id(node_id) else None
        return parent is not None and state.elements.get(parent, ("",))[0] == "style"

    # -- values split over neighbouring nodes ---------------------------------------------------

    def _segment(self, state: _PageState, node_id: Any, info: dict[str, str]) -> None:
        """Register a short input; enough of them under one close ancestor are all masked.

        A card number typed into four boxes of four digits (``autocomplete=cc-number`` often on the
        first only), an SSN in three, a one-time code in six: no box ever holds a whole identifier.
        """
        if "maxlength" not in info or not _is_id(node_id) or not _free_text("input", info):
            return
        try:
            length = int(info.get("maxlength", ""))
        except ValueError:
            return
        if not 0 < length <= _SEGMENT_MAX_LENGTH:
            return
        ancestor = state.parents.get(node_id)
        for _ in range(_SEGMENT_LEVELS):
            if ancestor is None:
                return
            members = state.segments.setdefault(ancestor, set())
            members.add(node_id)
            if len(members) >= _SEGMENT_GROUP:
                for member in members:
                    self._mark(state, member, MASKED, state.elements.get(member, ("", {}))[1])
                    relayed = state.out_inputs.get(member)  # earlier boxes of this same snapshot
                    if relayed is not None:
                        relayed["value"] = _mask_value(relayed["value"])
            ancestor = state.parents.get(ancestor)

    def _block_of(self, state: _PageState, node_id: int) -> int | None:
        """The nearest ancestor of a text node that is laid out as a block (as :meth:`_combine` reads)."""
        ancestor, seen = state.parents.get(node_id), 0
        while ancestor is not None and seen <= _MAX_NODE_DEPTH:
            tag = state.elements.get(ancestor, ("",))[0]
            if tag and tag not in _INLINE_TAGS and tag not in _CELL_TAGS:
                return ancestor if tag not in _SKIP_TAGS else None
            ancestor, seen = state.parents.get(ancestor), seen + 1
        return None

    def _remember_text(self, state: _PageState, node_id: Any, text: str) -> None:
        """Keep a short text with digits (a group of a number, perhaps) and note it as touched."""
        if not _is_id(node_id) or len(text) > _SHORT_TEXT or not _DIGIT.search(fold_digits(text)):
            return
        if node_id not in state.digit_texts:
            if len(state.digit_texts) >= _MAX_DIGIT_TEXTS:
                return
            block = self._block_of(state, node_id)
            if block is None:
                return
            state.block_texts.setdefault(block, []).append(node_id)
        state.digit_texts[node_id] = text
        state.touched.append(node_id)

    def _remask_blocks(self, state: _PageState, texts: list) -> None:
        """After a mutation: read each touched block's short texts together, mask what was relayed."""
        blocks = {b for node_id in state.touched if (b := self._block_of(state, node_id)) is not None}
        state.touched.clear()
        by_id = {t["id"]: t for t in texts if isinstance(t, dict) and _is_id(t.get("id"))}
        for block in blocks:
            members = sorted(i for i in set(state.block_texts.get(block, ())) if i in state.digit_texts)
            if len(members) < 2:
                continue
            pieces = [piece for i in members for piece in (state.digit_texts[i], " ")]
            redacted = redact_fragments(pieces)
            if redacted is None:
                continue
            for n, node_id in enumerate(members):
                value = redacted[2 * n]
                if value == state.digit_texts[node_id]:
                    continue
                state.digit_texts[node_id] = value
                if node_id in by_id:
                    by_id[node_id]["value"] = value
                else:
                    by_id[node_id] = {"id": node_id, "value": value}
                    texts.append(by_id[node_id])

    def _check(self, state: _PageState, frags: list) -> None:
        """Mask every fragment's part of an identifier that only the fragments read together show."""
        if len(frags) < 2:
            return
        redacted = redact_fragments([f[2] for f in frags])
        if redacted is None:
            return
        for i, (container, key, text, node_id) in enumerate(frags):
            if container is None or redacted[i] == text:
                continue
            if key == "value":
                container[key] = MASK
                if _is_id(node_id):
                    self._mark(state, node_id, MASKED, state.elements.get(node_id, ("", {}))[1])
            else:
                container[key] = redacted[i]
                if container.get("id") in state.digit_texts:
                    state.digit_texts[container["id"]] = redacted[i]
            frags[i] = (container, key, container[key], node_id)

    # -- page context --------------------------------------------------------------------------

    def _field(self, state: _PageState, item: Any) -> dict | None:
        if not isinstance(item, dict):
            return None
        dom_id = item.get("id") if isinstance(item.get("id"), str) else ""
        name = item.get("name") if isinstance(item.get("name"), str) else ""
        ftype = item.get("type") if isinstance(item.get("type"), str) else ""
        tag = "select" if ftype.startswith("select") else "textarea" if ftype == "textarea" else "input"
        attrs = {k: v for k, v in (("id", dom_id), ("name", name), ("type", ftype)) if v}
        masked = (
            item.get("masked") is not False
            or (dom_id and dom_id in state.sensitive_dom_ids)
            or (name and name in state.sensitive_names)
            or self._classify(tag, attrs) != PLAIN
        )
        value = item.get("value")
        redact = redact_typed_value if _typed_value(tag, attrs) else redact_text
        if not masked and isinstance(value, str) and redact(value) != value:
            masked = True
            if dom_id:
                state.sensitive_dom_ids.add(dom_id)
            if name:
                state.sensitive_names.add(name)
        out = {k: _deep(v) for k, v in item.items() if k not in ("value", "masked")}
        out["masked"] = bool(masked)
        if not masked and "value" in item:
            out["value"] = _deep(value)
        return out
