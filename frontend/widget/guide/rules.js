// Which agent actions the widget refuses on its own, whatever the server said (defence in depth).
// The same never-list as cobrowse/policy.py, decided here from facts read off the real element.
// Pure: `facts` is a plain object (see facts.js), so the rules are unit-tested without a DOM.

const TEXT_TYPES = new Set(["", "text", "search", "tel", "number", "email", "url"]);
const SENSITIVE_AUTOCOMPLETE = /^(cc-|one-time-code|current-password|new-password)/;

// facts: {found, tag, type, autocomplete, masked, blocked, submits, disabled, crossOrigin}
// Returns "" when the action may go ahead, otherwise the reason it may not.
export function refusalReason(kind, facts, value = "") {
  if (!facts || !facts.found) return "that element is not on the customer's current page";
  if (facts.submits) return "submitting a form is never allowed";
  if (facts.crossOrigin) return "navigating to another site is never allowed";
  // The most specific reason first: a password field is masked too.
  const type = (facts.type || "").toLowerCase();
  if (type === "password" || type === "file") return `${type} fields are never touched`;
  if (SENSITIVE_AUTOCOMPLETE.test((facts.autocomplete || "").toLowerCase().trim())) {
    return "payment, password and one-time-code fields are never touched";
  }
  if (facts.masked || facts.blocked) return "masked fields can never be read or changed";
  if (facts.disabled) return "that field is disabled";
  if (kind === "type" || kind === "autofill") {
    if (/[\r\n]/.test(value)) return "typing Enter could submit a form, which is never allowed";
    const typeable = facts.tag === "textarea" || (facts.tag === "input" && TEXT_TYPES.has(type));
    if (!typeable) return "only text fields can be typed into";
  } else if (kind === "select") {
    if (facts.tag !== "select") return "only drop-down lists can be selected from";
  } else if (kind !== "click") {
    return `unknown action '${kind}'`;
  }
  return "";
}

// Tandem.init's allowedActions: a site may only NARROW what the mode allows, refused here before
// anything is asked or done. The server stays the authority on what the mode allows at all.
export function siteRefusal(kind, allowedActions) {
  return Array.isArray(allowedActions) && !allowedActions.includes(kind) ? `this site does not allow '${kind}' actions` : "";
}
