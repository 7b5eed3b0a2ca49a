// The form state the agent's side panel shows (`page` messages) and the friction signals
// (`signal` messages). Values travel only for unmasked fields, and pattern-masked even then.
import { BLOCKED, isMaskedElement, isSegment, maskFieldValue, maskPatterns, maskUrl } from "./masking.js";
import { createRageClickDetector } from "./rage_clicks.js";

const FIELDS = "input, select, textarea";
const NOT_FIELDS = new Set(["hidden", "submit", "button", "reset", "image"]);
const THROTTLE_MS = 500;
const HEARTBEAT_MS = 5000;
// The help triggers' defaults (triggers/rules.js): a stall after 20 s (or the site's
// stallThresholdMs), exit intent only when the form is between 30 % and 90 % complete.
export const STALL_MS = 20000;
const EXIT_INTENT_GAP_MS = 10000;
export const EXIT_GATE = [30, 90];

function cleanText(text, limit = 160) {
  return maskPatterns((text || "").replace(/\s+/g, " ").trim()).slice(0, limit);
}

function textOfIds(doc, ids) {
  return (ids || "")
    .split(/\s+/)
    .map((id) => id && doc.getElementById(id))
    .filter(Boolean)
    .map((el) => el.textContent)
    .join(" ");
}

// A masked field's own attributes are masked too (its placeholder may be "Ends 4242"), so its label
// comes only from the page's labels or its name.
function labelOf(el, masked) {
  const doc = el.ownerDocument;
  const fromLabel = el.labels && el.labels.length ? el.labels[0].textContent : "";
  return cleanText(
    fromLabel ||
      textOfIds(doc, el.getAttribute("aria-labelledby")) ||
      (!masked && (el.getAttribute("aria-label") || el.getAttribute("placeholder"))) ||
      el.name ||
      "",
    120,
  );
}

// aria-errormessage, then a described-by or nearby `.error` / role=alert, then the browser's own
// validation message once the person has interacted with the field.
function errorOf(el, touched) {
  const doc = el.ownerDocument;
  const invalid = el.getAttribute("aria-invalid") === "true";
  let text = invalid
    ? textOfIds(doc, el.getAttribute("aria-errormessage")) || textOfIds(doc, el.getAttribute("aria-describedby"))
    : "";
  if (!text) {
    // A nearby message counts only if its container holds this one field.
    const container = el.closest(".field, .form-group, .form-field, p, li") || el.parentElement;
    const ownContainer = container && container.querySelectorAll(FIELDS).length === 1;
    const marker = ownContainer && container.querySelector(".error, [role=alert]");
    if (marker) text = marker.textContent;
  }
  if (!text && touched && el.validity && !el.validity.valid) text = el.validationMessage;
  text = cleanText(text);
  return text || (invalid ? "Invalid" : "");
}

function checkedRadio(el, doc) {
  return el.name ? doc.querySelector(`input[type=radio][name="${CSS.escape(el.name)}"]:checked`) : null;
}

function hasValue(el, doc) {
  if (el.type === "radio") return Boolean(checkedRadio(el, doc));
  if (el.type === "checkbox") return el.checked;
  return Boolean(el.value && el.value.trim());
}

function valueOf(el, doc, selector) {
  if (el.type === "radio") {
    const checked = checkedRadio(el, doc);
    return checked ? maskFieldValue(checked.value, checked, selector) : "";
  }
  if (el.type === "checkbox") return el.checked ? el.value || "on" : "";
  return maskFieldValue(el.value, el, selector) || "";
}

// Every field with its label and status, the completion percentage (of the required fields when
// the form marks any) and the focused field.
export function describeForm(doc, selector, touched) {
  const entries = [];
  const seenRadioGroups = new Set();
  doc.querySelectorAll(FIELDS).forEach((el, index) => {
    if (NOT_FIELDS.has(el.type)) return;
    if (el.type === "radio" && el.name) {
      if (seenRadioGroups.has(el.name)) return;
      seenRadioGroups.add(el.name);
    }
    const masked = isMaskedElement(el, selector) || isSegment(el) || el.matches(BLOCKED) || el.type === "file";
    const error = errorOf(el, touched.has(el));
    const focused = doc.activeElement === el || (el.type === "radio" && doc.activeElement?.name === el.name);
    let status = "pending";
    if (error) status = "error";
    else if (focused) status = "active";
    else if (hasValue(el, doc)) status = "complete";
    const field = {
      id: el.id || el.name || `field-${index}`,
      name: el.name || "",
      label: labelOf(el, masked),
      type: el.type,
      status,
      error,
      masked,
    };
    if (!masked) field.value = valueOf(el, doc, selector);
    entries.push({ field, required: el.required, focused });
  });
  const required = entries.filter((e) => e.required);
  const counted = required.length ? required : entries;
  const complete = counted.filter((e) => e.field.status === "complete").length;
  const focusedEntry = entries.find((e) => e.focused);
  return {
    fields: entries.map((e) => e.field),
    completion: counted.length ? Math.round((100 * complete) / counted.length) : 0,
    focused: focusedEntry ? focusedEntry.field.id : null,
  };
}

