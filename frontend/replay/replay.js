// Replay page of a session recording: fetches the decrypted stream, plays it with rrweb's Replayer
// (not live mode), draws the agent's annotations on the timeline and over the page at their time,
// and says clearly when the recording is incomplete or failed verification. Recordings of
// server-side browser sessions hold screencast frames instead: those play in the frames player.
import { Replayer } from "@rrweb/replay";
import "@rrweb/replay/dist/style.css";
import { createChunkSource, loadAll } from "./chunks.js";
import { keepFitted } from "./fit.js";
import { playFrames } from "./frames.js";
import { createUrlGuard } from "./tandem_urls.js";
import "./replay.css";
import { fmt, gapLabel } from "./util.js";

const ANNOTATION_SHOW_MS = 2500;
const CUSTOM = 5;
const $ = (id) => document.getElementById(id);

const ANNOTATION_LABELS = {
  pointer: "Agent pointed here",
  highlight: "Agent highlighted an element",
  circle: "Agent circled an element",
  arrow: "Agent pointed an arrow",
  text: "Agent wrote a label",
  spotlight: "Agent spotlighted an element",
  scroll_to: "Agent scrolled the page to an element",
  clear: "Agent cleared the annotations",
};

function describe(kind, data) {
  if (kind === "annotate") {
    const base = ANNOTATION_LABELS[data.kind] || "Agent annotation";
    return data.kind === "text" && data.text ? `${base}: “${data.text}”` : base;
  }
  if (kind === "action") return `Agent action: ${data.kind || "action"}`;
  if (kind === "action_request") return "Agent asked to act";
  if (kind === "mode") return `Mode: ${String(data.mode || "").replace("_", " ")}`;
  if (kind === "gap") return gapLabel(data);
  return kind;
}

// Stored envelopes -> rrweb events. rrweb batches keep the page's own timestamps; everything else
// (annotations, actions, mode changes) becomes a custom event placed by the server receive time,
// corrected by the page clock's offset seen in the nearest rrweb batch.
export function toReplay(chunks) {
  const events = [];
  const marks = [];
  let skew = null;
  let firstAt = null;
  for (const chunk of chunks) {
    for (const env of chunk) {
      if (!env || typeof env !== "object") continue;
      if (firstAt === null && typeof env.at === "number") firstAt = env.at;
      if (env.type === "rrweb") {
        const batch = (env.data && Array.isArray(env.data.events) && env.data.events) || [];
        for (const e of batch) if (e && typeof e.timestamp === "number") events.push(e);
        const last = batch[batch.length - 1];
        if (last && typeof env.at === "number") skew = last.timestamp - env.at;
        continue;
      }
      const data = env.data || {};
      const ts = typeof env.at === "number" ? env.at + (skew || 0) : env.ts;
      if (typeof ts !== "number") continue;
      events.push({ type: CUSTOM, timestamp: ts, data: { tag: env.type, payload: data } });
      if (["annotate", "action", "action_request", "mode", "gap"].includes(env.type)) {
        marks.push({ ts, kind: env.type, data, label: describe(env.type, data) });
      }
    }
  }
  events.sort((a, b) => a.timestamp - b.timestamp);
  const start = events.length ? events.find((e) => e.type !== CUSTOM)?.timestamp ?? events[0].timestamp : 0;
  for (const e of events) if (e.timestamp < start) e.timestamp = start;
  return { events, marks, start, firstAt, skew };
}

const STATUS_TEXT = {
  tampered: (s) =>
    `This recording failed verification (${s.error}). It may have been altered or damaged: only the part before the damage is shown.`,
  incomplete: (s) =>
    `This recording is incomplete${s.error ? ` (${s.error})` : ""}: its end is missing, so the replay may stop early.`,
  unreadable: (s) => `This recording cannot be opened${s.error ? `: ${s.error}` : ""}.`,
  deleted: () => "This recording was deleted.",
  gone: () => "This link has expired.",
};

function showStatus(text, kind = "error") {
  const el = document.querySelector("[data-testid=replay-status]");
  el.textContent = text;
  el.className = `flash flash--${kind}`;
  el.hidden = false;
}

