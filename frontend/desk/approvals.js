// The Approvals badge's rules, kept apart from the socket and the DOM (approvals_live.js) so they can
// be tested without a browser. The server sends {type: "approvals", count, reason} over
// /ws/manager/approvals/ whenever the number of Full control requests waiting for a manager changes.

// Closed as not signed in (4401) or not a manager (4403): retrying cannot help. Anything else (a
// restart, 4429 too many sockets) is retried.
export const FINAL_CLOSE_CODES = new Set([4401, 4403]);

// The count an `approvals` message carries, or null for any other or malformed message.
export function readCount(message) {
  if (!message || message.type !== "approvals") return null;
  const count = Number(message.count);
  return Number.isInteger(count) && count >= 0 ? count : null;
}

// Whether the approvals page (showing `rows` requests; null elsewhere) must fetch its list again: a
// request was decided ("changed") or the number listed differs from the number waiting.
export function needsRefresh(message, count, rows) {
  if (rows === null) return false;
  return message.reason === "changed" || rows !== count;
}

// Exponential backoff from 1 s to 30 s, with jitter over the upper half so managers' pages that
// lost the server together do not all come back in the same instant.
export function retryDelay(attempt, random = Math.random) {
  const delay = Math.min(30000, 1000 * 2 ** attempt);
  return delay / 2 + random() * (delay / 2);
}
