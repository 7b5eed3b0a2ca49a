"""The never-list in the server-side browser: look at what an action would touch before it happens.

Whatever a client says about its own action, the runner asks the page which element would receive
it (the selector's element, ``elementFromPoint`` for a click at x/y, the focused element for keys
and text) and turns what it finds into facts for :func:`cobrowse.policy.never_reason`, the one place
for the rules (docs/architecture.md, "Control modes"). A refused action is never performed.

What counts, walking up from the element to the nearest button, link, input or label (a label
stands for its control):

* **submit**: ``input[type=submit|image]``; a ``button`` of type submit (or without a type) that
  belongs to a form; an element whose inline ``onclick`` calls ``submit``/``requestSubmit``; Enter in
  a field that belongs to a form (implicit submission, textareas excepted); Enter or Space on a
  focused submit control.
* **pay**: ``autocomplete=cc-*``, anything inside ``[data-tandem-pay]``, and a button or link whose
  short label starts with one of :data:`PAY_LABELS`.
* **file**: a file input (or its label).
* **masked fields**, for typing and key presses only: password and hidden inputs, ``autocomplete``
  ``cc-*``, ``one-time-code``, ``current-password``/``new-password``, ``[data-sensitive]``,
  ``[data-pii]``, ``.rr-mask``, ``.rr-block`` and the account's own redaction selectors (the markup
  rules of ``cobrowse/masking.py``).
* **navigation** (``goto``, a click on a link) to an origin outside the session's allowed origins
  (the account's ``allowed_origins`` and the start URL's origin). Navigations the page starts by
  itself (scripts, meta refresh, redirects, popups) meet the same rule in :class:`NavigationGuard`.

Irreversible actions stay with the customer: the agent's input and API actions meet the whole list in
every mode, while the customer's own input, when the customer holds the browser, is their decision
and meets only the rules that guard the worker itself: no navigation outside the allowed origins, no
file chooser (it would open the worker's disk). See :func:`customer_facts`.

Behind the probe, :func:`submit_backstop_script` keeps every form from being submitted unless the
runner opened the page's gate around one of the customer's inputs (:data:`OPEN_GATE_JS`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cobrowse import policy

#: Labels of buttons and links that pay (matched case-insensitively at the start of the label).
PAY_LABELS = ("pay", "place order", "place your order", "purchase", "buy now", "complete purchase")

#: Input kinds that act on the element under the pointer, or on the focused element.
POINTER_KINDS = frozenset({"click", "dblclick"})
KEY_KINDS = frozenset({"press", "key"})
TEXT_KINDS = frozenset({"type", "text"})
NAVIGATION_KINDS = frozenset({"goto"})
GUARDED_KINDS = POINTER_KINDS | KEY_KINDS | TEXT_KINDS | NAVIGATION_KINDS

_PROBE_JS = """
([target, selectors, payLabels]) => {
  const closestSafe = (el, s) => { try { return el.closest(s); } catch (e) { return null; } };
  let el = null;
  if (target.selector) {
    try { el = document.querySelector(target.selector); } catch (e) { el = null; }
  } else if (target.x !== undefined && target.x !== null) {
    el = document.elementFromPoint(target.x, target.y);
    while (el && el.shadowRoot) {
      const inner = el.shadowRoot.elementFromPoint(target.x, target.y);
      if (!inner || inner === el) break;
      el = inner;
    }
  } else {
    el = document.activeElement;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  }
  if (!el || el === document.body || el === document.documentElement) return { found: !!el };
  const controls = "button, a[href], input, select, textarea, label, [role=button], [role=link]";
  let control = closestSafe(el, controls) || el;
  if (control.tagName === "LABEL" && control.control) control = control.control;
  const tag = control.tagName.toLowerCase();
  const type = (control.getAttribute("type") || "").toLowerCase();
  const ac = (control.getAttribute("autocomplete") || "").toLowerCase();
  const form = control.form || closestSafe(control, "form");
  const label = ((control.innerText || control.value || control.getAttribute("aria-label") || "")
    .trim().replace(/\\s+/g, " ")).slice(0, 80);
  const onclick = (control.getAttribute("onclick") || "") + (el.getAttribute("onclick") || "");
  const submitButton = tag === "button" && form && (type === "" || type === "submit");
  const submitInput = tag === "input" && (type === "submit" || type === "image");
  const scriptSubmit = /(requestSubmit|\\.submit)\\s*\\(/.test(onclick);
  const isButtonish = tag === "button" || tag === "a" || control.getAttribute("role") === "button"
    || (tag === "input" && ["submit", "button", "image", "reset"].includes(type));
  const lower = label.toLowerCase();
  const payLabel = isButtonish && label.length <= 40 && payLabels.some(p =>
    lower === p || lower.startsWith(p + " ") || lower.startsWith(p + "\\u00a0"));
  const matches = s => { try { return control.closest(s) !== null; } catch (e) { return false; } };
  const masked = selectors.some(matches) || closestSafe(control,
    "[data-sensitive], [data-pii], .rr-mask, .rr-block") !== null || type === "hidden";
  let href = "";
  const link = closestSafe(el, "a[href]");
  if (link) href = link.href;
  return {
    found: true,
    tag, type, autocomplete: ac, label,
    text_field: tag === "textarea" || tag === "select" || (tag === "input" && !["submit", "button",
      "image", "reset", "checkbox", "radio", "file", "range", "color"].includes(type)),
    in_form: !!form,
    submit_control: !!(submitButton || submitInput || scriptSubmit),
    pay: payLabel || ac.startsWith("cc-") || closestSafe(control, "[data-tandem-pay]") !== null,
    masked,
    href,
  };
}
"""


@dataclass(frozen=True)
class Facts:
    """What the page says about the element an action would reach."""

    found: bool = False
    tag: str = ""
    type: str = ""
    autocomplete: str = ""
    label: str = ""
    text_field: bool = False
    in_form: bool = False
    submit_control: bool = False
    pay: bool = False
    masked: bool = False
    href: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_page(cls, raw: Mapping[str, Any] | None) -> Facts:
        raw = raw or {}
        return cls(
            found=bool(raw.get("found")),
            tag=str(raw.get("tag", ""))[:20],
            type=str(raw.get("type", ""))[:30],
            autocomplete=str(raw.get("autocomplete", ""))[:100],
            label=str(raw.get("label", ""))[:80],
            text_field=bool(raw.get("text_field")),
            in_form=bool(raw.get("in_form")),
            submit_control=bool(raw.get("submit_control")),
            pay=bool(raw.get("pay")),
            masked=bool(raw.get("masked")),
            href=str(raw.get("href", ""))[:2000],
        )

    def describe(self) -> str:
        """A short, safe description of the target for the customer's prompt and the feed."""
        if not self.found or not self.tag:
            return "the page"
        what = {"a": "link", "button": "button", "select": "list", "textarea": "text box"}.get(self.tag)
        if what is None:
            what = f"{self.type} field" if self.tag == "input" and self.type else "element"
        if self.masked or self.type in ("password", "hidden") or self.autocomplete.startswith("cc-"):
            return what
        return f"{what} '{self.label[:40]}'" if self.label else what


def target_of(kind: str, action: Mapping[str, Any]) -> dict[str, Any]:
    """Where the probe looks: the selector, the point, or (keys, viewer text) the focused element."""
    if action.get("selector") and kind not in ("press", "key", "text"):
        return {"selector": str(action["selector"])}
    if kind in POINTER_KINDS and action.get("x") is not None and action.get("y") is not None:
        return {"x": float(action["x"]), "y": float(action["y"])}
    return {}


async def probe(page: Any, kind: str, action: Mapping[str, Any], selectors: Iterable[str]) -> Facts:
    """Ask the page about the element ``action`` would reach (its main frame)."""
    raw = await page.evaluate(_PROBE_JS, [target_of(kind, action), list(selectors), list(PAY_LABELS)])
    return Facts.from_page(raw)


def never_facts(kind: str, action: Mapping[str, Any], facts: Facts) -> dict[str, Any]:
    """The facts ``policy.never_reason`` decides on, for this kind of action."""
    if kind in NAVIGATION_KINDS:
        return {"kind": "navigate", "url": str(action.get("url", ""))}
    if kind in POINTER_KINDS:
        if facts.pay:
            return {"kind": "pay"}
        if facts.type == "file":
            return {"kind": "click", "input_type": "file"}
        if facts.submit_control:
            return {"kind": "click", "submits": True}
        if facts.href and policy.origin_of(facts.href):
            return {"kind": "navigate", "url": facts.href}
        return {"kind": "click"}
    if kind in KEY_KINDS:
        key = str(action.get("key", "")).rsplit("+", 1)[-1]
        out: dict[str, Any] = {"kind": "type"}
        if key in ("Enter", "NumpadEnter") and (
            facts.submit_control or (facts.in_form and facts.tag in ("input", "select"))
        ):
            out["submits"] = True
        if key in ("Space", " ") and facts.submit_control:
            out["submits"] = True
        if facts.pay and key in ("Enter", "NumpadEnter", "Space", " "):
            return {"kind": "pay"}
        return {**out, **_field_facts(facts)}
    if kind in TEXT_KINDS:
        return {"kind": "type", **_field_facts(facts)}
    return {"kind": kind}


def customer_facts(kind: str, action: Mapping[str, Any], facts: Facts) -> dict[str, Any]:
    """The facts for the customer's own input while they hold the browser: submitting, paying and
    their own masked fields are theirs; leaving the allowed origins and file choosers are not."""
    if kind in NAVIGATION_KINDS:
        return {"kind": "navigate", "url": str(action.get("url", ""))}
    if kind in POINTER_KINDS:
        if facts.type == "file":
            return {"kind": "click", "input_type": "file"}
        if facts.href and policy.origin_of(facts.href):
            return {"kind": "navigate", "url": facts.href}
        return {"kind": "click"}
    if kind in KEY_KINDS:
        key = str(action.get("key", "")).rsplit("+", 1)[-1]
        if facts.type == "file" and key in ("Enter", "NumpadEnter", "Space", " "):
            return {"kind": "click", "input_type": "file"}
        if key in ("Enter", "NumpadEnter") and facts.href and policy.origin_of(facts.href):
            return {"kind": "navigate", "url": facts.href}
        return {"kind": "type"}
    return {"kind": "type" if kind in TEXT_KINDS else kind}


def _field_facts(facts: Facts) -> dict[str, Any]:
    return {"input_type": facts.type, "autocomplete": facts.autocomplete, "masked": facts.masked}


def refusal(
    session: Any, kind: str, action: Mapping[str, Any], facts: Facts, *, customer_holder: bool = False
) -> str:
    """Why this action is on the never-list, or ``""`` (``session``: ticket.account, target_url).

    ``customer_holder``: the input is the customer's own while the customer holds the browser (the
    runner checked both); only :func:`customer_facts` count then.
    """
    decide_on = customer_facts if customer_holder else never_facts
    reason = policy.never_reason(session, decide_on(kind, action, facts))
    if reason == "'pay' is never allowed":
        return "paying is never allowed"
    return reason


#: The page-level submit backstop, once per context with a fresh token (:func:`submit_backstop_script`).
#: Every submission is stopped (the submit event, ``HTMLFormElement.prototype.submit``) unless the
#: gate is open; only the runner opens it, around the customer's own input, with the token that lives
#: in this closure and nowhere in the page. An open gate also shuts by itself after
#: :data:`GATE_OPEN_MS`, should the runner's close never arrive.
_BACKSTOP_JS = """
((token, openMs) => {
  const now = performance.now.bind(performance);
  const apply = Reflect.apply;
  let until = -1;
  const isOpen = () => now() < until;
  const gate = Object.freeze({
    open(t) { if (typeof t === "string" && t === token) until = now() + openMs; return isOpen(); },
    close(t) { if (typeof t === "string" && t === token) until = -1; return isOpen(); },
  });
  Object.defineProperty(window, "__tandemSubmitGate",
    { value: gate, configurable: false, writable: false, enumerable: false });
  window.addEventListener("submit", (e) => {
    if (isOpen()) return;
    e.preventDefault(); e.stopImmediatePropagation();
  }, true);
  const proto = HTMLFormElement.prototype;
  const nativeSubmit = proto.submit;
  Object.defineProperty(proto, "submit", {
    value: function submit() { if (isOpen()) return apply(nativeSubmit, this, []); },
    configurable: false, writable: false,
  });
})(%s, %d);
"""

#: How long the gate stays open at most (the runner closes it as soon as the input was dispatched).
GATE_OPEN_MS = 3000

#: ``page.evaluate`` (each frame) with the token as the argument: open or close the gate.
OPEN_GATE_JS = "(t) => { const g = window.__tandemSubmitGate; return g ? g.open(t) : false; }"
CLOSE_GATE_JS = "(t) => { const g = window.__tandemSubmitGate; return g ? g.close(t) : false; }"


def submit_backstop_script(token: str) -> str:
    """The init script for a context whose gate opens only with ``token``."""
    return _BACKSTOP_JS % (json.dumps(token), GATE_OPEN_MS)


# --- top-level navigation ------------------------------------------------------------------------

#: A session's rule for top-level navigations: the refusal reason for a URL, or ``""``.
NavigationRule = Callable[[str], str]
#: Told of each refused navigation: the URL (not to be logged whole) and the reason.
NavigationRefused = Callable[[str, str], None]

#: What the browser answers a refused navigation with: 204 No Content makes Chromium abandon the
#: navigation without committing anything, so the page stays on the document it was showing.
_NO_CONTENT = {"responseCode": 204, "responseHeaders": [], "body": ""}
_NOT_A_TARGET = "No target with given id"


def navigation_refusal(session: Any, url: str) -> str:
    """Why a top-level navigation to ``url`` may not happen in ``session``, or ``""``."""
    return policy.never_reason(session, {"kind": "navigate", "url": url})


class NavigationGuard:
    """Holds every top-level navigation in one Chromium to its session's origins, hop by hop.

    Why CDP ``Fetch`` on the *browser* target, with one pattern (``resourceType: Document``,
    request stage):

    * Playwright's ``route()`` sees only the first hop of a redirect chain (docs/egress.md); ``Fetch``
      pauses every hop of a chain as a request of its own.
    * A page-level CDP session reaches a popup (``window.open``, ``target=_blank``) only once
      Playwright has handed the new page over, after its first request may already have left. The
      browser target's ``Fetch`` is enabled once, right after launch, and pauses the first request of
      every page in every context, popups included.
    * The egress proxy cannot tell a top-level document from a subframe or a subresource: for HTTPS it
      sees a ``CONNECT`` and nothing of the request.

    Only top-level frames are judged: a frame id that is a page target (a main frame's id is its
    target's id) is top level; one that is no target (an in-process subframe) or an ``iframe`` target
    (out of process) is a subframe and is continued: subframes follow the egress rules only, as every
    subresource does. A refused navigation is answered 204, so Chromium abandons it and the page stays
    where it was; a redirect hop answered so ends the whole chain. Fail-closed: a top-level request
    whose context's rule cannot be found or whose check fails is refused. Contexts this guard was not
    told about (created outside :meth:`BrowserHost.new_context`) and contexts registered without a
    rule are left alone.
    """

    PATTERNS = [{"urlPattern": "*", "resourceType": "Document", "requestStage": "Request"}]

    def __init__(self) -> None:
        self.cdp: Any = None
        self.rules: dict[str, tuple[NavigationRule, NavigationRefused] | None] = {}
        self.paused = 0
        self.refused = 0
        self._top_level: dict[str, str] = {}  # page target id (= main frame id) -> browser context id
        self._tasks: set[Any] = set()

    async def attach(self, browser: Any) -> None:
        """Start intercepting in ``browser`` (a freshly launched one: no context exists yet)."""
        self.rules.clear()
        self._top_level.clear()
        cdp = await browser.new_browser_cdp_session()
        cdp.on("Fetch.requestPaused", self._on_paused)
        await cdp.send("Fetch.enable", {"patterns": self.PATTERNS})
        self.cdp = cdp

    async def context_ids(self) -> set[str]:
        ids = await self.cdp.send("Target.getBrowserContexts")
        return set(ids.get("browserContextIds") or [])

    def register(
        self, context_id: str, rule: NavigationRule | None, on_refused: NavigationRefused | None = None
    ) -> None:
        self.rules[context_id] = (rule, on_refused or (lambda url, reason: None)) if rule else None

    def forget(self, context_id: str) -> None:
        self.rules.pop(context_id, None)
        for target, context in list(self._top_level.items()):
            if context == context_id:
                self._top_level.pop(target, None)

    def _on_paused(self, event: dict[str, Any]) -> None:
        task = asyncio.ensure_future(self._decide(self.cdp, event))  # never block the CDP handler
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _decide(self, cdp: Any, event: dict[str, Any]) -> None:
        self.paused += 1
        url = str((event.get("request") or {}).get("url", ""))
        entry: tuple[NavigationRule, NavigationRefused] | None = None
        try:
            context_id = await self._top_level_context(cdp, str(event.get("frameId", "")))
            if context_id is None or context_id not in self.rules:
                reason = ""
            else:
                entry = self.rules[context_id]
                reason = entry[0](url) if entry is not None else ""
        except Exception:
            reason = "the navigation could not be checked"
        request = {"requestId": event["requestId"]}
        if reason:
            self.refused += 1
            if entry is not None:  # told first: whoever waits on the navigation sees why it failed
                with contextlib.suppress(Exception):
                    entry[1](url, reason)
        with contextlib.suppress(Exception):  # the page or the browser may have gone meanwhile
            if reason:
                await cdp.send("Fetch.fulfillRequest", {**request, **_NO_CONTENT})
            else:
                await cdp.send("Fetch.continueRequest", request)

    async def _top_level_context(self, cdp: Any, frame_id: str) -> str | None:
        """The browser context of a top-level frame; None for a subframe."""
        if frame_id in self._top_level:
            return self._top_level[frame_id]
        try:
            info = (await cdp.send("Target.getTargetInfo", {"targetId": frame_id}))["targetInfo"]
        except Exception as exc:
            if _NOT_A_TARGET in str(exc):
                return None  # an in-process subframe has no target of its own
            raise
        if info.get("type") in ("iframe", "worker", "shared_worker", "service_worker"):
            return None
        context_id = str(info.get("browserContextId", ""))
        if len(self._top_level) > 1000:
            self._top_level.clear()
        self._top_level[frame_id] = context_id
        return context_id
