// The help card: the page's own consent card (same look, same words: the server's), with the
// consent screen's choices (view only, guidance, control; recording when the account offers it).
// A modal dialog in a CLOSED shadow root while it asks; afterwards a small, non-modal status card
// ("Waiting for an agent…", Cancel) that leaves the page usable. Escape answers Deny while asking.
import { STYLE } from "../consent/card.js";

const EXTRA = `
fieldset { border: 0; margin: 0 0 12px; padding: 0; }
legend { font-weight: 600; margin-bottom: 6px; }
label { display: flex; gap: 8px; align-items: flex-start; margin: 0 0 6px; }
.status { position: fixed; left: 16px; bottom: 16px; z-index: 2147483647; max-width: min(360px, calc(100vw - 32px));
  padding: 14px 16px; border-radius: 10px; background: #fff; color: #1d2733; font: 15px/1.45 system-ui, sans-serif;
  box-shadow: 0 6px 24px rgba(0,0,0,.3); }
.status p { margin: 0 0 10px; }
`;

export function createHelpCard({ doc = document, words, title, onAllow, onDeny, onCancel }) {
  const host = doc.createElement("div");
  host.className = "rr-block";
  host.setAttribute("data-tandem", "help");
  const root = host.attachShadow({ mode: "closed" });
  root.innerHTML = `<style>${STYLE}${EXTRA}</style>
<div class="backdrop">
  <div class="card" role="dialog" aria-modal="true" aria-labelledby="th-title" aria-describedby="th-prompt" tabindex="-1">
    <h2 id="th-title"></h2>
    <p id="th-prompt"></p>
    <fieldset class="modes"><legend>What may the agent do?</legend></fieldset>
    <ul class="details"></ul>
    <p class="note" role="alert"></p>
    <div class="buttons"><button type="button" class="allow"></button><button type="button" class="deny"></button></div>
  </div>
</div>
<div class="status" role="status" aria-live="polite" hidden><p class="text"></p>
  <div class="buttons"><button type="button" class="deny cancel">Cancel</button><button type="button" class="deny close" hidden>Close</button></div>
</div>`;
  const $ = (s) => root.querySelector(s);
  const backdrop = $(".backdrop");
  const card = $(".card");
  const modes = $(".modes");
  const status = $(".status");
  const allow = $(".allow");
  const deny = $(".deny");
  // textContent only: the server's words are never parsed as markup.
  $("h2").textContent = title || words.title;
  $("#th-prompt").textContent = words.prompt;
  const addChoice = (parent, type, value, text, checked) => {
    const label = doc.createElement("label");
    const input = doc.createElement("input");
    input.type = type;
    input.name = type === "radio" ? "mode" : "recording";
    input.value = value;
    input.checked = checked;
    label.append(input, doc.createTextNode(text));
    parent.appendChild(label);
    return input;
  };
  (words.modes || []).forEach((m, i) => addChoice(modes, "radio", m.mode, m.explanation, i === 0));
  const recording = words.recording ? addChoice(modes, "checkbox", "on", words.recording, false) : null;
  for (const line of words.details || []) {
    const item = doc.createElement("li");
    item.textContent = line;
    $(".details").appendChild(item);
  }
  allow.textContent = words.allow || "Allow";
  deny.textContent = words.deny || "Deny";

  const previous = doc.activeElement;
  let modal = true;
  const focusables = () => [...root.querySelectorAll(modal ? ".card input, .card button" : ".status button")].filter((b) => !b.disabled && !b.closest("[hidden]") && !b.hidden);
  allow.addEventListener("click", () => {
    const chosen = root.querySelector("input[name=mode]:checked");
    onAllow({ mode: chosen ? chosen.value : "view_only", recording: !!(recording && recording.checked) });
  });
  deny.addEventListener("click", () => onDeny());
  $(".cancel").addEventListener("click", () => onCancel());
  $(".close").addEventListener("click", () => remove());
  root.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      if (modal) onDeny();
      else if (!$(".close").hidden) remove();
    } else if (event.key === "Tab" && modal) {
      const items = focusables();
      event.preventDefault();
      const at = items.indexOf(root.activeElement);
      items[(at + (event.shiftKey ? -1 : 1) + items.length) % items.length].focus();
    }
  });
  const keepFocus = (event) => modal && event.target !== host && card.focus();
  (doc.body || doc.documentElement).appendChild(host);
  doc.addEventListener("focusin", keepFocus, true);
  card.focus();

  function remove() {
    doc.removeEventListener("focusin", keepFocus, true);
    host.remove();
    if (previous && previous.focus && previous !== doc.body) previous.focus();
  }

  return {
    busy(on) {
      allow.disabled = deny.disabled = on;
    },
    error(text) {
      $(".note").textContent = text;
      allow.disabled = deny.disabled = false;
      allow.focus();
    },
    // After the question: the small status card, with Cancel while waiting, else Close.
    show(text, { cancellable = false } = {}) {
      if (modal) {
        modal = false;
        backdrop.hidden = true;
        status.hidden = false;
      }
      $(".text").textContent = text;
      $(".cancel").hidden = !cancellable;
      $(".close").hidden = cancellable;
      (cancellable ? $(".cancel") : $(".close")).focus();
    },
    remove,
  };
}
