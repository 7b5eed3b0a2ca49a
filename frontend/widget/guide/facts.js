// Reads what the rules (rules.js) need off a real element, finds the words that name it, and
// performs an approved action the way a person's input would look to the page's own scripts.
import { BLOCKED, isMaskedElement } from "../recorder/masking.js";

// The control a click really lands on: a click on a <span> inside a button clicks the button.
function clickTarget(el) {
  return el.closest("button, input, a[href], select, textarea, label") || el;
}

function submits(el) {
  const control = clickTarget(el);
  const tag = control.tagName.toLowerCase();
  if (tag === "button") return (control.type || "submit").toLowerCase() === "submit";
  if (tag === "input") return ["submit", "image"].includes((control.type || "").toLowerCase());
  return false;
}

function crossOrigin(el) {
  const link = el.closest("a[href], area[href]");
  if (!link) return false;
  try {
    return new URL(link.href, el.ownerDocument.baseURI).origin !== el.ownerDocument.defaultView.location.origin;
  } catch {
    return true;
  }
}

// el: an Element or null. maskSelector: the recorder's masking selector for this session.
export function elementFacts(el, maskSelector) {
  if (!el || el.nodeType !== 1 || !el.isConnected) return { found: false };
  const tag = el.tagName.toLowerCase();
  return {
    found: true,
    tag,
    type: tag === "input" ? (el.getAttribute("type") || "text").toLowerCase() : "",
    autocomplete: el.getAttribute("autocomplete") || "",
    masked: isMaskedElement(el, maskSelector),
    blocked: isMaskedElement(el, BLOCKED),
    submits: submits(el),
    crossOrigin: crossOrigin(el),
    disabled: Boolean(el.disabled),
  };
}

function textOfIds(doc, ids) {
  return (ids || "")
    .split(/\s+/)
    .map((id) => id && doc.getElementById(id))
    .filter(Boolean)
    .map((node) => node.textContent)
    .join(" ");
}

// The raw words for describeTarget(): never a field's value (it may be private).
export function targetWords(el) {
  if (!el || el.nodeType !== 1) return {};
  const control = clickTarget(el);
  const isField = /^(input|textarea|select)$/i.test(control.tagName);
  return {
    label: (control.labels && control.labels[0] && control.labels[0].textContent) ||
      textOfIds(control.ownerDocument, control.getAttribute("aria-labelledby")),
    ariaLabel: control.getAttribute("aria-label"),
    name: isField ? control.getAttribute("name") : "",
    text: isField ? "" : control.textContent,
    placeholder: control.getAttribute("placeholder"),
  };
}

function setNativeValue(el, value) {
  // The prototype's setter, not the element's own: frameworks (React) shadow `value` per element
  // and would otherwise miss the change.
  const view = el.ownerDocument.defaultView;
  const proto =
    el instanceof view.HTMLTextAreaElement
      ? view.HTMLTextAreaElement.prototype
      : el instanceof view.HTMLSelectElement
        ? view.HTMLSelectElement.prototype
        : view.HTMLInputElement.prototype;
  Object.getOwnPropertyDescriptor(proto, "value").set.call(el, value);
  el.dispatchEvent(new view.Event("input", { bubbles: true }));
  el.dispatchEvent(new view.Event("change", { bubbles: true }));
}

// Returns {ok, detail}. Call only after refusalReason() said "".
export function perform(el, kind, value = "") {
  if (kind === "click") {
    clickTarget(el).click();
    return { ok: true, detail: "clicked" };
  }
  if (kind === "select") {
    const wanted = String(value).trim().toLowerCase();
    const option = Array.from(el.options).find(
      (o) => o.value === value || o.textContent.trim().toLowerCase() === wanted,
    );
    if (!option) return { ok: false, detail: "that list has no such option" };
    setNativeValue(el, option.value);
    return { ok: true, detail: "selected" };
  }
  setNativeValue(el, value);
  return { ok: true, detail: kind === "autofill" ? "filled in" : "typed" };
}
