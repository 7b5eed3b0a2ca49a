// tandem-triggers.js: loaded by the loader only when the site called Tandem.init({help: true}).
// Watches the page for trouble (rules.js) and offers help with a small prompt. Everything runs in
// the page: nothing is sent anywhere. "Get help" only tells the page (a `tandem:help-requested`
// DOM event and options.onHelpRequested); the loader answers that event with the help chunk
// (tandem-help.js: the in-page consent card and the request an agent takes).
import { createPrompt } from "./prompt.js";
import { completionOf, errorOf, fieldId, hasValue, isField } from "./progress.js";
import { createTriggers } from "./rules.js";
import { promptText } from "./text.js";

const TICK_MS = 250;

function start(options = {}, { win = window } = {}) {
  const doc = win.document;
  const engine = createTriggers(options);
  const touched = new WeakSet();
  let prompt = null;
  let errors = new Map();

  const stateOf = (el) => (hasValue(el) ? "filled" : "empty");
  const targetOf = (el) => {
    const named = el && el.closest && el.closest("[id], [name]");
    return named ? named.id || named.getAttribute("name") : (el && el.tagName) || "";
  };

  function show(fired) {
    for (const hit of fired) {
      if (prompt) prompt.close();
      const detail = { trigger: hit.trigger, field: hit.field, completion: hit.completion ?? completionOf(doc) };
      const current = createPrompt({
        doc,
        text: promptText({ ...hit, completion: detail.completion }),
        onHelp: () => {
          doc.dispatchEvent(new CustomEvent("tandem:help-requested", { bubbles: true, detail }));
          if (options.onHelpRequested) options.onHelpRequested(detail);
        },
        onClose: () => {
          if (prompt === current) prompt = null;
        },
      });
      prompt = current;
    }
  }

  const feed = (event) => show(engine.handle({ at: Date.now(), ...event }));
  const field = (fn) => (e) => isField(e.target) && fn(e.target);
  const listeners = {
    focusin: field((el) => feed({ type: "focus", field: fieldId(el), state: stateOf(el) })),
    input: field((el) => {
      touched.add(el);
      feed({ type: "input", field: fieldId(el), state: stateOf(el) });
    }),
    focusout: field((el) => {
      touched.add(el);
      feed({ type: "blur", field: fieldId(el) });
    }),
    keydown: () => feed({ type: "key" }),
    click: (e) => feed({ type: "click", target: targetOf(e.target), state: isField(e.target) ? stateOf(e.target) : "" }),
    scroll: () => feed({ type: "scroll", y: win.scrollY }),
    mouseout: (e) => !e.relatedTarget && e.clientY <= 0 && feed({ type: "exit", completion: completionOf(doc) }),
  };
  const exit = () => feed({ type: "exit", completion: completionOf(doc) });
  for (const [type, listener] of Object.entries(listeners)) doc.addEventListener(type, listener, { capture: true, passive: true });
  // Leaving: the tab closing or reloading, and the back button of a single-page app.
  win.addEventListener("beforeunload", exit);
  win.addEventListener("popstate", exit);

  // Validation errors appear without an event on the field: read them on each tick.
  function scanErrors(at) {
    const now = new Map();
    for (const el of doc.querySelectorAll("input, select, textarea")) {
      if (!isField(el)) continue;
      const error = errorOf(el, touched.has(el));
      if (error) now.set(fieldId(el), error);
    }
    for (const id of new Set([...errors.keys(), ...now.keys()])) {
      if (errors.get(id) !== now.get(id)) engine.handle({ type: "error", field: id, error: now.get(id) || "", at });
    }
    errors = now;
  }

  // For the page's lifetime: the triggers stop with the page.
  setInterval(() => {
    const at = Date.now();
    scanErrors(at);
    show(engine.tick(at));
  }, TICK_MS);
}

window.TandemTriggers = { start };
