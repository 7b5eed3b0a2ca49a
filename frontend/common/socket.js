// A WebSocket that reconnects with exponential backoff and jitter until closed on purpose, or
// until the server closes with a 44xx code (grant refused, session over): those are final, except
// 4408 (missed heartbeats), which is only a bad connection. When the browser's network comes back
// (`online`), a pending retry happens at once, with the backoff reset. Large messages go out and
// come in as `part` frames (common/parts.js), invisibly to the callers.
import { createAssembler, framesFor } from "./parts.js";

export function openSocket({
  url,
  onOpen,
  onMessage,
  onDisconnect = () => {},
  onFinalClose,
  minDelayMs = 500,
  maxDelayMs = 10000,
}) {
  let socket = null;
  let attempt = 0;
  let retryTimer = null;
  let closedOnPurpose = false;
  const assembler = createAssembler();

  function deliver(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (!message || typeof message.type !== "string") return;
    if (message.type === "part" && message.data) {
      const whole = message.data && assembler.add(message.data);
      if (whole) deliver(whole);
      return;
    }
    onMessage(message);
  }

  function connect() {
    retryTimer = null;
    socket = new WebSocket(url);
    socket.addEventListener("open", () => {
      attempt = 0;
      onOpen();
    });
    socket.addEventListener("message", (event) => deliver(event.data));
    socket.addEventListener("close", (event) => {
      socket = null;
      if (closedOnPurpose) return;
      onDisconnect(event.code);
      if (event.code >= 4400 && event.code < 4500 && event.code !== 4408) {
        onFinalClose(event.code);
        return;
      }
      const delay = Math.min(maxDelayMs, minDelayMs * 2 ** attempt++);
      retryTimer = setTimeout(connect, delay / 2 + Math.random() * (delay / 2));
    });
  }

  // The browser says its network is back: waiting out a backoff grown while it was down would
  // leave the session dark for seconds on a flapping connection, so try at once.
  function reconnectNow() {
    if (closedOnPurpose || socket || retryTimer === null) return;
    clearTimeout(retryTimer);
    attempt = 0;
    connect();
  }
  const win = typeof window === "undefined" ? null : window;
  if (win) win.addEventListener("online", reconnectNow);

  connect();

  return {
    send(message) {
      if (!socket || socket.readyState !== WebSocket.OPEN) return false;
      for (const frame of framesFor(message)) socket.send(frame);
      return true;
    },
    close() {
      closedOnPurpose = true;
      if (win) win.removeEventListener("online", reconnectNow);
      clearTimeout(retryTimer);
      if (socket) socket.close(1000, "closed");
    },
  };
}
