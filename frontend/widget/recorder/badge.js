// The "Sharing this page" badge. Its host carries rr-block and a CLOSED shadow root: rrweb records
// only a placeholder for it, and (unlike an open root) nothing typed or shown inside can leak as
// input events. The agent's replayer hides the placeholder.

const STYLE = `
:host { all: initial; }
.badge { position: fixed; right: 16px; bottom: 16px; z-index: 2147483647; display: flex; gap: 10px;
  align-items: center; padding: 10px 14px; border-radius: 10px; background: #1d2733; color: #fff;
  font: 14px/1.3 system-ui, sans-serif; box-shadow: 0 4px 16px rgba(0,0,0,.3);
  box-sizing: border-box; max-width: calc(100vw - 32px); }
.dot { width: 10px; height: 10px; border-radius: 50%; background: #9aa5b1; flex: none; }
.dot[data-level=good] { background: #2fb170; }
.dot[data-level=fair] { background: #e2a72e; }
.dot[data-level=poor] { background: #e0483e; }
.mode, .watching { color: #c4ccd6; font-size: 12px; }
.lower { background: #3a4757; color: #fff; }
button { font: inherit; font-weight: 600; color: #1d2733; background: #fff; border: 0; border-radius: 6px;
  padding: 6px 10px; cursor: pointer; }
button:focus-visible { outline: 3px solid #7fb3ff; outline-offset: 2px; }
@media (pointer: coarse) { button { min-height: 44px; } }
`;

const MODE_LABELS = {
  view_only: "View only",
  guided: "Guidance",
  controlled: "Control",
  full: "Full control",
};

// Who is watching, from presence (the participants payload): nobody yet reads as waiting for the
// agent, never as watching.
export function watchingText(people, agentName) {
  const names = (Array.isArray(people) ? people : [])
    .slice(0, 5)
    .map((p) => `${String(p.name).slice(0, 40)}${p.role === "team" ? " (your team)" : ""}`);
  return names.length ? `Watching: ${names.join(", ")}` : `Waiting for ${agentName || "your support agent"} to join`;
}

export function createBadge({ doc = document, agentName, mode, onStop, onLower }) {
  const host = doc.createElement("div");
  host.className = "rr-block";
  host.setAttribute("data-tandem", "badge");
  const root = host.attachShadow({ mode: "closed" });
  root.innerHTML = `<style>${STYLE}</style>
<div class="badge" role="status" aria-live="polite">
  <span class="dot" role="img"></span>
  <span><span class="who"></span><br><span class="mode"></span><span class="watching" hidden><br></span></span>
  <button type="button" class="lower" hidden title="Take back control: the agent can only watch">View only</button>
  <button type="button" class="stop">Stop sharing</button>
</div>`;
  const dot = root.querySelector(".dot");
  const modeText = root.querySelector(".mode");
  const who = root.querySelector(".who");
  who.textContent = `Sharing this page with ${agentName || "your support agent"}`;
  const stop = root.querySelector(".stop");
  let over = false;
  stop.addEventListener("click", () => (over ? host.remove() : onStop()));
  const lower = root.querySelector(".lower");
  lower.addEventListener("click", () => onLower && onLower("view_only"));

  function setQuality(level, rttMs) {
    dot.dataset.level = level;
    const label = `Connection ${level}${Number.isFinite(rttMs) ? ` (${Math.round(rttMs)} ms)` : ""}`;
    dot.setAttribute("aria-label", label);
    dot.title = label;
  }

  let modeLabel = "";
  let holderText = "";
  function showMode() {
    modeText.textContent = [modeLabel, holderText].filter(Boolean).join(" · ");
  }

  function setMode(value) {
    modeLabel = MODE_LABELS[value] || "";
    lower.hidden = !onLower || !modeLabel || value === "view_only";
    showMode();
  }

  // Everyone watching besides the customer (the agent, colleagues, the customer's own team), by name.
  const watching = root.querySelector(".watching");
  function setWatching(people) {
    watching.hidden = false;
    watching.replaceChildren(doc.createElement("br"), doc.createTextNode(watchingText(people, agentName)));
  }

  // Sharing is over: say so (nothing more is sent) until the customer closes the badge.
  function end(text) {
    over = true;
    who.textContent = text;
    modeText.hidden = watching.hidden = lower.hidden = dot.hidden = true;
    stop.textContent = "Close";
  }

  // Who acts for the support side when control was handed over.
  function setHolder(name) {
    holderText = name ? `${String(name).slice(0, 40)} has control` : "";
    showMode();
  }

  setQuality("good");
  setMode(mode);
  (doc.body || doc.documentElement).appendChild(host);

  return {
    setQuality,
    setMode,
    setHolder,
    setWatching,
    end,
    remove: () => host.remove(),
  };
}
