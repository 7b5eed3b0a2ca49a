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

The package, by concern: :mod:`~cobrowse.masking.redactor` (the :class:`Redactor`),
:mod:`~cobrowse.masking.elements` (which elements are masked or blocked),
:mod:`~cobrowse.masking.values` (text and attribute rules), :mod:`~cobrowse.masking.layout` (values
split over neighbouring nodes), :mod:`~cobrowse.masking.nodes` (rrweb node state per page) and
:mod:`~cobrowse.masking.url`. The rules that need no relay message (patterns, selectors, presets)
are in the plain :mod:`masking` package; the names below are re-exported for callers.
"""

from __future__ import annotations

from cobrowse.masking.nodes import NodeFacts
from cobrowse.masking.redactor import Redactor
from cobrowse.masking.url import redact_url
from cobrowse.masking.values import FREE_TEXT_TYPES, STRUCTURAL_ATTRS
from masking.patterns import (
    MASK,
    fold_digits,
    iban_valid,
    luhn_valid,
    redact_css,
    redact_fragments,
    redact_text,
    redact_typed_value,
)
from masking.selector import Selector, parse_selector, parse_selectors

__all__ = [
    "FREE_TEXT_TYPES",
    "MASK",
    "STRUCTURAL_ATTRS",
    "NodeFacts",
    "Redactor",
    "Selector",
    "fold_digits",
    "iban_valid",
    "luhn_valid",
    "parse_selector",
    "parse_selectors",
    "redact_css",
    "redact_fragments",
    "redact_text",
    "redact_typed_value",
    "redact_url",
]
