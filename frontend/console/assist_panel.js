// The console's Assistant panel: the latest proposals of the assistant (server message `assist`), one
// line each with an Apply button for prompt, highlight and autofill, a Copy button for speech, and
// nothing to press for scroll and browse. The words and messages come from assist.js; the server
// judges every message Apply sends (mode, never-list, the customer's approval) as if the agent had
// used the toolbar. New proposals are announced politely to screen readers.
import { applyBlocker, applyLabel, applyMessage, assistKey, proposalText, sentText } from "./assist.js";
import { nodeForField } from "./targeting.js";

// How long after an Apply a refusal from the server is taken to be about it.
const REFUSAL_WINDOW_MS = 4000;

function element(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

// root: the panel's section (holds [data-testid=assist-list], -empty, -announce); live: the live view's
// handle (send, replayer, pageId); getMode(): the session's mode; feed(kind, text): the activity feed.
export function createAssistPanel({ root, live, getMode, feed }) {
  const list = root.querySelector("[data-testid=assist-list]");
  const empty = root.querySelector("[data-testid=assist-empty]");
  const announce = root.querySelector("[data-testid=assist-announce]");
  const canApply = root.dataset.canApply === "true";
  let fields = {};
  let current = null; // the latest assist data
  let shownKey = "";
  let lastApplied = null; // {status, at, proposal}: where the server's answer to an Apply is shown

  function setStatus(status, text, state = "") {
    status.textContent = text;
    status.dataset.state = state;
  }

  function apply(proposal, status, button) {
    const pageId = live.pageId;
    const nodeId = proposal.field ? nodeForField(live.replayer, proposal.field) : null;
    const blocker = applyBlocker(proposal, { fields, pageId, nodeId });
    if (blocker) {
      setStatus(status, `Not sent: ${blocker}`, "error");
      return;
    }
    const message = applyMessage(proposal, { pageId, nodeId });
    if (!message || !live.send(message.type, message.data)) {
      setStatus(status, "Not connected: nothing was sent", "error");
      return;
    }
    button.disabled = true;
    setStatus(status, sentText(proposal, getMode()), "sent");
    lastApplied = { status, button, proposal, at: Date.now() };
    feed(message.type === "action" ? "action" : "guide", `Assistant: ${proposalText(proposal, {}, fields)}`);
  }

  function copy(text, status) {
    const done = () => setStatus(status, "Copied", "sent");
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, () => setStatus(status, "Could not copy", "error"));
    } else {
      setStatus(status, "Could not copy", "error");
    }
  }

  function item(proposal, summary) {
    const li = element("li", "console-assist__item");
    li.dataset.kind = proposal.kind;
    if (proposal.field) li.dataset.field = proposal.field;
    const line = element("p", "console-assist__text", proposalText(proposal, summary, fields));
    const status = element("span", "console-assist__status small");
    status.setAttribute("role", "status");
    li.append(line);
    const label = applyLabel(proposal, fields);
    if (label && canApply) {
      const button = element("button", "btn btn--primary btn--small", label.text);
      button.type = "button";
      button.setAttribute("aria-label", label.name);
      button.setAttribute("data-testid", "assist-apply");
      const field = proposal.field && fields[proposal.field];
      if (proposal.kind === "autofill" && field && field.masked) {
        button.disabled = true;
        setStatus(status, "The field is masked: it is never filled in", "error");
      }
      button.addEventListener("click", () => apply(proposal, status, button));
      li.append(button);
    } else if (proposal.kind === "speech") {
      const button = element("button", "btn btn--secondary btn--small", "Copy");
      button.type = "button";
      button.setAttribute("aria-label", "Copy what to say on the call");
      button.addEventListener("click", () => copy(proposal.text, status));
      li.append(button);
    }
    li.append(status);
    return li;
  }

  function render() {
    list.replaceChildren();
    const proposals = (current && current.proposals) || [];
    empty.hidden = proposals.length > 0;
    const summary = (current && current.context_summary) || {};
    for (const proposal of proposals) list.append(item(proposal, summary));
  }

  return {
    // A new `assist` message: shown instead of the previous one; the same one again (a console that
    // reconnected) changes nothing and is not announced twice.
    show(data) {
      const key = assistKey(data);
      if (key === shownKey) return;
      shownKey = key;
      current = data;
      lastApplied = null;
      render();
      const first = (data.proposals || [])[0];
      if (first) announce.textContent = `New suggestion: ${proposalText(first, data.context_summary || {}, fields)}`;
    },
    // The customer's latest page: field labels and which fields are masked. The list is drawn
    // again only when it was drawn before any page was known (labels instead of ids), so a status
    // shown after an Apply stays.
    page(data) {
      const known = Object.keys(fields).length > 0;
      fields = {};
      for (const field of Array.isArray(data.fields) ? data.fields : []) {
        if (field && field.id) fields[field.id] = field;
      }
      if (!known && current && !lastApplied) render();
    },
    // The server's answers that follow an Apply: a refusal, the customer's decision, the result.
    answer(type, data) {
      if (!lastApplied || Date.now() - lastApplied.at > REFUSAL_WINDOW_MS * (type === "error" ? 1 : 30)) return;
      const { status, button } = lastApplied;
      if (type === "error" && data.code === "not_allowed") {
        setStatus(status, `Refused: ${data.message}`, "error");
        button.disabled = false;
        lastApplied = null;
      } else if (
        type === "decision" &&
        lastApplied.proposal.kind === "autofill" &&
        String(data.request_id || "").startsWith("action:")
      ) {
        setStatus(status, data.approved ? "The customer approved" : "The customer declined", data.approved ? "sent" : "error");
        if (!data.approved) lastApplied = null;
      } else if (type === "action_result" && lastApplied.proposal.kind === "autofill") {
        setStatus(status, data.ok ? "Filled in on the customer's page" : `Not done: ${data.detail || "failed"}`, data.ok ? "done" : "error");
        lastApplied = null;
      }
    },
  };
}
