"""Pixel redaction for the server-side browser: solid boxes over masked fields, painted in the page.

Viewers of a server-side browser session get JPEG frames, so the DOM path's masking
(``cobrowse/masking.py``, ``frontend/widget/recorder/masking.js``) never sees them. Instead, every
document of the session's context (every frame, popups included) gets :func:`overlay_script` before
any page script runs. It paints a flat box over each element the DOM path masks: password fields,
``autocomplete`` ``cc-*`` / ``one-time-code`` / ``current-password`` / ``new-password``,
``[data-sensitive]``, ``[data-pii]``, ``.rr-mask``, ``.rr-block``, the account's redaction selectors,
and free-text fields whose value looks like a card number, SSN, IBAN or PAN (6+ digits, as the
widget's ``maskTypedValue``). The screencast captures the boxes like any other pixel, so staff
viewers, the recording and ``page.screenshot`` all get them (the customer's own viewer too: it shows
the same frames), and nothing is added per frame on the server.

Why in the page rather than on the decoded JPEG: no per-frame CPU in the runner (a decode, paint and
re-encode of a 1280x720 frame would be paid ten times a second per session) and no image library;
the boxes are placed in the same rendering step as the layout they follow:

* boxes live in a closed shadow root of one ``<tandem-redaction>`` element appended to
  ``<html>``: ``pointer-events: none`` (clicks and ``elementFromPoint`` go through to the page),
  the top ``z-index``;
* boxes of elements in the normal flow sit in a layer anchored to the document, so the compositor
  scrolls them together with the page (no lag on a main-document scroll, however fast); boxes of
  elements inside a ``position: fixed`` container sit in a fixed layer;
* they are recomputed on DOM mutations (a microtask: before the next paint), from a
  ``ResizeObserver`` (after layout, before paint), on nested scrolls, resizes, input, image and
  font loads, and every :data:`POLL_MS` as a safety net; while a transition or animation runs,
  every animation frame, each box then reaching :data:`LEAD_FRAMES` frames' worth of movement
  ahead (the compositor runs such animations ahead of the main thread); styles are written only
  when a box moved, so a still page stays still (no frames).

The race: a frame can be captured between a move the page's main thread has not seen yet and the
box update: a nested scroller (scrolled on the compositor thread), a CSS animation or transition of
the element (a sliver of the field at the start of a slide), a sticky container. For that window
the same rules also make the field's own text
transparent (``color``, ``-webkit-text-fill-color``; an important rule in a cascade layer, which
beats the page's unlayered important rules), so a lagging box can uncover the field's border or
background for a frame, never the characters typed into it (docs/benchmarks-screencast.md,
"Pixel redaction", measures how often a box lags).

The top layer (a modal ``<dialog>``, a popover, fullscreen) paints above any ``z-index``: while
anything else is in it, the boxes' host is shown as a popover after it (the last one is on top).

Not covered: the page's own shadow trees (``querySelectorAll`` does not pierce them) and card
numbers shown as page text rather than typed into a field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

#: The markup rules of the DOM path (``ALWAYS_MASKED`` and ``BLOCKED`` in the widget, the masked
#: fields of the never-list), as CSS selectors.
ALWAYS_REDACTED: tuple[str, ...] = (
    'input[type="password" i]',
    '[autocomplete^="cc-" i]',
    '[autocomplete*=" cc-" i]',
    '[autocomplete~="one-time-code" i]',
    '[autocomplete~="current-password" i]',
    '[autocomplete~="new-password" i]',
    "[data-sensitive]",
    "[data-pii]",
    ".rr-mask",
    ".rr-block",
)

#: The box colour: flat mid grey, visibly a redaction on light and dark pages alike.
BOX_COLOR = "#5b6169"
#: Safety-net recomputation for layout changes no observer reports (a ``:hover`` rule, a transition
#: still running): reads only, writes nothing unless a box moved.
POLL_MS = 250
#: Boxes follow a running transition or animation every frame for at most this long after it
#: started (an endless animation, a spinner, is not followed for ever).
FOLLOW_MS = 10_000
#: While something moves, boxes reach this many frames' worth of movement ahead of the element.
LEAD_FRAMES = 2
#: Pixels added on every side of an element's border box (anti-aliased edges, focus rings).
PAD_PX = 2

_OVERLAY_JS = r"""
((config) => {
  "use strict";
  const doc = document;
  const FREE_TEXT = new Set(["", "text", "search", "tel", "number", "email", "url"]);
  // The widget's maskTypedValue triggers: what could still become a card, SSN, IBAN or PAN.
  const LOOKS_SENSITIVE = [
    /(?<!\d)\d(?:[ -]?\d){5,}(?!\d)/,
    /(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)/,
    /(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){4,}/,
    /(?<![A-Za-z0-9])[A-Za-z]{5}\d{2,}[A-Za-z]?(?![A-Za-z0-9])/,
  ];
  const valid = (s) => {
    if (typeof s !== "string" || !s.trim() || /[{}]/.test(s)) return false;
    try { doc.createDocumentFragment().querySelector(s); return true; } catch (e) { return false; }
  };
  const rules = [...config.always, ...(config.selectors || []).filter(valid)];
  const selector = rules.join(",");
  const stats = config.measure ? { updates: 0, times: [], moved: 0 } : null;
  if (stats) Object.defineProperty(window, "__tandemRedactionStats", { value: stats });

  // The backstop: the masked fields' own text is never painted, so a box a frame late uncovers
  // no character. A cascade layer's important rules beat the page's unlayered important ones.
  try {
    const sheet = new CSSStyleSheet();
    const hide = "color: transparent !important; -webkit-text-fill-color: transparent !important;"
      + " text-shadow: none !important; caret-color: transparent !important;";
    for (const rule of rules) {
      try { sheet.insertRule(`@layer tandem-redaction { :is(${rule}), :is(${rule}) * { ${hide} } }`,
                             sheet.cssRules.length); } catch (e) {}
    }
    doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, sheet];
  } catch (e) {}

  let host = null, docLayer = null, fixedLayer = null;
  let running = 0, following = false, followUntil = 0;  // transitions and animations running
  let listen = () => {};
  const boxes = new Map();  // element -> { box, key: its last geometry, seen, v: velocity }
  const resized = new ResizeObserver(() => update());

  const ensureHost = () => {
    const html = doc.documentElement;
    if (!html) return false;
    if (host === null) {
      host = doc.createElement("tandem-redaction");
      const root = host.attachShadow({ mode: "closed" });
      const style = doc.createElement("style");
      style.textContent = ":host { all: initial !important; display: block !important;"
        + " position: absolute !important; left: 0 !important; top: 0 !important;"
        + " width: 0 !important; height: 0 !important; overflow: visible !important;"
        + " z-index: 2147483647 !important; pointer-events: none !important;"
        + " visibility: visible !important; opacity: 1 !important; transform: none !important;"
        + " filter: none !important; margin: 0 !important; }"
        + " .doc { position: absolute; left: 0; top: 0; }"
        + " .fixed { position: fixed; left: 0; top: 0; }"
        + ` .box { position: absolute; background: ${config.color}; pointer-events: none; }`;
      docLayer = doc.createElement("div");
      docLayer.className = "doc";
      fixedLayer = doc.createElement("div");
      fixedLayer.className = "fixed";
      root.append(style, docLayer, fixedLayer);
      resized.observe(html);
    }
    if (host.parentNode !== html) html.appendChild(host);
    return true;
  };

  const looksSensitive = (el) => {
    const tag = el.tagName;
    if (tag === "INPUT") {
      if (!FREE_TEXT.has((el.getAttribute("type") || "").toLowerCase())) return false;
    } else if (tag !== "TEXTAREA") return false;
    const value = el.value;
    return typeof value === "string" && value.length >= 6 && LOOKS_SENSITIVE.some((re) => re.test(value));
  };

  const collect = () => {
    const found = new Set();
    if (selector) for (const el of doc.querySelectorAll(selector)) found.add(el);
    for (const el of doc.querySelectorAll("input, textarea")) if (looksSensitive(el)) found.add(el);
    return found;
  };

  // The element's border box in viewport pixels (its contents' box for display: contents),
  // clipped to the scrollers around it; null when nothing of it is painted.
  const rectOf = (el) => {
    if (el.checkVisibility && !el.checkVisibility({ visibilityProperty: true })) return null;
    let r = el.getBoundingClientRect();
    if ((r.width <= 0 || r.height <= 0) && el.firstChild) {
      const range = doc.createRange();
      range.selectNodeContents(el);
      r = range.getBoundingClientRect();
    }
    if (r.width <= 0 || r.height <= 0) return null;
    let left = r.left - config.pad, top = r.top - config.pad;
    let right = r.right + config.pad, bottom = r.bottom + config.pad;
    let fixed = false;
    for (let a = el.parentElement; a && a !== doc.body && a !== doc.documentElement; a = a.parentElement) {
      const s = getComputedStyle(a);
      const escaped = fixed;  // a fixed element is not clipped by the scrollers around it
      if (s.position === "fixed") fixed = true;
      if (!escaped && (s.overflowX !== "visible" || s.overflowY !== "visible")) {
        const c = a.getBoundingClientRect();
        left = Math.max(left, c.left); top = Math.max(top, c.top);
        right = Math.min(right, c.right); bottom = Math.min(bottom, c.bottom);
      }
    }
    if (!fixed && getComputedStyle(el).position === "fixed") fixed = true;
    if (right <= left || bottom <= top) return null;
    return { left, top, width: right - left, height: bottom - top, fixed };
  };

  // A box over what moves (a transition, an animation) covers where its element was one frame
  // ago and where it will be config.lead frames ahead: the compositor may paint the element a
  // frame or two ahead of the position the main thread reads.
  const widen = (r, v) => {
    if (!v || running === 0 || (v.dx === 0 && v.dy === 0)) return r;
    const left = Math.min(r.left - v.dx, r.left + config.lead * v.dx, r.left);
    const top = Math.min(r.top - v.dy, r.top + config.lead * v.dy, r.top);
    const right = Math.max(r.left - v.dx, r.left + config.lead * v.dx, r.left) + r.width;
    const bottom = Math.max(r.top - v.dy, r.top + config.lead * v.dy, r.top) + r.height;
    return { left, top, width: right - left, height: bottom - top, fixed: r.fixed };
  };

  // tick: called once per animation frame while following (the velocities are measured then).
  function update(tick = false) {
    listen();
    if (!ensureHost()) return;
    const t0 = stats ? performance.now() : 0;
    const found = collect();
    const origin = host.getBoundingClientRect();
    for (const [el, entry] of boxes) {
      if (!found.has(el)) { entry.box.remove(); resized.unobserve(el); boxes.delete(el); }
    }
    for (const el of found) {
      let r = rectOf(el);
      let entry = boxes.get(el);
      if (!entry) {
        const box = doc.createElement("div");
        box.className = "box";
        entry = { box, key: "", seen: null, v: null };
        boxes.set(el, entry);
        resized.observe(el);
      }
      const box = entry.box;
      if (running === 0) entry.seen = entry.v = null;
      if (r === null) {
        if (entry.key !== "none") { box.style.display = "none"; entry.key = "none"; }
        continue;
      }
      if (tick) {
        const seen = entry.seen;
        entry.v = seen && seen.fixed === r.fixed ? { dx: r.left - seen.left, dy: r.top - seen.top } : null;
        entry.seen = r;
      }
      r = widen(r, entry.v);
      const x = r.fixed ? r.left : r.left - origin.left;
      const y = r.fixed ? r.top : r.top - origin.top;
      const key = `${r.fixed ? "f" : "d"} ${x} ${y} ${r.width} ${r.height}`;
      if (key === entry.key) continue;
      entry.key = key;
      const layer = r.fixed ? fixedLayer : docLayer;
      if (box.parentNode !== layer) layer.appendChild(box);
      box.style.cssText = `display:block;left:${x}px;top:${y}px;width:${r.width}px;height:${r.height}px`;
      if (stats) stats.moved += 1;
    }
    if (stats) { stats.updates += 1; stats.times.push(performance.now() - t0); }
  }

  // A dialog's "open" attribute changes as it enters or leaves the top layer.
  const opened = (records) => records.some((r) => r.type === "attributes" && r.attributeName === "open");
  new MutationObserver((records) => (opened(records) ? lift() : update())).observe(doc, {
    subtree: true, childList: true, attributes: true, characterData: true,
  });
  const later = { capture: true, passive: true };
  const refresh = () => update();
  // While a transition or an animation runs, follow it every frame (it moves things without a
  // mutation); stop when the last one ended, or after config.followMs (an endless spinner).
  const follow = () => {
    update(true);
    if (running > 0 && performance.now() < followUntil) requestAnimationFrame(follow);
    else { following = false; running = 0; }
  };
  const started = () => {
    running += 1;
    followUntil = performance.now() + config.followMs;
    if (!following) { following = true; requestAnimationFrame(follow); }
  };
  const ended = () => { running = Math.max(0, running - 1); update(); };
  // document.open() erases a document's listeners: listen() runs again on every update (adding a
  // listener that is already there does nothing).
  listen = () => {
    for (const type of ["scroll", "input", "change", "load", "DOMContentLoaded"]) {
      doc.addEventListener(type, refresh, later);
    }
    for (const type of ["beforetoggle", "toggle", "close", "fullscreenchange"]) {
      doc.addEventListener(type, lifted, later);
    }
    for (const type of ["transitionrun", "animationstart"]) doc.addEventListener(type, started, later);
    for (const type of ["transitionend", "transitioncancel", "animationend", "animationcancel"]) {
      doc.addEventListener(type, ended, later);
    }
  };
  // The top layer (a modal <dialog>, a popover, fullscreen) paints above any z-index: while
  // something else is in it, the boxes go there too, as a popover shown after it (last on top).
  function lift() {
    if (host === null) return;
    try {
      let others = false;
      for (const el of doc.querySelectorAll(":modal, :popover-open, :fullscreen")) others ||= el !== host;
      if (others) {
        if (host.getAttribute("popover") !== "manual") host.setAttribute("popover", "manual");
        if (host.matches(":popover-open")) host.hidePopover();
        host.showPopover();
      } else if (host.hasAttribute("popover")) {
        if (host.matches(":popover-open")) host.hidePopover();
        host.removeAttribute("popover");
      }
    } catch (e) {}
    update();
  }
  // beforetoggle is dispatched inside showModal() / showPopover(): the microtask runs once the
  // element is in the top layer, before the next paint.
  function lifted(event) { if (event.target !== host) queueMicrotask(lift); }
  window.addEventListener("resize", refresh, later);
  try { doc.fonts.addEventListener("loadingdone", refresh); } catch (e) {}
  setInterval(() => update(), config.pollMs);
  update();
})(__CONFIG__);
"""


def overlay_script(selectors: Iterable[str] = (), *, measure: bool = False) -> str:
    """The init script for a session's context: boxes over what the DOM path masks.

    ``selectors``: the account's redaction selectors (checked in the page; an invalid one is
    skipped, never fatal). ``measure`` exposes update timings on ``window`` (benchmarks only).
    """
    config = {
        "always": list(ALWAYS_REDACTED),
        "selectors": [s for s in selectors if isinstance(s, str)],
        "color": BOX_COLOR,
        "pollMs": POLL_MS,
        "followMs": FOLLOW_MS,
        "lead": LEAD_FRAMES,
        "pad": PAD_PX,
        "measure": bool(measure),
    }
    return _OVERLAY_JS.replace("__CONFIG__", json.dumps(config))


def account_selectors(session: Any) -> tuple[str, ...]:
    """The account's selectors and its industry presets' as the widget gets them (the page checks
    each one: a selector the server's parser does not know can still cover pixels)."""
    account = getattr(getattr(session, "ticket", None), "account", None)
    raw = getattr(account, "masking_selectors", None) or ()
    return tuple(s for s in raw if isinstance(s, str) and s.strip())
