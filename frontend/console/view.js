// The live view of the customer's page, for the agent's console and for the watch page of a member
// of the customer's team: a socket, an rrweb Replayer in live mode, scaled to fit its container, and
// a status bar (page, presence, connection quality). Every server message the surrounding page may
// care about is re-emitted on the container as a CustomEvent "tandem:<type>" (welcome, page, signal,
// presence, quality, mode, mode_request, decision, action_result, control, participants, assist, error, ended). The welcome's customer presence is also emitted as
// tandem:presence (a late viewer hears nothing else until it changes); a socket that closes for good
// without an `ended` message emits tandem:ended too, or tandem:refused when the server refused this
// viewer (with the server's reason). Relayed customer messages keep the customer's seq; a hole in it is not a loss (pongs and
// other out-of-band messages are not relayed), so lost rrweb batches are found by batch marker.
import { Replayer } from "@rrweb/replay";
import { createUrlGuard } from "../replay/tandem_urls.js";
import { openSocket } from "../common/socket.js";
import { createStreamTracker } from "./stream.js";
import { viewportText } from "./viewport.js";

const RESYNC_GAP_MS = 2000;
const FORWARDED = [
  "welcome",
  "page",
  "signal",
  "presence",
  "quality",
  "mode",
  "mode_request",
  "decision",
  "action_result",
  "control",
  "participants",
  "assist",
  "error",
  "ended",
];
const PRESENCE_LABELS = {
  connected: "Customer connected",
  reconnecting: "Customer reconnecting…",
  disconnected: "Customer disconnected",
  moved: "The customer moved sharing to another tab",
};

function element(tag, className, text) {
  const el = document.createElement(tag);
  el.className = className;
  if (text) el.textContent = text;
  return el;
}

function buildView(container) {
  container.classList.add("tandem-live");
  const bar = element("div", "tandem-live__bar");
  const presence = element("span", "tandem-live__presence", "Connecting…");
  const page = element("span", "tandem-live__page");
  const title = element("strong", "tandem-live__title");
  const url = element("span", "tandem-live__url");
  const quality = element("span", "tandem-live__quality");
  const viewport = element("span", "tandem-live__viewport");
  viewport.dataset.testid = "console-viewport";
  page.append(title, url);
  bar.append(presence, page, viewport, quality);
  const stage = element("div", "tandem-live__stage");
  const notice = element("p", "tandem-live__notice", "Waiting for the customer's page…");
  stage.append(notice);
  container.replaceChildren(bar, stage);
  return { presence, title, url, quality, viewport, stage, notice };
}

// `hello`: a function returning the data of a first `hello` frame (a grant-authenticated socket),
// sent on every (re)connect before anything else; without it the socket is authenticated by cookie.
export function mount(container, { url, hello = null }) {
  const view = buildView(container);
  const accept = createStreamTracker();
  // The customer's page never makes this browser request Tandem's own URLs (see tandem_urls.js).
  const guard = createUrlGuard(window.location.origin);
  let replayer = null;
  let size = null;
  let seq = 0;
  let lastResyncAt = -Infinity;
  let lastCustomerSeq = -1;
  let socket = null;
  // The page load the replay shows: node ids picked in the replay mean something only there.
  let pageId = null;
  let endedByServer = false;
  let refusal = null;

  function send(type, data = {}) {
    return socket ? socket.send({ type, seq: seq++, ts: Date.now(), data }) : false;
  }

  function requestResync() {
    if (Date.now() - lastResyncAt < RESYNC_GAP_MS) return;
    lastResyncAt = Date.now();
    send("resync", { from_seq: lastCustomerSeq + 1 });
  }

  function fit() {
    if (!replayer || !size) return;
    const width = view.stage.clientWidth;
    const height = view.stage.clientHeight;
    const scale = Math.min(width / size.width, height ? height / size.height : Infinity) || 1;
    replayer.wrapper.style.transform = `scale(${scale})`;
    replayer.wrapper.style.transformOrigin = "top left";
    view.viewport.textContent = viewportText(size, scale);
  }

  function startReplay() {
    if (replayer) replayer.destroy();
    view.notice.remove();
    // Apply each event on arrival: the customer's clock is not the agent's (docs/frontend.md, "The live view: rrweb in live mode").
    replayer = new Replayer([], {
      root: view.stage,
      liveMode: true,
      useVirtualDom: false,
      mouseTail: false,
      showWarning: false,
      insertStyleRules: [".rr-block{display:none !important}"],
    });
    // The frame is the customer's page, live: named, so assistive technology can say so.
    replayer.iframe.title = "The customer's page, live";
    replayer.on("resize", (dimension) => {
      size = dimension;
      fit();
    });
    replayer.startLive(Number.MAX_SAFE_INTEGER);
  }

  function onRrweb(data, seq) {
    const { events, restart, needResync } = accept(data);
    if (Number.isInteger(seq)) lastCustomerSeq = Math.max(lastCustomerSeq, seq);
    if (needResync) requestResync();
    if (restart) {
      startReplay();
      pageId = data.page_id || null;
    }
    for (const event of events) replayer.addEvent(guard.event(event));
  }

  function showPage(data) {
    view.title.textContent = data.title || "";
    view.url.textContent = data.url || "";
  }

  function showPresence(data) {
    view.presence.dataset.state = data.customer;
    view.presence.textContent = PRESENCE_LABELS[data.customer] || data.customer;
  }

  function showQuality(data) {
    view.quality.dataset.level = data.level;
    view.quality.textContent = `${data.level}${Number.isFinite(data.rtt_ms) ? ` · ${Math.round(data.rtt_ms)} ms` : ""}`;
  }

  function showEnded(data) {
    view.presence.dataset.state = "ended";
    view.presence.textContent = "Session ended";
    socket.close();
    return data;
  }

  function emit(type, detail) {
    container.dispatchEvent(new CustomEvent(`tandem:${type}`, { detail, bubbles: true }));
  }

  const render = {
    rrweb: onRrweb,
    page: showPage,
    presence: showPresence,
    quality: showQuality,
    ended: (data) => {
      endedByServer = true;
      showEnded(data);
    },
    welcome: (data) => {
      if (data.customer) {
        showPresence({ customer: data.customer });
        emit("presence", { customer: data.customer });
      }
    },
    error: (data) => {
      if (data.code === "refused") refusal = data;
    },
  };

  socket = openSocket({
    url,
    onOpen: () => {
      if (hello) send("hello", hello());
      if (!replayer) requestResync();
    },
    onMessage: (message) => {
      const data = message.data || {};
      if (render[message.type]) render[message.type](data, message.seq);
      if (FORWARDED.includes(message.type)) emit(message.type, data);
    },
    onDisconnect: () => {
      view.presence.dataset.state = "offline";
      view.presence.textContent = "Reconnecting to Tandem…";
    },
    onFinalClose: (code) => {
      if (endedByServer) return;
      if (refusal) {
        view.presence.dataset.state = "refused";
        view.presence.textContent = "Not admitted";
        emit("refused", { code, message: refusal.message });
        return;
      }
      showEnded({});
      emit("ended", { reason: "", code });
    },
  });

  const resizeObserver = new ResizeObserver(fit);
  resizeObserver.observe(view.stage);

  return {
    send,
    resync: requestResync,
    get replayer() {
      return replayer;
    },
    get pageId() {
      return pageId;
    },
    destroy() {
      resizeObserver.disconnect();
      socket.close();
      if (replayer) replayer.destroy();
      container.replaceChildren();
    },
  };
}
