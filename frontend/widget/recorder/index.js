// The customer side of a live co-browse session, started with a tab grant (one this tab's owner
// allowed on the page's own card, tandem-consent.js):
// grant refresh, socket, masked rrweb recording, page context, signals and the always-visible badge.
import { record } from "@rrweb/record";
import { openSocket } from "../../common/socket.js";
import { emitState } from "../events.js";
import { forgetGrant } from "../grant.js";
import { createBadge } from "./badge.js";
import { loadChunk } from "./chunk.js";
import { createGuideLoader } from "./guide_loader.js";
import { lowerMode, refreshGrant, revokeSession } from "./grant_api.js";
import { BLOCKED, maskFieldValue, maskPatterns, maskText, maskUrl, maskedSelector } from "./masking.js";
import { Outbox } from "./outbox.js";
import { watchPage } from "./page_context.js";
import { createScrubber } from "./scrub.js";
import { claimTabId } from "./tab_id.js";

const RETRY_MS = 15000;
// What the site passed to Tandem.init (the loader keeps it frozen), or {} without it.
const site = () => (window.Tandem && window.Tandem.options) || {};
const ENDED_TEXT = "Sharing has ended — nothing more is sent";

function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function share({ grant, base, sessionId, refreshInMs, tabId }) {
  const pageId = randomId();
  let socket = null;
  let badge = null;
  let stopRecording = null;
  let stopWatching = null;
  let refreshTimer = null;
  let ended = false;
  let mode = "view_only";
  let agentName = "";
  let maskSelector = "";
  let asking = false;

  const outbox = new Outbox({ pageId, transmit: (message) => socket && socket.send(message) });
  const guide = createGuideLoader({
    src: `${base}/static/dist/tandem-guide.js`,
    context: () => ({
      mirror: record.mirror,
      pageId,
      agentName,
      maskSelector,
      mode,
      allowedActions: site().allowedActions,
      send: (type, data) => outbox.sendOutOfBand(type, data),
    }),
    onError: (error) => console.warn(`Tandem: ${error.message}`),
  });
  const toGuide = (type) => (data) => guide.deliver(type, data);

  function beginSharing(welcome) {
    // The site's own maskedFields add to the account's selectors (never remove any).
    const selector = maskedSelector([...(welcome.redaction_selectors || []), ...(site().maskedFields || [])]);
    maskSelector = selector;
    const scrub = createScrubber((id) => record.mirror.getNode(id), selector, (node) => record.mirror.getId(node));
    badge = createBadge({
      agentName: welcome.agent_name,
      mode: welcome.mode,
      onStop: stopSharing,
      onLower: (mode) => lowerMode(base, sessionId, grant, mode),
    });
    if (welcome.controller && welcome.controller !== welcome.agent_name) badge.setHolder(welcome.controller);
    stopRecording = record({
      emit: (event) => outbox.addEvent(scrub(event)),
      blockSelector: BLOCKED,
      // "*" sends every text node through maskText: selector masking plus the patterns.
      maskTextSelector: "*",
      maskTextFn: (text, element) => maskText(text, element, selector),
      // Every input (hidden ones too), textarea and select goes through maskFieldValue.
      maskInputOptions: { input: true, textarea: true, select: true, password: true },
      maskInputFn: (value, element) => maskFieldValue(value, element, selector),
      slimDOMOptions: { script: true, comment: true, headFavicon: true },
      sampling: { mousemove: 50, scroll: 150 },
    });
    stopWatching = watchPage({
      pageId,
      selector,
      stallMs: site().stallThresholdMs,
      onContext: (context) => outbox.send("page", context),
      onSignal: (signal) => outbox.send("signal", signal),
    });
  }

  const handlers = {
    welcome(data) {
      // Another tab shares this session: this one asks "Share this tab instead?" (tandem-seat.js).
      if (data.dormant) return askSeat(data.agent_name);
      cancelSeat();
      agentName = data.agent_name || agentName;
      mode = data.mode || mode;
      const historyMissing = outbox.resume(Number.isInteger(data.last_seq) ? data.last_seq : -1);
      if (!stopRecording) beginSharing(data);
      else if (historyMissing) record.takeFullSnapshot(true);
      if (badge) badge.setWatching(data.watching);
      if (mode !== "view_only" || guide.started) guide.deliver("welcome", data);
    },
    ack: (data) => outbox.acknowledge(data.seq),
    snapshot_request: () => stopRecording && record.takeFullSnapshot(true),
    ping: (data) => outbox.sendOutOfBand("pong", { nonce: data.nonce }),
    quality: (data) => badge && badge.setQuality(data.level, data.rtt_ms),
    mode: (data) => {
      mode = data.mode;
      if (badge) badge.setMode(data.mode);
      if (mode !== "view_only" || guide.started) guide.deliver("mode", data);
    },
    control: (data) => badge && badge.setHolder(data.holder),
    participants: (data) => badge && badge.setWatching(data.watching),
    annotate: toGuide("annotate"),
    action_request: toGuide("action_request"),
    action: toGuide("action"),
    mode_request: toGuide("mode_request"),
    error: (data) => console.warn(`Tandem: ${data.code}: ${data.message}`),
    // The customer shares another tab now: this one stops; the session goes on there.
    seat_moved: () => teardown("Sharing moved to another tab", true),
    ended: (data) => {
      teardown();
      if (data.survey && data.survey.url) offerSurvey(data.survey.url);
    },
  };

  // The end card (its own chunk) takes the badge's place and asks how the session went.
  function offerSurvey(url) {
    loadChunk(`${base}/static/dist/tandem-survey.js`, "TandemSurvey").then((survey) => {
      survey.show({ url, base, ended: ENDED_TEXT });
      if (badge) badge.remove();
    }, console.warn);
  }

  // Yes sends take_seat (the server's welcome then starts sharing); no closes this tab's socket
  // and nothing runs until its next page load asks again.
  function askSeat(name) {
    if (asking) return;
    asking = true;
    loadChunk(`${base}/static/dist/tandem-seat.js`, "TandemSeat")
      .then((seat) => seat.ask(name))
      .then((yes) => (yes ? outbox.sendOutOfBand("take_seat", {}) : yes === false && teardown("", true)), console.warn)
      .then(() => (asking = false));
  }
  function cancelSeat() {
    if (asking && window.TandemSeat) window.TandemSeat.cancel();
  }

  // keep: the session goes on (in another tab), so the tab keeps its grant and nothing says "ended".
  function teardown(text = ENDED_TEXT, keep) {
    if (ended) return;
    ended = true;
    cancelSeat();
    clearTimeout(refreshTimer);
    if (stopRecording) stopRecording();
    if (stopWatching) stopWatching();
    guide.destroy();
    outbox.close();
    socket.close();
    if (badge) badge.end(text);
    document.removeEventListener("tandem:stop", stopSharing);
    if (keep) return;
    forgetGrant();
    emitState("ended");
    if (site().onEnd) site().onEnd();
  }

  function stopSharing() {
    outbox.sendOutOfBand("stop", { reason: "customer" });
    revokeSession(base, sessionId, grant);
    teardown("You stopped sharing — nothing more is sent");
  }

  // The grant expires unless refreshed; a refused refresh means the session is over.
  function keepGrantAlive(delayMs) {
    refreshTimer = setTimeout(() => {
      refreshGrant(base, grant).then(
        (session) => (session ? keepGrantAlive(session.refreshInMs) : teardown()),
        () => keepGrantAlive(RETRY_MS),
      );
    }, delayMs);
  }

  socket = openSocket({
    url: `${base.replace(/^http/, "ws")}/ws/cobrowse/${encodeURIComponent(sessionId)}/customer/`,
    onOpen: () =>
      outbox.sendOutOfBand("hello", {
        grant,
        tab_id: tabId,
        page_id: pageId,
        last_acked_seq: outbox.lastAckedSeq,
        url: maskUrl(location.href),
        title: maskPatterns(document.title),
      }),
    onMessage: (message) => {
      const handler = handlers[message.type];
      if (handler && !ended) handler(message.data || {});
    },
    onDisconnect: () => outbox.pause(),
    onFinalClose: () => teardown(),
  });
  keepGrantAlive(refreshInMs);
  // The page's own way to stop (frontend/widget/events.js), the same as the badge's button.
  document.addEventListener("tandem:stop", stopSharing);
  emitState("sharing");
}

// Learns the session from the grant (retrying while Tandem is unreachable), then shares.
async function start({ grant, base }) {
  let channel = null;
  try {
    channel = new BroadcastChannel("tandem.tabs");
  } catch {
    // No BroadcastChannel: the stored tab id is used as it is.
  }
  const tabId = claimTabId({
    storage: () => sessionStorage,
    channel,
    newId: randomId,
    onHide: (close) => window.addEventListener("pagehide", (e) => e.persisted || close()),
  });
  for (let attempt = 0; ; attempt++) {
    try {
      const session = await refreshGrant(base, grant);
      if (!session) {
        forgetGrant();
        return;
      }
      share({ grant, base, ...session, tabId: await tabId });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_MS, 1000 * 2 ** attempt)));
    }
  }
}

window.TandemRecorder = { start };
