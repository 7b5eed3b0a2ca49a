// What the live console page says around the live view: the state badges, the form panel and the
// activity feed's lines for each server message (re-emitted by view.js as tandem:<type> events).
// No DOM here, so node's test runner checks every word the agent reads; page.js puts them on the page.
import { situation } from "./assist.js";
import { requestStepText } from "./requests.js";

export const PRESENCE = {
  connected: "Customer connected",
  reconnecting: "Customer reconnecting…",
  disconnected: "Customer disconnected",
  moved: "The customer moved sharing to another tab",
};
const QUALITY = { good: "Good", fair: "Fair", poor: "Poor" };
const STATUS = { complete: "Done", active: "Typing", error: "Error", pending: "Empty" };
const WATCHER_ROLE = { agent: "agent", viewer: "colleague", team: "customer's team" };
const SIGNALS = {
  stall: "Customer stalled",
  rage_click: "Rage clicks",
  scroll_thrash: "Scrolling back and forth",
  idle: "Customer idle",
  exit_intent: "About to leave the page",
  validation_error: "Validation error",
};
const own = (table, key) => (Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined);

// A duration as the console's timer shows it: m:ss, or h:mm:ss from an hour on.
export function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60));
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${mm.padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

export function presenceText(customer) {
  return own(PRESENCE, customer) || customer;
}

// The connection quality badge: its level, with the round trip when the server measured one.
export function qualityText({ level, rtt_ms: rtt } = {}) {
  const trip = Number.isFinite(rtt) && rtt > 0 ? ` · ${Math.round(rtt)} ms` : "";
  return `${own(QUALITY, level) || level}${trip}`;
}

// Words for a field's status; a masked field never says more than that it was filled in.
export function fieldStatusText(field) {
  if (field.masked && field.status === "complete") return "Done · hidden";
  return own(STATUS, field.status) || field.status;
}

// The form panel for one `page` message: one row per field, the completion, the focused field and
// how long the customer has been stuck. Unknown or missing values show as "—", never as NaN.
export function formSummary(data) {
  const fields = Array.isArray(data.fields) ? data.fields : [];
  const completion = Number.isFinite(data.completion) ? data.completion : 0;
  const focused = fields.find((f) => f.id === data.focused);
  return {
    rows: fields.map((field) => ({
      id: field.id,
      status: field.status,
      label: field.label || field.name || field.id,
      statusText: fieldStatusText(field),
      error: field.error || "",
      focused: field.id === data.focused,
    })),
    completion: `${completion}%`,
    focused: focused ? focused.label || focused.id : "—",
    stall: Number.isFinite(data.stalled_ms) ? clock(data.stalled_ms) : "—",
  };
}

// The feed notes a page once, when the customer moves to a new URL (not on every form update).
export function createPageTracker() {
  let lastUrl = null;
  return (data) => {
    if (!data.url || data.url === lastUrl) return null;
    lastUrl = data.url;
    return { kind: "page", text: `Page: ${data.title || data.url}` };
  };
}

// Everyone watching besides the customer, with their role. update() returns what the Watching line
// shows and, when asked to announce, the feed lines for who came and who went since the last list.
export function createWatchers() {
  let now = new Set();
  return (people, announce) => {
    const list = Array.isArray(people) ? people : [];
    const labels = list.map((p) => `${p.name} (${own(WATCHER_ROLE, p.role) || p.role})`);
    const next = new Set(labels);
    const lines = [];
    if (announce) {
      const line = (text) => lines.push({ kind: "participants", text });
      for (const label of next) if (!now.has(label)) line(`${label} is watching`);
      for (const label of now) if (!next.has(label)) line(`${label} stopped watching`);
    }
    now = next;
    return { text: labels.length ? labels.join(", ") : "—", lines };
  };
}

// A mode button is off once the session ended, and for the current mode and every mode below it.
export function modeButtonDisabled(buttonMode, mode, order, ended) {
  return ended || order.indexOf(buttonMode) <= order.indexOf(mode);
}

export function endReasonText(reason, endReasons = {}) {
  return own(endReasons, reason) || (reason || "").replace(/_/g, " ");
}

export function endedLine(reason) {
  return { kind: "ended", text: `Session ended${reason ? `: ${reason}` : ""}` };
}

// Why the server refused an invitation, from its JSON error body (DRF detail or field error).
export function inviteError(status, body) {
  const errors = body && Array.isArray(body.username) ? body.username : [];
  return (body && body.detail) || errors[0] || `${status}`;
}

// The feed line for one server message, or null when that message adds nothing to the feed.
// `page` and `participants` are stateful (createPageTracker, createWatchers) and `ended` is said
// once by the page itself (endedLine), so they are not here.
const LINES = {
  presence: (data) => ({ kind: "presence", text: presenceText(data.customer) }),
  mode: (data, labels) => ({ kind: "mode", text: `Mode is now ${own(labels, data.mode) || data.mode}` }),
  signal: (data) => {
    const where = data.field ? ` (${data.field})` : "";
    const detail = data.detail ? `: ${data.detail}` : "";
    return { kind: "signal", text: `${own(SIGNALS, data.kind) || data.kind}${where}${detail}` };
  },
  // Each step of a mode request, once the server has committed it (the customer's answer too).
  mode_request: (data, labels) => {
    const text = requestStepText(data, labels);
    return text ? { kind: data.step.startsWith("customer_") ? "decision" : "mode", text } : null;
  },
  decision: (data) => {
    if (String(data.request_id || "").startsWith("mode:")) return null; // said by mode_request
    return { kind: "decision", text: `The customer ${data.approved ? "allowed" : "denied"} the action` };
  },
  action_result: (data) =>
    data.ok
      ? { kind: "action", text: `Done on the customer's page: ${data.detail || "ok"}` }
      : { kind: "error", text: `Not done: ${data.detail || "refused"}` },
  control: (data) => ({ kind: "control", text: `${data.holder} now has control` }),
  assist: (data) => {
    if (!Array.isArray(data.proposals)) return { kind: "assist", text: data.text || data.message || "Suggestion" };
    const count = data.proposals.length;
    const why = situation(data.context_summary || {});
    return { kind: "assist", text: `Assistant: ${count} suggestion${count === 1 ? "" : "s"}${why ? ` (${why})` : ""}` };
  },
  error: (data) => ({
    kind: "error",
    text: data.code === "not_allowed" ? `Refused: ${data.message}` : data.message || data.code || "Error",
  }),
};

export function feedLine(type, data, labels = {}) {
  const line = own(LINES, type);
  return line ? line(data || {}, labels || {}) : null;
}
