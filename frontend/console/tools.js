// The agent's guidance and control tools over the live replay. A tool is picked in the toolbar,
// then its target is picked by clicking the customer's page in the replay; the message goes to
// the server, which checks it against the session's mode before anything reaches the customer.
// Outcomes (decisions, results, refusals) come back as tandem:* events and land in the feed.
import { pickInReplay } from "./targeting.js";
import { POINTER_INTERVAL_MS, createThrottle } from "./throttle.js";

export const ANNOTATION_TOOLS = ["pointer", "highlight", "circle", "arrow", "text", "spotlight", "scroll_to", "clear"];
export const ACTION_TOOLS = ["click", "type", "select", "autofill"];
const QUESTIONS = {
  text: "Label to show next to the element:",
  type: "Text to type into the field:",
  select: "Option to choose (its text or value):",
  autofill: "Value to fill in:",
};
const NAMES = {
  highlight: "Highlighted",
  circle: "Circled",
  arrow: "Pointed an arrow at",
  text: "Labelled",
  spotlight: "Spotlit",
  scroll_to: "Scrolled the customer to",
  click: "Asked to click",
  type: "Asked to type into",
  select: "Asked to choose in",
  autofill: "Asked to fill in",
};
const MARKER_MS = 1500;

// A short, recognisable name for an element of the replayed page.
export function describeElement(el) {
  if (!el || !el.tagName) return "the page";
  const tag = el.tagName.toLowerCase();
  const id = el.id ? `#${el.id}` : "";
  const text = (el.getAttribute("aria-label") || el.getAttribute("name") || (id ? "" : el.textContent) || "")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 40);
  return `${tag}${id}${text ? ` “${text}”` : ""}`;
}

// live: TandemConsole.mount()'s handle; stage: the element the replay is drawn in; toolbar: holds
// buttons with data-tool; feed(kind, text): the activity feed; ask(question): a value or null.
export function createTools({ live, stage, toolbar, feed, ask = (question) => window.prompt(question) }) {
  const layer = document.createElement("div");
  layer.className = "tandem-live__capture";
  layer.setAttribute("data-testid", "tool-layer");
  const marker = document.createElement("div");
  marker.className = "tandem-live__target";
  marker.hidden = true;
  layer.append(marker);
  stage.append(layer);
  let active = null;
  let markerTimer = null;

  const buttons = () => Array.from(toolbar.querySelectorAll("[data-tool]"));

  function activate(tool) {
    active = tool;
    layer.dataset.tool = tool || "";
    for (const button of buttons()) button.setAttribute("aria-pressed", String(button.dataset.tool === tool));
  }

  const sendPointer = createThrottle((x, y) => {
    if (live.pageId) live.send("annotate", { kind: "pointer", page_id: live.pageId, x, y });
  }, POINTER_INTERVAL_MS);

  function showMarker(pick) {
    const el = pick.element;
    if (!el || !el.getBoundingClientRect) return;
    const r = el.getBoundingClientRect();
    const frame = live.replayer.iframe.getBoundingClientRect();
    const own = layer.getBoundingClientRect();
    Object.assign(marker.style, {
      left: `${frame.left - own.left + r.left * pick.scale}px`,
      top: `${frame.top - own.top + r.top * pick.scale}px`,
      width: `${r.width * pick.scale}px`,
      height: `${r.height * pick.scale}px`,
    });
    marker.hidden = false;
    clearTimeout(markerTimer);
    markerTimer = setTimeout(() => (marker.hidden = true), MARKER_MS);
  }

  function fire(tool, pick) {
    const pageId = live.pageId;
    if (!pageId || !pick || !(pick.nodeId >= 0)) {
      feed("error", "Pick an element on the customer's page.");
      return;
    }
    showMarker(pick);
    let value;
    if (QUESTIONS[tool]) {
      value = ask(QUESTIONS[tool]);
      if (value == null || (tool === "text" && !value.trim())) return;
    }
    const target = describeElement(pick.element);
    const data = { kind: tool, page_id: pageId, node_id: pick.nodeId };
    if (tool === "text") data.text = value;
    else if (value != null) data.value = value;
    const type = ACTION_TOOLS.includes(tool) ? "action" : "annotate";
    if (!live.send(type, data)) {
      feed("error", "Not connected: nothing was sent.");
      return;
    }
    feed(type === "action" ? "action" : "guide", `${NAMES[tool]} ${target}${value != null ? `: ${value}` : ""}`);
  }

  function pick(event) {
    return pickInReplay(live.replayer, event.clientX, event.clientY);
  }

  layer.addEventListener("mousemove", (event) => {
    if (active !== "pointer") return;
    const point = pick(event);
    if (point) sendPointer(Math.round(point.pageX), Math.round(point.pageY));
  });
  layer.addEventListener("click", (event) => {
    if (!active || active === "pointer") return;
    event.preventDefault();
    const tool = active;
    activate(null); // one target per pick: the next click on the replay does nothing by surprise
    fire(tool, pick(event));
  });

  toolbar.addEventListener("click", (event) => {
    const button = event.target.closest("[data-tool]");
    if (!button || button.disabled) return;
    const tool = button.dataset.tool;
    if (tool === "clear") {
      activate(null);
      if (live.send("annotate", live.pageId ? { kind: "clear", page_id: live.pageId } : { kind: "clear" })) {
        feed("guide", "Cleared the guidance");
      }
      return;
    }
    activate(active === tool ? null : tool);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && active) activate(null);
  });

  return {
    get active() {
      return active;
    },
    activate,
    destroy() {
      sendPointer.cancel();
      layer.remove();
    },
  };
}