async function main() {
  const config = JSON.parse($("replay-config").textContent);
  const player = $("replay-player");
  const loading = $("replay-loading");
  if (!player) return;
  const source = createChunkSource(config);
  let index;
  try {
    index = await source.open();
  } catch (err) {
    loading.textContent = "";
    showStatus("The recording could not be loaded. Try again in a moment.");
    return;
  }
  const status = index.status || { state: "unreadable" };
  document.body.dataset.replayState = status.state;
  if (STATUS_TEXT[status.state]) showStatus(STATUS_TEXT[status.state](status), status.state === "incomplete" ? "warning" : "error");
  const onFailure = (failed) => {
    // A chunk that verified when the index was built but not when it was served.
    document.body.dataset.replayState = failed.state;
    if (STATUS_TEXT[failed.state]) showStatus(STATUS_TEXT[failed.state](failed));
  };
  const controls = document.querySelector(".replay__controls");
  if (config.kind === "browser") {
    playFrames(config, source, index, {
      player,
      loading,
      $,
      seek: $("replay-seek"),
      time: $("replay-time"),
      play: $("replay-play"),
      speed: $("replay-speed"),
      markers: $("replay-markers"),
      overlay: document.querySelector("[data-testid=annotation-overlay]"),
      stage: document.querySelector("[data-testid=replay-stage]"),
      controls,
      onFailure,
    }).catch(() => showStatus("The recording could not be loaded. Try again in a moment."));
    return;
  }
  // Page-event (rrweb) recordings are small (kilobytes a minute) and each event depends on all before
  // it: every chunk is loaded, a few at a time.
  let loaded;
  try {
    loaded = await loadAll(source, index.chunks || []);
  } catch (err) {
    loading.textContent = "";
    showStatus("The recording could not be loaded. Try again in a moment.");
    return;
  }
  if (loaded.failed) onFailure(loaded.failed);
  const chunks = loaded.chunks;
  const { events, marks, start, firstAt } = toReplay(chunks);
  // In time order, so each event sees the page URL of the latest Meta event before it.
  const guard = createUrlGuard(window.location.origin);
  for (const event of events) guard.event(event);
  if (events.filter((e) => e.type === 2).length === 0) {
    loading.textContent = "There is nothing to replay in this recording.";
    return;
  }
  loading.remove();

  const replayer = new Replayer(events, {
    root: player,
    speed: 1,
    skipInactive: false,
    showWarning: false,
    mouseTail: false,
    triggerFocus: false,
    insertStyleRules: [".rr-block{background:#e5e7eb !important}"],
  });
  // The frame is the customer's page as recorded: named, so assistive technology can say so.
  replayer.iframe.title = "The customer's page, as recorded";
  const meta = replayer.getMetaData();
  const total = Math.max(meta.totalTime, 1);
  const seek = $("replay-seek");
  const time = $("replay-time");
  const play = $("replay-play");
  const overlay = document.querySelector("[data-testid=annotation-overlay]");
  const stage = document.querySelector("[data-testid=replay-stage]");
  seek.max = String(total);
  seek.disabled = false;
  play.disabled = false;
  let playing = false;
  let stopAt = null;
  let scale = 1;

  // Scale to fit: the recorded viewport within the stage's width and the window's height, controls
  // in view (fit.js).
  const wrapper = player.querySelector(".replayer-wrapper");
  const metaEvent = events.find((e) => e.type === 4);
  let viewport = metaEvent ? { width: metaEvent.data.width, height: metaEvent.data.height } : null;
  const fit = keepFitted({
    stage,
    controls,
    size: () => (wrapper && viewport && viewport.width ? viewport : null),
    apply: (s, dims) => {
      scale = s;
      wrapper.style.transform = `scale(${s})`;
      wrapper.style.transformOrigin = "0 0";
      player.style.width = `${Math.round(dims.width * s)}px`;
      player.style.height = `${Math.round(dims.height * s)}px`;
    },
  });
  replayer.on("resize", (d) => {
    viewport = { width: d.width, height: d.height };
    fit();
  });
  fit();

  function current() {
    return Math.min(total, Math.max(0, replayer.getCurrentTime()));
  }
  function goTo(ms) {
    ms = Math.min(total, Math.max(0, ms));
    if (playing) replayer.play(ms);
    else replayer.pause(ms);
    render(ms);
  }
  function setPlaying(on) {
    playing = on;
    play.textContent = on ? "Pause" : "Play";
    if (on) replayer.play(current() >= total ? 0 : current());
    else replayer.pause();
  }
  play.addEventListener("click", () => setPlaying(!playing));
  seek.addEventListener("input", () => goTo(Number(seek.value)));
  $("replay-speed").addEventListener("change", (e) => replayer.setConfig({ speed: Number(e.target.value) }));
  replayer.on("finish", () => {
    playing = false;
    play.textContent = "Play";
  });

  // Markers: annotations (and other agent steps) from the stream, activity from the ticket, highlights.
  const markers = $("replay-markers");
  function marker(offset, cls, label, testid) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = `replay__marker ${cls}`;
    b.style.left = `${(Math.min(total, Math.max(0, offset)) / total) * 100}%`;
    b.title = `${fmt(offset)} · ${label}`;
    b.setAttribute("aria-label", b.title);
    if (testid) b.dataset.testid = testid;
    b.addEventListener("click", () => goTo(offset));
    markers.appendChild(b);
    return b;
  }
  const annotations = marks.map((m) => ({ ...m, offset: m.ts - start }));
  for (const a of annotations) {
    marker(a.offset, a.kind === "annotate" ? "replay__marker--annotation" : "replay__marker--action", a.label,
      a.kind === "annotate" ? "annotation-marker" : "action-marker");
  }
  // Ticket activity is timed from the recording's start on the server; the replay from the first event.
  const lead = typeof firstAt === "number" && config.startedAtMs ? firstAt - config.startedAtMs : 0;
  for (const item of config.timeline || []) {
    marker(item.offset - lead, "replay__marker--activity", item.label, "activity-marker");
  }
  document.querySelectorAll("[data-seek]").forEach((btn) =>
    btn.addEventListener("click", () => goTo(Number(btn.dataset.seek) - lead)),
  );
  for (const h of config.highlights || []) {
    const band = document.createElement("div");
    band.className = "replay__band";
    band.style.left = `${(h.start / total) * 100}%`;
    band.style.width = `${(Math.max(0, Math.min(h.end, total) - h.start) / total) * 100}%`;
    band.title = h.title;
    markers.appendChild(band);
  }

  // The overlay: what the agent pointed at, while it is recent.
  const box = document.createElement("div");
  box.className = "replay__nodebox";
  box.hidden = true;
  stage.appendChild(box);
  function render(t) {
    seek.value = String(t);
    time.textContent = `${fmt(t)} / ${fmt(total)}`;
    const active = annotations.filter((a) => a.kind === "annotate" && a.data.kind !== "clear" && t >= a.offset && t < a.offset + ANNOTATION_SHOW_MS);
    if (active.length) {
      const a = active[active.length - 1];
      overlay.textContent = a.label;
      overlay.hidden = false;
      box.hidden = true;
      const node = a.data.node_id != null ? replayer.getMirror().getNode(a.data.node_id) : null;
      if (node && node.getBoundingClientRect) {
        const r = node.getBoundingClientRect();
        Object.assign(box.style, { left: `${r.left * scale}px`, top: `${r.top * scale}px`, width: `${r.width * scale}px`, height: `${r.height * scale}px` });
        box.hidden = false;
      } else if (typeof a.data.x === "number") {
        Object.assign(box.style, { left: `${a.data.x * scale - 8}px`, top: `${a.data.y * scale - 8}px`, width: "16px", height: "16px" });
        box.hidden = false;
      }
    } else {
      overlay.hidden = true;
      box.hidden = true;
    }
    if (stopAt !== null && playing && t >= stopAt) {
      stopAt = null;
      setPlaying(false);
    }
  }
  setInterval(() => render(current()), 100);

  // Highlight form helper: the current time into the first empty field.
  const useNow = $("hl-use-current");
  if (useNow) {
    useNow.addEventListener("click", () => {
      const start = $("hl-start");
      const target = start.value ? $("hl-end") : start;
      target.value = fmt(current());
    });
  }

  document.body.dataset.replayReady = "1";
  if (config.focus) {
    stopAt = config.focus.end;
    goTo(config.focus.start);
  } else {
    render(0);
    replayer.pause(0);
  }
}

main();
