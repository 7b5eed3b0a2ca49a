// The customer's answers: Allow / Deny prompts and short notices, in their own closed shadow root
// (class rr-block: never recorded, so nothing here reaches the agent except the answer itself).

const STYLE = `
:host { all: initial; }
.stack { position: fixed; right: 16px; bottom: 76px; z-index: 2147483647; display: flex;
  flex-direction: column; gap: 8px; align-items: flex-end; max-width: min(380px, calc(100vw - 32px));
  font: 14px/1.4 system-ui, sans-serif; }
.card { background: #1d2733; color: #fff; border-radius: 10px; padding: 12px 14px;
  box-shadow: 0 6px 20px rgba(0,0,0,.35); border-left: 4px solid #ff3d7f; }
.card p { margin: 0 0 10px; overflow-wrap: anywhere; }
.toast { border-left-color: #2fb170; }
.toast p, .expired p { margin: 0; }
.expired { border-left-color: #9aa5b1; }
.row { display: flex; gap: 8px; align-items: center; }
.left { margin-left: auto; color: #c4ccd6; font-size: 12px; }
button { font: inherit; font-weight: 600; border: 0; border-radius: 6px; padding: 6px 14px; cursor: pointer; }
.allow { background: #15803d; color: #fff; } /* white on it: 5:1 (WCAG 1.4.3) */
.deny { background: #fff; color: #1d2733; }
button:focus-visible { outline: 3px solid #7fb3ff; outline-offset: 2px; }
@media (pointer: coarse) { button { min-height: 44px; } }
/* A phone's badge is tall (its text wraps): the requests go to the top, clear of it. */
@media (max-width: 480px) { .stack { top: 16px; bottom: auto; } }
`;

export const ASK_TIMEOUT_MS = 30000;
const TOAST_MS = 4000;

export function createPrompts(doc = document) {
  const view = doc.defaultView;
  const host = doc.createElement("div");
  host.className = "rr-block";
  host.setAttribute("data-tandem", "prompts");
  const root = host.attachShadow({ mode: "closed" });
  root.innerHTML = `<style>${STYLE}</style><div class="stack" role="region" aria-label="Requests from your support agent"></div>`;
  const stack = root.querySelector(".stack");
  (doc.body || doc.documentElement).appendChild(host);
  const open = new Set();

  function notice(text, className, ms = TOAST_MS) {
    const card = doc.createElement("div");
    card.className = `card ${className}`;
    card.setAttribute("role", "status");
    const p = doc.createElement("p");
    p.textContent = text;
    card.append(p);
    stack.append(card);
    view.setTimeout(() => card.remove(), ms);
  }

  // Resolves to "allow", "deny" or "expired" (no answer within timeoutMs, or withdrawn).
  function ask(text, { timeoutMs = ASK_TIMEOUT_MS } = {}) {
    const card = doc.createElement("div");
    card.className = "card ask";
    card.setAttribute("role", "alertdialog");
    card.setAttribute("aria-live", "assertive");
    card.innerHTML = `<p></p><div class="row"><button type="button" class="allow">Allow</button>
<button type="button" class="deny">Deny</button><span class="left"></span></div>`;
    card.querySelector("p").textContent = text;
    const left = card.querySelector(".left");
    stack.append(card);
    const endsAt = Date.now() + timeoutMs;
    return new Promise((resolve) => {
      const entry = { settle: null };
      const tick = () => (left.textContent = `${Math.max(0, Math.ceil((endsAt - Date.now()) / 1000))} s`);
      const countdown = view.setInterval(tick, 1000);
      const expiry = view.setTimeout(() => entry.settle("expired"), timeoutMs);
      tick();
      entry.settle = (answer) => {
        view.clearInterval(countdown);
        view.clearTimeout(expiry);
        open.delete(entry);
        card.remove();
        if (answer === "expired") notice(`Expired: ${text}`, "expired", 3000);
        resolve(answer);
      };
      open.add(entry);
      card.querySelector(".allow").addEventListener("click", () => entry.settle("allow"));
      card.querySelector(".deny").addEventListener("click", () => entry.settle("deny"));
    });
  }

  return {
    ask,
    toast: (text) => notice(text, "toast"),
    // Open prompts answer "expired" (the mode dropped, or the session ended).
    withdrawAll: () => [...open].forEach((entry) => entry.settle("expired")),
    destroy() {
      [...open].forEach((entry) => entry.settle("expired"));
      host.remove();
    },
  };
}
