// The Approvals badge on every manager page, kept live over /ws/manager/approvals/ (the server
// sends {type: "approvals", count, reason}). On the approvals page itself the list is fetched
// again whenever a request arrives or is decided, so nobody approves from a stale page.
// A static file, never inline: the Content-Security-Policy allows no inline script.
(() => {
  "use strict";
  const badge = document.querySelector("[data-approvals-count]");
  if (!badge || !("WebSocket" in window)) return;
  const number = badge.querySelector("[data-approvals-number]");
  const FINAL = new Set([4401, 4403]); // not signed in, not a manager: retrying cannot help
  let attempt = 0;
  let refreshing = null;

  function show(count) {
    badge.dataset.count = String(count);
    number.textContent = String(count);
    badge.hidden = count === 0;
  }

  // The approvals page: swap in a freshly rendered list (its forms carry fresh CSRF tokens).
  function listRows() {
    const table = document.querySelector("[data-testid=approvals]");
    return table ? table.querySelectorAll("tr[data-request]").length : null;
  }

  async function refreshList() {
    const table = document.querySelector("[data-testid=approvals]");
    if (!table) return;
    try {
      const response = await fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (!response.ok) return;
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      const body = fresh.querySelector("[data-testid=approvals] tbody");
      if (body) table.querySelector("tbody").replaceWith(document.adoptNode(body));
    } catch {
      // offline for a moment: the next count (or a reload) brings the list up to date
    }
  }

  function onCount(message) {
    const count = Number(message.count);
    if (!Number.isInteger(count) || count < 0) return;
    show(count);
    const rows = listRows();
    if (rows === null || (message.reason !== "changed" && rows === count)) return;
    refreshing = (refreshing || Promise.resolve()).then(refreshList);
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
        return;
      }
      if (message && message.type === "approvals") onCount(message);
    });
    socket.addEventListener("close", (event) => {
      if (FINAL.has(event.code)) return;
      const delay = Math.min(30000, 1000 * 2 ** attempt++);
      setTimeout(connect, delay / 2 + Math.random() * (delay / 2));
    });
  }

  connect();
})();
