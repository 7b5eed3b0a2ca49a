// The Approvals badge on every manager page, kept live over /ws/manager/approvals/ (approvals.js has
// the rules). On the approvals page itself the list is fetched again whenever a request arrives or
// is decided, so nobody approves from a stale page. Loaded by templates/base.html for managers only.
import { FINAL_CLOSE_CODES, needsRefresh, readCount, retryDelay } from "./approvals.js";

const LIST = "[data-testid=approvals]";

function start(badge) {
  const number = badge.querySelector("[data-approvals-number]");
  let attempt = 0;
  let refreshing = null;

  function show(count) {
    badge.dataset.count = String(count);
    number.textContent = String(count);
    badge.hidden = count === 0;
  }

  function listRows() {
    const table = document.querySelector(LIST);
    return table ? table.querySelectorAll("tr[data-request]").length : null;
  }

  // Swap in a freshly rendered list (its forms carry fresh CSRF tokens).
  async function refreshList() {
    const table = document.querySelector(LIST);
    if (!table) return;
    try {
      const response = await fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (!response.ok) return;
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      const body = fresh.querySelector(`${LIST} tbody`);
      if (body) table.querySelector("tbody").replaceWith(document.adoptNode(body));
    } catch {
      // offline for a moment: the next count (or a reload) brings the list up to date
    }
  }

  function onMessage(message) {
    const count = readCount(message);
    if (count === null) return;
    show(count);
    if (needsRefresh(message, count, listRows())) refreshing = (refreshing || Promise.resolve()).then(refreshList);
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}${badge.dataset.socket}`);
    socket.addEventListener("open", () => {
      attempt = 0;
    });
    socket.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return; // not JSON: ignored
      }
      onMessage(message);
    });
    socket.addEventListener("close", (event) => {
      if (FINAL_CLOSE_CODES.has(event.code)) return;
      setTimeout(connect, retryDelay(attempt++));
    });
  }

  connect();
}

const badge = document.querySelector("[data-approvals-count]");
if (badge && "WebSocket" in window) start(badge);