function scrollDepthNow(win) {
  const doc = win.document.documentElement;
  const height = Math.max(doc.scrollHeight, 1);
  return Math.min(100, Math.round((100 * (win.scrollY + win.innerHeight)) / height));
}

// Watches the page and calls onContext(pageData) on change (throttled, plus a heartbeat for
// stalled_ms) and onSignal(signalData) for friction. Returns a stop function.
export function watchPage({ win = window, pageId, selector, onContext, onSignal, stallMs = STALL_MS }) {
  const doc = win.document;
  const touched = new WeakSet();
  const isRageClick = createRageClickDetector();
  let lastActivity = Date.now();
  let stallReported = false;
  let rageClicks = 0;
  let scrollDepth = scrollDepthNow(win);
  let lastExitIntent = 0;
  let lastSentKey = "";
  let lastErrors = new Map();
  let throttleTimer = null;
  let pendingUpdate = false;

  function snapshot() {
    return {
      page_id: pageId,
      url: maskUrl(win.location.href),
      title: maskPatterns(doc.title),
      ...describeForm(doc, selector, touched),
      stalled_ms: Date.now() - lastActivity,
      rage_clicks: rageClicks,
      scroll_depth: scrollDepth,
    };
  }

  function reportNewErrors(fields) {
    const errors = new Map(fields.filter((f) => f.status === "error").map((f) => [f.id, f.error]));
    for (const [id, error] of errors) {
      if (lastErrors.get(id) !== error) onSignal({ kind: "validation_error", field: id, detail: error });
    }
    lastErrors = errors;
  }

  function send(force) {
    const context = snapshot();
    const { stalled_ms, ...rest } = context;
    const key = JSON.stringify(rest);
    if (key === lastSentKey && !force) return;
    lastSentKey = key;
    reportNewErrors(context.fields);
    onContext(context);
  }

  function schedule() {
    if (throttleTimer) {
      pendingUpdate = true;
      return;
    }
    send(false);
    throttleTimer = setTimeout(() => {
      throttleTimer = null;
      if (pendingUpdate) {
        pendingUpdate = false;
        schedule();
      }
    }, THROTTLE_MS);
  }

  function activity() {
    const wasStalled = stallReported;
    lastActivity = Date.now();
    stallReported = false;
    if (wasStalled) send(true);
  }

  const listeners = {
    input: (e) => {
      touched.add(e.target);
      activity();
      schedule();
    },
    change: () => schedule(),
    focusin: () => {
      activity();
      schedule();
    },
    focusout: (e) => {
      touched.add(e.target);
      schedule();
    },
    invalid: (e) => {
      touched.add(e.target);
      schedule();
    },
    keydown: () => activity(),
    click: (e) => {
      activity();
      if (isRageClick(e.clientX, e.clientY, Date.now())) {
        rageClicks += 1;
        const target = e.target && e.target.closest && e.target.closest("[id], [name]");
        onSignal({ kind: "rage_click", field: target ? target.id || target.getAttribute("name") : undefined });
        schedule();
      }
    },
    scroll: () => {
      activity();
      const depth = scrollDepthNow(win);
      if (depth > scrollDepth) {
        scrollDepth = depth;
        schedule();
      }
    },
    mouseout: (e) => {
      if (e.relatedTarget || e.clientY > 0) return;
      const now = Date.now();
      if (now - lastExitIntent < EXIT_INTENT_GAP_MS) return;
      const { completion } = describeForm(doc, selector, touched);
      if (completion < EXIT_GATE[0] || completion > EXIT_GATE[1]) return;
      lastExitIntent = now;
      onSignal({ kind: "exit_intent", detail: `${completion} % complete` });
    },
  };
  for (const [type, listener] of Object.entries(listeners)) {
    doc.addEventListener(type, listener, { capture: true, passive: true });
  }

  // Error messages and new fields appear without any event on the field itself.
  const observer = new MutationObserver(() => schedule());
  observer.observe(doc.documentElement, {
    subtree: true,
    childList: true,
    characterData: true,
    attributes: true,
    attributeFilter: ["aria-invalid", "class", "hidden", "disabled"],
  });

  const heartbeat = setInterval(() => {
    if (!stallReported && Date.now() - lastActivity >= stallMs) {
      stallReported = true;
      onSignal({ kind: "stall", detail: `no activity for ${Math.round((Date.now() - lastActivity) / 1000)} s` });
    }
    send(true);
  }, HEARTBEAT_MS);

  send(true);

  return function stop() {
    for (const [type, listener] of Object.entries(listeners)) {
      doc.removeEventListener(type, listener, { capture: true });
    }
    observer.disconnect();
    clearInterval(heartbeat);
    clearTimeout(throttleTimer);
  };
}
