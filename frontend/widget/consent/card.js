// The consent card on the page that will be shared: a modal dialog in a CLOSED shadow root (the page's
// scripts cannot read or press it). Every word comes from the server's describe call, the consent
// screen's own wording. Keyboard: focus moves to the dialog and stays there while it is open (Tab
// and Shift+Tab cycle its buttons), Escape answers Deny (nothing is shared), Enter or Space press
// the focused button.

export const STYLE = `
:host { all: initial; }
.backdrop { position: fixed; inset: 0; z-index: 2147483647; display: flex; align-items: center;
  justify-content: center; background: rgba(15, 23, 32, .55); font: 15px/1.45 system-ui, sans-serif; }
.card { box-sizing: border-box; width: min(460px, calc(100vw - 32px)); max-height: calc(100vh - 32px);
  overflow: auto; padding: 22px 24px; border-radius: 12px; background: #fff; color: #1d2733;
  box-shadow: 0 12px 40px rgba(0,0,0,.35); }
.card:focus { outline: none; }
h2 { margin: 0 0 10px; font-size: 19px; }
p, ul { margin: 0 0 12px; }
ul { padding-left: 20px; }
.note { color: #4a5663; font-size: 13px; }
.buttons { display: flex; gap: 10px; justify-content: flex-end; margin-top: 16px; }
button { font: inherit; font-weight: 600; border-radius: 6px; padding: 8px 16px; cursor: pointer;
  border: 2px solid #1d4ed8; background: #1d4ed8; color: #fff; }
button.deny { background: #fff; color: #1d2733; border-color: #6b7785; }
button:disabled { opacity: .6; cursor: default; }
button:focus-visible { outline: 3px solid #7fb3ff; outline-offset: 2px; }
[hidden] { display: none; }
@media (pointer: coarse) { button { min-height: 44px; } }
`;

// kind: the host's data-tandem (the seat card, tandem-seat.js, asks with the same card).
export function createCard({ doc = document, request, onAnswer, kind = "consent" }) {
  const host = doc.createElement("div");
  host.className = "rr-block";
  host.setAttribute("data-tandem", kind);
  const root = host.attachShadow({ mode: "closed" });
  root.innerHTML = `<style>${STYLE}</style>
<div class="backdrop">
  <div class="card" role="dialog" aria-modal="true" aria-labelledby="tandem-consent-title"
       aria-describedby="tandem-consent-prompt" tabindex="-1">
    <h2 id="tandem-consent-title"></h2>
    <p id="tandem-consent-prompt"></p>
    <ul class="details"></ul>
    <p class="note" role="status" aria-live="polite"></p>
    <div class="buttons">
      <button type="button" class="allow"></button>
      <button type="button" class="deny"></button>
      <button type="button" class="close" hidden>Close</button>
    </div>
  </div>
</div>`;
  const card = root.querySelector(".card");
  const note = root.querySelector(".note");
  const allow = root.querySelector(".allow");
  const deny = root.querySelector(".deny");
  const close = root.querySelector(".close");
  // textContent only: the server's words are never parsed as markup.
  root.querySelector("h2").textContent = request.title;
  root.querySelector("#tandem-consent-prompt").textContent = request.prompt;
  const list = root.querySelector(".details");
  for (const line of request.details || []) {
    const item = doc.createElement("li");
    item.textContent = line;
    list.appendChild(item);
  }
  allow.textContent = request.allow || "Allow";
  deny.textContent = request.deny || "Deny";

  let deciding = true;
  const previous = doc.activeElement;
  const answer = (value) => deciding && !allow.disabled && onAnswer(value);
  allow.addEventListener("click", () => answer(true));
  deny.addEventListener("click", () => answer(false));
  close.addEventListener("click", () => remove());

  card.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      if (deciding) answer(false);
      else remove();
    } else if (event.key === "Tab") {
      const buttons = [allow, deny, close].filter((b) => !b.hidden && !b.disabled);
      event.preventDefault();
      if (!buttons.length) return card.focus();
      const at = buttons.indexOf(root.activeElement);
      const step = event.shiftKey ? -1 : 1;
      const next = at < 0 ? (event.shiftKey ? buttons.length - 1 : 0) : (at + step + buttons.length) % buttons.length;
      buttons[next].focus();
    }
  });

  // Modal: focus that lands on the page behind (a script, an autofocus) comes back to the card.
  const keepFocus = (event) => {
    if (event.target !== host) card.focus();
  };
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
      if (!on) allow.focus();
    },
    error(text) {
      note.textContent = text;
    },
    // The question is over (denied, or no longer valid): say what happened, offer Close.
    finish(text) {
      deciding = false;
      note.textContent = text;
      allow.hidden = deny.hidden = true;
      close.hidden = false;
      close.focus();
    },
    remove,
  };
}
