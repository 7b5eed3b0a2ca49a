// The assistant's proposals in the console (server message `assist {proposals, context_summary}`):
// the plain-language line for each, and the message its Apply button sends. No DOM here, so node's
// test runner checks the words and the messages; assist_panel.js puts them on the page.
//
// Apply uses the existing messages only, and the server judges them as if the agent had picked the
// tool by hand: prompt → a guidance text (`annotate` text), highlight → `annotate` highlight,
// autofill → an `action` (Controlled mode: the customer approves it; lower modes: refused by the
// server). Scroll, speech and browse are shown for the agent to act on, never sent by themselves.

export const MAX_GUIDANCE_TEXT = 200; // the `annotate` text limit (docs/relay.md)
const APPLIES = new Set(["prompt", "highlight", "autofill"]);
const isNode = (id) => Number.isInteger(id) && id >= 0;
const own = (table, key) => (Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined);

// Where an item on file came from, as an agent would say it.
export function sourceText(source) {
  const key = String(source || "").replace(/^crm_data\./, "");
  if (!key) return "data on file";
  return key === "postal_code" || key === "address" || key === "city" || key === "phone" || key === "date_of_birth"
    ? "profile"
    : `data on file (${key.replace(/_/g, " ")})`;
}

// A field's name for the agent: its label on the customer's page when the console saw one.
export function fieldName(fieldId, fields = {}) {
  const field = fieldId ? own(fields, fieldId) : undefined;
  return (field && (field.label || field.name)) || fieldId || "the page";
}

// Why the assistant speaks now: "Customer stalled 25 s on PIN code", or "" when it cannot say.
export function situation(summary = {}, fields = {}) {
  const name = fieldName(summary.field, fields);
  const seconds = Math.round((Number(summary.stall_ms) || 0) / 1000);
  const pct = Math.round(Number(summary.completion_pct) || 0);
  switch (summary.trigger) {
    case "stall":
      return `Customer stalled ${seconds} s on ${name}`;
    case "validation_error":
      return `${name} shows an error`;
    case "rage_click":
      return "Customer is clicking repeatedly";
    case "scroll_thrash":
      return "Customer is scrolling back and forth";
    case "idle":
      return `Customer idle for ${seconds} s`;
    case "exit_intent":
      return `Customer about to leave at ${pct} %`;
    default:
      return "";
  }
}

const quoted = (text) => `“${String(text || "").trim()}”`;

// The line for one proposal, e.g. "Customer stalled 25 s on PIN code — fill 560001 from profile?".
export function proposalText(proposal, summary = {}, fields = {}) {
  const name = fieldName(proposal.field, fields);
  const why = situation(summary, fields);
  const lead = (text) => (why ? `${why} — ${text}` : text.charAt(0).toUpperCase() + text.slice(1));
  switch (proposal.kind) {
    case "autofill":
      return lead(
        proposal.field === summary.field
          ? `fill ${proposal.value} from ${sourceText(proposal.source)}?`
          : `fill ${name} with ${proposal.value} from ${sourceText(proposal.source)}?`,
      );
    case "prompt":
      return lead(`show the customer ${quoted(proposal.text)}`);
    case "highlight":
      return `Highlight ${name} on the customer's page`;
    case "scroll":
      return `${name} is off screen: Scroll to it from the toolbar if it helps`;
    case "speech":
      return `Say on the call: ${quoted(proposal.text)}`;
    case "browse":
      return `Page that may help: ${proposal.url}`;
    default:
      return "A suggestion this console cannot show";
  }
}

// What the Apply button of a proposal is called (its accessible name says what it does), or null
// for a proposal that is information only.
export function applyLabel(proposal, fields = {}) {
  const name = fieldName(proposal.field, fields);
  switch (proposal.kind) {
    case "autofill":
      return { text: "Apply", name: `Apply: fill ${name} with ${proposal.value}` };
    case "prompt":
      return { text: "Apply", name: `Apply: show the customer ${quoted(proposal.text)}` };
    case "highlight":
      return { text: "Apply", name: `Apply: highlight ${name}` };
    default:
      return null;
  }
}

// Why a proposal cannot be applied from here ("" when it can): never into a masked field, never
// without the page the console shows.
export function applyBlocker(proposal, { fields = {}, pageId = null, nodeId = null } = {}) {
  if (!APPLIES.has(proposal.kind)) return "information only";
  const field = proposal.field ? own(fields, proposal.field) : undefined;
  if (proposal.kind === "autofill" && field && field.masked) return "the field is masked: it is never filled in";
  if (!pageId) return "the customer's page is not showing yet";
  if ((proposal.kind === "autofill" || proposal.kind === "highlight") && !isNode(nodeId)) {
    return `${fieldName(proposal.field, fields)} is not on the page the console shows`;
  }
  return "";
}

// The message Apply sends: {type, data}. `nodeId`: the field's node in the replayed page (or null).
export function applyMessage(proposal, { pageId, nodeId = null }) {
  const node = isNode(nodeId) ? { node_id: nodeId } : {};
  switch (proposal.kind) {
    case "prompt": {
      const text = String(proposal.text || "").trim();
      const clipped = text.length > MAX_GUIDANCE_TEXT ? `${text.slice(0, MAX_GUIDANCE_TEXT - 1)}…` : text;
      // A label needs a place: the field's node, else the top of the page.
      const where = isNode(nodeId) ? node : { x: 24, y: 24 };
      return { type: "annotate", data: { kind: "text", page_id: pageId, text: clipped, ...where } };
    }
    case "highlight":
      return { type: "annotate", data: { kind: "highlight", page_id: pageId, ...node } };
    case "autofill":
      return { type: "action", data: { kind: "autofill", page_id: pageId, value: String(proposal.value), ...node } };
    default:
      return null;
  }
}

// What the item says once Apply was pressed, before the server or the customer answered.
export function sentText(proposal, mode) {
  if (proposal.kind !== "autofill") return "Sent to the customer's page";
  if (mode === "full") return "Sent: filled in under Full control";
  if (mode === "controlled") return "Sent: waiting for the customer's approval";
  return "Sent: the server refuses actions below Control mode";
}

// A key that is the same for the same proposals: a message resent after a reconnect changes nothing.
export function assistKey(data) {
  return JSON.stringify((data && data.proposals) || []);
}
