// Frames player for recordings of server-side browser sessions: the stored screencast frames (JPEG,
// at most two a second) shown as images on the recording's own clock, with play/pause, seek, speed,
// and the agent's actions as markers on the timeline and entries in the activity list.
import { chunkAt } from "./chunks.js";
import { keepFitted } from "./fit.js";
import { fmt, gapLabel } from "./util.js";

const ACTION_SHOW_MS = 2500;
const STEP_TYPES = ["action", "action_request", "annotate", "mode", "control", "gap"];

function short(text, max = 60) {
  const s = String(text || "");
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

const OUTCOMES = { never_allowed: "refused: never allowed", denied: "declined", failed: "failed", error: "failed" };

// Where a click went: ``x``/``y``, or a target described as "point x,y" by the browser worker.
export function clickPoint(data) {
  if (typeof data.x === "number" && typeof data.y === "number") return { x: data.x, y: data.y };
  const m = /^point (\d+(?:\.\d+)?),\s*(\d+(?:\.\d+)?)$/.exec(String(data.target || ""));
  return m ? { x: Number(m[1]), y: Number(m[2]) } : null;
}

// What an agent step says in the activity list. A browser-session action is stored as
// {kind, target, outcome, url}: typed text is never stored, and never shown.
export function describeStep(type, data) {
  data = data || {};
  if (type === "action") {
    const point = clickPoint(data);
    const target = short(data.target || data.selector || "", 50);
    const at = point ? ` at ${Math.round(point.x)}, ${Math.round(point.y)}` : target ? ` ${target}` : "";
    let text;
    switch (data.kind) {
      case "click":
      case "dblclick":
        text = `Agent clicked${at}`;
        break;
      case "type":
        text = `Agent typed${target && !point ? ` into ${target}` : ""}`;
        break;
      case "press":
      case "key":
        text = `Agent pressed ${short(data.key || data.target, 30) || "a key"}`;
        break;
      case "scroll":
        text = `Agent scrolled${data.direction ? ` ${data.direction}` : ""}`;
        break;
      case "goto": {
        const where = data.target || (data.outcome ? "" : data.url);
        text = where ? `Agent opened ${short(where)}` : "Agent opened a page";
        break;
      }
      case "back":
        text = "Agent went back";
        break;
      case "forward":
        text = "Agent went forward";
        break;
      case "reload":
        text = "Agent reloaded the page";
        break;
      case "wait":
        text = "Agent waited";
        break;
      default:
        text = `Agent action: ${short(data.kind, 30) || "action"}${at}`;
    }
    if (data.outcome && data.outcome !== "ok") text += ` (${OUTCOMES[data.outcome] || short(String(data.outcome), 30)})`;
    return text;
  }
  if (type === "action_request") return "Agent asked to act";
  if (type === "annotate") return "Agent annotation";
  if (type === "mode") return `Mode: ${String(data.mode || "").replace("_", " ")}`;
  if (type === "control") return "Control changed";
  if (type === "gap") return gapLabel(data);
  return type;
}

// Stored envelopes -> frames and steps on one clock: the server receive time ``at`` of each event.
// Offsets are milliseconds from the first event.
export function toFrames(chunks) {
  const frames = [];
  const steps = [];
  for (const chunk of chunks || []) {
    for (const env of chunk || []) {
      if (!env || typeof env !== "object" || typeof env.at !== "number") continue;
      if (env.type === "frame") {
        const jpeg = env.data && env.data.jpeg;
        if (typeof jpeg === "string" && jpeg) frames.push({ at: env.at, jpeg });
      } else if (STEP_TYPES.includes(env.type)) {
        steps.push({ at: env.at, kind: env.type, data: env.data || {}, label: describeStep(env.type, env.data) });
      }
    }
  }
  frames.sort((a, b) => a.at - b.at);
  steps.sort((a, b) => a.at - b.at);
  const all = [...frames, ...steps].map((e) => e.at);
  const start = all.length ? Math.min(...all) : 0;
  const end = all.length ? Math.max(...all) : 0;
  for (const e of frames) e.offset = e.at - start;
  for (const e of steps) e.offset = e.at - start;
  return { frames, steps, start, total: Math.max(end - start, 1) };
}

// Index of the frame on screen at offset ``t``: the last one at or before it (the first before it).
export function frameAt(frames, t) {
  let lo = 0;
  let hi = frames.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (frames[mid].offset <= t) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

// Chunks kept ahead of the playhead while playing, and how far from it a loaded chunk is dropped again
// (a 45-minute recording is hundreds of MB: the page holds a window of it, never the whole).
const AHEAD = 3;
const KEEP = 24;

// One chunk's envelopes -> its frames and steps, as offsets from the recording's first event.
export function chunkFrames(events, start) {
  const { frames, steps } = toFrames([events || []]);
  for (const e of frames) e.offset = e.at - start;
  for (const e of steps) e.offset = e.at - start;
  return { frames, steps };
}

// Plays a browser-session recording from its chunk index: the first chunk, then the ones ahead of the
// playhead and the one a seek lands in, each fetched as it is needed.
export function playFrames(config, source, index, ui) {
  const { player, loading, seek, time, play, speed, markers, overlay, stage, controls, $ } = ui;
  const chunks = index.chunks || [];
  const start = index.start;
  const total = Math.max(index.total || 0, 1);
  if (!chunks.length || typeof start !== "number") {
    loading.textContent = "There is nothing to replay in this recording.";
    return;
  }
  const loaded = new Map(); // chunk index -> {frames, steps}
  const stepChunks = new Set();
  let steps = [];
  let failed = null;

  const img = document.createElement("img");
  img.className = "replay__frame";
  img.alt = "The agent's browser at this moment of the recording";
  img.dataset.testid = "replay-frame";
  const dot = document.createElement("div");
  dot.className = "replay__nodebox replay__clickdot";
  dot.hidden = true;

  let t = 0;
  let playing = false;
  let rate = Number(speed.value) || 1;
  let last = 0;
  let shown = null;
  let stopAt = null;
  let scale = 1;

  const fit = keepFitted({
    stage,
    controls,
    size: () => (img.naturalWidth ? { width: img.naturalWidth, height: img.naturalHeight } : null),
    apply: (s, dims) => {
      scale = s;
      img.style.width = `${Math.round(dims.width * s)}px`;
      img.style.height = `${Math.round(dims.height * s)}px`;
    },
  });
  img.addEventListener("load", fit);

  const inflight = new Map();
  function fetchChunk(position) {
    if (position < 0 || position >= chunks.length || loaded.has(position) || failed) return null;
    if (inflight.has(position)) return inflight.get(position);
    const request = source.load(chunks[position].index).then((body) => {
      inflight.delete(position);
      if (!body || !Array.isArray(body.events)) {
        failed = (body && body.status) || { state: "unreadable" };
        if (ui.onFailure) ui.onFailure(failed, position);
        return;
      }
      loaded.set(position, chunkFrames(body.events, start));
      if (!stepChunks.has(position)) {
        stepChunks.add(position);
        addSteps(loaded.get(position).steps);
      }
      render();
    });
    request.catch(() => inflight.delete(position));
    inflight.set(position, request);
    return request;
  }
  // The chunk under the playhead and the next ones; far chunks are let go.
  function ensure() {
    const here = chunkAt(chunks, t);
    const wanted = [here];
    for (let k = 1; k <= AHEAD; k++) wanted.push(here + k);
    const first = fetchChunk(here);
    for (const p of wanted.slice(1)) fetchChunk(p);
    for (const p of loaded.keys()) {
      if (Math.abs(p - here) > KEEP) {
        loaded.delete(p);
        source.forget(chunks[p].index);
      }
    }
    return first;
  }
  // The frame on screen at ``t``: the last one at or before it, in its chunk or the loaded ones before.
  function frameFor(at) {
    for (let p = chunkAt(chunks, at); p >= 0; p--) {
      const c = loaded.get(p);
      if (!c) return null;
      if (c.frames.length && c.frames[0].offset <= at) return c.frames[frameAt(c.frames, at)];
      if (p === 0 && c.frames.length) return c.frames[0];
    }
    return null;
  }
  function showFrame(frame) {
    if (!frame || frame === shown) return;
    shown = frame;
    img.src = `data:image/jpeg;base64,${frame.jpeg}`;
    img.dataset.frameAt = String(frame.offset);
  }
  // A chunk may start with steps, or the playhead sit before its first frame: the frame on screen
  // is then the last one of an earlier chunk, fetched if it is not here.
  function fetchEarlier() {
    for (let p = chunkAt(chunks, t); p >= 0; p--) {
      const c = loaded.get(p);
      if (!c) return fetchChunk(p);
      if (c.frames.length && c.frames[0].offset <= t) return null;
    }
    return null;
  }
  function render() {
    seek.value = String(Math.round(t));
    time.textContent = `${fmt(t)} / ${fmt(total)}`;
    const frame = frameFor(t);
    if (frame) showFrame(frame);
    else fetchEarlier();
    const recent = steps.filter((s) => s.kind === "action" && t >= s.offset && t < s.offset + ACTION_SHOW_MS);
    const step = recent[recent.length - 1];
    if (step) {
      overlay.textContent = step.label;
      overlay.hidden = false;
      const point = clickPoint(step.data);
      if (point) {
        const left = img.offsetLeft + point.x * scale - 8;
        const top = img.offsetTop + point.y * scale - 8;
        Object.assign(dot.style, { left: `${left}px`, top: `${top}px` });
        dot.hidden = false;
      } else {
        dot.hidden = true;
      }
    } else {
      overlay.hidden = true;
      dot.hidden = true;
    }
  }
  function setPlaying(on) {
    playing = on;
    play.textContent = on ? "Pause" : "Play";
    if (on && t >= total) t = 0;
    last = performance.now();
    if (on) ensure();
  }
  function goTo(ms) {
    t = Math.min(total, Math.max(0, ms));
    ensure();
    render();
  }
  function tick(now) {
    if (playing) {
      // Hold the clock while the chunk under the playhead is still on its way.
      if (loaded.has(chunkAt(chunks, t)) || failed) {
        t += (now - last) * rate;
        if (t >= total) {
          t = total;
          setPlaying(false);
        }
        if (stopAt !== null && t >= stopAt) {
          stopAt = null;
          setPlaying(false);
        }
        if (!loaded.has(chunkAt(chunks, t + 2000 * rate)) || chunkAt(chunks, t) !== chunkAt(chunks, t - 50)) ensure();
        render();
      }
    }
    last = now;
    requestAnimationFrame(tick);
  }
  play.addEventListener("click", () => setPlaying(!playing));
  seek.addEventListener("input", () => goTo(Number(seek.value)));
  speed.addEventListener("change", () => {
    rate = Number(speed.value) || 1;
  });

  function marker(offset, cls, label, testid) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = `replay__marker ${cls}`;
    b.style.left = `${(Math.min(total, Math.max(0, offset)) / total) * 100}%`;
    b.title = `${fmt(offset)} · ${label}`;
    b.setAttribute("aria-label", b.title);
    if (testid) b.dataset.testid = testid;
    b.dataset.offset = String(offset);
    b.addEventListener("click", () => goTo(offset));
    return b;
  }
  // Ticket activity is timed from the recording's start on the server; the replay from the first event.
  const lead = config.startedAtMs ? start - config.startedAtMs : 0;
  for (const item of config.timeline || []) {
    markers.appendChild(marker(item.offset - lead, "replay__marker--activity", item.label, "activity-marker"));
  }
  for (const h of config.highlights || []) {
    const band = document.createElement("div");
    band.className = "replay__band";
    band.style.left = `${(h.start / total) * 100}%`;
    band.style.width = `${(Math.max(0, Math.min(h.end, total) - h.start) / total) * 100}%`;
    band.title = h.title;
    markers.appendChild(band);
  }

  // The agent's steps arrive with their chunks: markers on the track and rows in the activity list,
  // both kept in time order.
  const list = document.querySelector("[data-testid=replay-timeline]");
  const activity = list ? [...list.querySelectorAll("li")].filter((li) => li.querySelector("[data-seek]")) : [];
  for (const li of activity) {
    const btn = li.querySelector("[data-seek]");
    btn.addEventListener("click", () => goTo(Number(btn.dataset.seek) - lead));
  }
  function addSteps(found) {
    if (!found.length) return;
    steps = [...steps, ...found].sort((a, b) => a.offset - b.offset);
    for (const s of found) {
      const isAction = s.kind === "action" || s.kind === "action_request";
      const b = marker(s.offset, isAction ? "replay__marker--action" : "replay__marker--annotation", s.label,
        isAction ? "action-marker" : "annotation-marker");
      const after = [...markers.querySelectorAll("[data-testid=action-marker],[data-testid=annotation-marker]")]
        .find((m) => Number(m.dataset.offset) > s.offset);
      markers.insertBefore(b, after || null);
      if (!list) continue;
      const li = document.createElement("li");
      li.className = "activity__item activity__item--action";
      const btn = document.createElement("button");
      btn.type = "button";
      btn.className = "linklike";
      btn.dataset.seek = String(s.offset + lead);
      btn.dataset.testid = "replay-step";
      const when = document.createElement("span");
      when.className = "mono";
      when.textContent = fmt(s.offset);
      btn.append(when, ` ${s.label}`);
      btn.addEventListener("click", () => goTo(s.offset));
      li.appendChild(btn);
      activity.push(li);
    }
    activity.sort((a, b) => Number(a.querySelector("[data-seek]").dataset.seek) - Number(b.querySelector("[data-seek]").dataset.seek));
    list.replaceChildren(...activity);
  }

  const useNow = $("hl-use-current");
  if (useNow) {
    useNow.addEventListener("click", () => {
      const from = $("hl-start");
      const target = from.value ? $("hl-end") : from;
      target.value = fmt(t);
    });
  }

  seek.max = String(total);
  stage.dataset.player = "frames";
  const begin = config.focus ? Math.min(total, Math.max(0, config.focus.start)) : 0;
  t = begin;
  const first = ensure() || Promise.resolve();
  return first.then(() => {
    if (!loaded.size && !frameFor(t)) {
      loading.textContent = failed ? "" : "There is nothing to replay in this recording.";
      return;
    }
    loading.remove();
    player.classList.add("replay__player--frames");
    player.append(img, dot);
    seek.disabled = false;
    play.disabled = false;
    if (list && !activity.length && !list.querySelector("li")) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = "No activity was logged during the recording.";
      list.appendChild(li);
    }
    if (config.focus) stopAt = config.focus.end;
    render();
    const painted = () => {
      fit();
      // Marks the page ready once the first frame is on screen (the bench measures up to here).
      document.body.dataset.replayReady = "1";
      if (window.performance && performance.mark) performance.mark("tandem-replay-first-frame");
    };
    if (img.complete && img.naturalWidth) painted();
    else img.addEventListener("load", painted, { once: true });
    requestAnimationFrame(tick);
  });
}
