// The watch page of a member of the customer's team: the customer's page live (the console's view,
// without its tools), who is watching, who holds control, and Leave. View only: the server refuses
// anything else this socket could send. The grant arrives in the fragment (#tandem=...), is kept in
// sessionStorage for reloads of this tab, and authenticates the socket's first frame (`hello`).
import { mount } from "../console/view.js";

const ROLE_LABELS = { agent: "support agent", viewer: "support", team: "customer's team" };
const ENDED = {
  removed: "You can no longer watch: you were removed from the session.",
  left: "You left the session.",
  superseded: "You opened this session in another window; watch it there.",
  customer_revoked: "The customer stopped sharing their screen.",
  agent_ended: "The session has ended.",
};

function takeGrant(sessionId) {
  const key = `tandem-watch-grant-${sessionId}`;
  const match = /(?:^#|&)tandem=([^&]+)/.exec(location.hash);
  try {
    if (match) {
      sessionStorage.setItem(key, decodeURIComponent(match[1]));
      history.replaceState(null, "", location.pathname + location.search);
    }
    return sessionStorage.getItem(key) || "";
  } catch {
    return match ? decodeURIComponent(match[1]) : "";
  }
}

function forgetGrant(sessionId) {
  try {
    sessionStorage.removeItem(`tandem-watch-grant-${sessionId}`);
  } catch {
    /* nothing stored */
  }
}

export function describe(watching) {
  return (watching || []).map((p) => `${p.name} (${ROLE_LABELS[p.role] || p.role})`).join(", ");
}

function start() {
  const config = JSON.parse(document.getElementById("watch-config").textContent);
  const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
  const container = $("watch-view");
  const leave = $("watch-leave");
  let refreshTimer = null;
  let live = null;

  function finish(text) {
    clearInterval(refreshTimer);
    forgetGrant(config.session);
    leave.hidden = true;
    $("watch-state").dataset.state = "ended";
    $("watch-ended").textContent = text;
    $("watch-ended").hidden = false;
  }

  const grant = takeGrant(config.session);
  if (!grant) {
    finish("This viewing link is no longer valid. Ask the person who invited you for a new one.");
    return;
  }

  container.addEventListener("tandem:welcome", (event) => {
    const data = event.detail;
    $("watch-state").dataset.state = "watching";
    $("watch-customer").textContent = data.customer_name || "the customer";
    $("watch-agent").textContent = data.agent_name || "";
    $("watch-you").textContent = data.name || "";
    $("watch-control").textContent = data.controller || data.agent_name || "";
    $("watch-watching").textContent = describe(data.watching);
  });
  container.addEventListener("tandem:control", (event) => {
    $("watch-control").textContent = event.detail.holder || "";
  });
  container.addEventListener("tandem:participants", (event) => {
    $("watch-watching").textContent = describe(event.detail.watching);
  });
  container.addEventListener("tandem:ended", (event) => {
    const reason = event.detail.reason || "";
    finish(ENDED[reason] || "The session has ended.");
  });
  container.addEventListener("tandem:refused", (event) => {
    finish(event.detail.message || "You cannot watch this session.");
  });

  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  live = mount(container, { url: `${scheme}//${location.host}${config.socket_path}`, hello: () => ({ grant }) });

  const call = (url) => fetch(url, { method: "POST", headers: { "X-Tandem-Grant": grant }, credentials: "omit" });
  refreshTimer = setInterval(() => call(config.refresh_url).catch(() => {}), config.refresh_every_ms);

  leave.addEventListener("click", async () => {
    leave.disabled = true;
    try {
      await call(config.leave_url);
    } catch {
      /* the socket is closed below either way */
    }
    live.destroy();
    finish(ENDED.left);
  });
}

if (typeof document !== "undefined" && document.getElementById("watch-config")) start();
