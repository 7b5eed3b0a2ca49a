// The help prompt: a small card in a CLOSED shadow root at the bottom left (the badge has the
// right). Non-blocking (no backdrop, no focus taken, no trap), announced politely (role=status),
// reachable with Tab, dismissed by its close button or Escape. One at a time: a new one replaces it.
const STYLE = `:host{all:initial}
.card{position:fixed;left:16px;bottom:16px;z-index:2147483646;box-sizing:border-box;width:min(320px,calc(100vw - 32px));
padding:12px 50px 12px 14px;border-radius:10px;background:#1d2733;color:#fff;font:14px/1.4 system-ui,sans-serif}
p{margin:0 0 8px}
button{font:inherit;font-weight:600;border:0;border-radius:6px;padding:6px 10px;cursor:pointer}
.close{position:absolute;top:6px;right:6px;padding:2px 8px;background:none;color:#fff;font-size:18px}
button:focus-visible{outline:3px solid #7fb3ff;outline-offset:2px}
@media (pointer:coarse){button{min-height:44px;min-width:44px}}`;

// onHelp(): the customer asked for help from this prompt.
export function createPrompt({ doc = document, text, onHelp, onClose = () => {} }) {
  const host = doc.createElement("div");
  host.className = "rr-block";
  host.setAttribute("data-tandem", "help-prompt");
  const root = host.attachShadow({ mode: "closed" });
  root.innerHTML = `<style>${STYLE}</style><div class="card" role="status" aria-live="polite">
<p></p><button type="button" class="help">Get help</button>
<button type="button" class="close" aria-label="Dismiss">×</button></div>`;
  // Filled after insertion so that the live region announces it.
  const message = root.querySelector("p");
  let closed = false;

  function close() {
    if (closed) return;
    closed = true;
    doc.removeEventListener("keydown", onKey, true);
    host.remove();
    onClose();
  }
  function onKey(event) {
    if (event.key === "Escape") close();
  }
  root.querySelector(".close").addEventListener("click", close);
  root.querySelector(".help").addEventListener("click", () => {
    close();
    onHelp();
  });
  doc.addEventListener("keydown", onKey, true);
  doc.body.appendChild(host);
  setTimeout(() => (message.textContent = text), 50);
  return { close };
}
