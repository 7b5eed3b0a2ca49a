// Frames player for recordings of server-side browser sessions: the stored screencast frames (JPEG,
// at most two a second) shown as images on the recording's own clock, with play/pause, seek, speed,
// and the agent's actions as markers on the timeline and entries in the activity list.
import { fmt } from "./util.js";

const ACTION_SHOW_MS = 2500;
const STEP_TYPES = ["action", "action_request", "annotate", "mode", "control"];

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

export function playFrames(config, chunks, ui) {
  const { player, loading, seek, time, play, speed, markers, overlay, stage, $ } = ui;
  const { frames, steps, start, total } = toFrames(chunks);
  if (!frames.length) {
    loading.textContent = "There is nothing to replay in this recording.";
    return;
  }
  loading.remove();
  player.classList.add("replay__player--frames");
  const img = document.createElement("img");
  img.className = "replay__frame";
  img.alt = "The agent's browser at this moment of the recording";
  img.dataset.testid = "replay-frame";
  player.appendChild(img);
  const dot = document.createElement("div");
  dot.className = "replay__nodebox replay__clickdot";
  dot.hidden = true;
  player.appendChild(dot);

  seek.max = String(total);
  seek.disabled = false;
  play.disabled = false;
  let t = 0;
  let playing = false;
  let rate = Number(speed.value) || 1;
  let last = 0;
  let shown = -1;
  let stopAt = null;

  function showFrame(index) {
    if (index === shown) return;
    shown = index;
    img.src = `data:image/jpeg;base64,${frames[index].jpeg}`;
    img.dataset.frame = String(index);
  }
  function render() {
    seek.value = String(Math.round(t));
    time.textContent = `${fmt(t)} / ${fmt(total)}`;
    showFrame(frameAt(frames, t));
    const recent = steps.filter((s) => s.kind === "action" && t >= s.offset && t < s.offset + ACTION_SHOW_MS);
    const step = recent[recent.length - 1];
    if (step) {
      overlay.textContent = step.label;
      overlay.hidden = false;
      const scale = img.naturalWidth ? img.clientWidth / img.naturalWidth : 1;
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
  }
  function goTo(ms) {
    t = Math.min(total, Math.max(0, ms));
    render();
  }
  function tick(now) {
    if (playing) {
      t += (now - last) * rate;
      if (t >= total) {
        t = total;
        setPlaying(false);
      }
      if (stopAt !== null && t >= stopAt) {
        stopAt = null;
        setPlaying(false);
      }
      render();
    }
    last = now;
    requestAnimationFrame(tick);
  }
  play.addEventListener("click", () => setPlaying(!playing));
  seek.addEventListener("input", () => goTo(Number(seek.value)));
  speed.addEventListener("change", () => {
    rate = Number(speed.value) || 1;
  });

  // Markers on the track: the agent's steps, the ticket's activity, the highlights.
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
  for (const s of steps) {
    const isAction = s.kind === "action" || s.kind === "action_request";
    marker(s.offset, isAction ? "replay__marker--action" : "replay__marker--annotation", s.label,
      isAction ? "action-marker" : "annotation-marker");
  }
  // Ticket activity is timed from the recording's start on the server; the replay from the first event.
  const lead = config.startedAtMs ? start - config.startedAtMs : 0;
  for (const item of config.timeline || []) {
    marker(item.offset - lead, "replay__marker--activity", item.label, "activity-marker");
  }
  for (const h of config.highlights || []) {
    const band = document.createElement("div");
    band.className = "replay__band";
    band.style.left = `${(h.start / total) * 100}%`;
    band.style.width = `${(Math.max(0, Math.min(h.end, total) - h.start) / total) * 100}%`;
    band.title = h.title;
    markers.appendChild(band);
  }

  // The activity list: the agent's steps from the recording, in time order with the ticket's activity.
  const list = document.querySelector("[data-testid=replay-timeline]");
  if (list) {
    const items = [...list.querySelectorAll("li")].filter((li) => li.querySelector("[data-seek]"));
    for (const li of list.querySelectorAll("li")) if (!li.querySelector("[data-seek]")) li.remove();
    for (const s of steps) {
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
      li.appendChild(btn);
      items.push(li);
    }
    items.sort((a, b) => Number(a.querySelector("[data-seek]").dataset.seek) - Number(b.querySelector("[data-seek]").dataset.seek));
    list.replaceChildren(...items);
    if (!items.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = "No activity was logged during the recording.";
      list.appendChild(li);
    }
  }
  document.querySelectorAll("[data-seek]").forEach((btn) =>
    btn.addEventListener("click", () => goTo(Number(btn.dataset.seek) - lead)),
  );

  const useNow = $("hl-use-current");
  if (useNow) {
    useNow.addEventListener("click", () => {
      const from = $("hl-start");
      const target = from.value ? $("hl-end") : from;
      target.value = fmt(t);
    });
  }

  stage.dataset.player = "frames";
  document.body.dataset.replayReady = "1";
  if (config.focus) {
    stopAt = config.focus.end;
    goTo(config.focus.start);
  } else {
    goTo(0);
  }
  requestAnimationFrame(tick);
}
