// The agent's guidance drawn over the customer's page: pointer, highlight, circle, arrow, text
// label and spotlight. Everything lives in the widget's own host (class rr-block, closed shadow
// root, no pointer events), so nothing on the page changes, nothing is recorded and every click
// still reaches the page underneath. Drawings follow their element on scroll and resize.

const STYLE = `
:host { all: initial; position: fixed; inset: 0; pointer-events: none; z-index: 2147483646; }
.mark { position: fixed; box-sizing: border-box; pointer-events: none; z-index: 2; }
.highlight { border: 3px solid #ff3d7f; border-radius: 6px; box-shadow: 0 0 0 4px rgba(255,61,127,.25); }
.circle { border: 4px solid #ff8a00; border-radius: 50%; }
.spotlight { z-index: 1; border-radius: 6px; box-shadow: 0 0 0 200vmax rgba(10,15,25,.6); }
.arrow { width: 64px; height: 64px; transform-origin: 100% 50%; }
.arrow svg { width: 64px; height: 64px; display: block; }
.text, .pointer span { font: 600 14px/1.3 system-ui, sans-serif; color: #fff; background: #6b2bd9;
  padding: 6px 10px; border-radius: 8px; max-width: min(320px, calc(100vw - 28px)); box-shadow: 0 2px 10px rgba(0,0,0,.3); }
.pointer { z-index: 3; width: 0; height: 0; transition: left 60ms linear, top 60ms linear; }
.pointer i { position: absolute; left: -9px; top: -9px; width: 18px; height: 18px; border-radius: 50%;
  background: #ff3d7f; border: 3px solid #fff; box-shadow: 0 0 0 2px #ff3d7f, 0 2px 8px rgba(0,0,0,.4); }
.pointer span { position: absolute; left: 14px; top: 12px; white-space: nowrap; background: #ff3d7f; }
@keyframes pulse { from { opacity: 1; } to { opacity: 0; } }
.fade { animation: pulse 1.6s ease-in 1s forwards; }
`;

const ARROW = `<svg viewBox="0 0 64 64" aria-hidden="true"><path d="M4 32h46" stroke="#ff8a00" stroke-width="7"
 stroke-linecap="round"/><path d="M38 16l22 16-22 16z" fill="#ff8a00"/></svg>`;
const PAD = { highlight: 4, circle: 14, spotlight: 6 };
const MAX_MARKS = 12;

export function createOverlay(doc = document) {
  const view = doc.defaultView;
  const host = doc.createElement("div");
  host.className = "rr-block";
  host.setAttribute("data-tandem", "overlay");
  host.setAttribute("aria-hidden", "true");
  const root = host.attachShadow({ mode: "closed" });
  root.innerHTML = `<style>${STYLE}</style>`;
  (doc.body || doc.documentElement).appendChild(host);

  let marks = []; // {kind, target, box, text, pageX, pageY}
  let pointer = null;
  let frame = 0;

  function place(mark) {
    const { box, kind } = mark;
    if (mark.target) {
      if (!mark.target.isConnected) return false;
      const r = mark.target.getBoundingClientRect();
      if (kind === "arrow") {
        // Tip on the element's left edge; from above when there is no room on the left.
        const fromAbove = r.left < 72;
        box.style.left = `${(fromAbove ? r.left + r.width / 2 : r.left) - 66}px`;
        box.style.top = `${(fromAbove ? r.top : r.top + r.height / 2) - 32}px`;
        box.style.transform = fromAbove ? "rotate(90deg)" : "";
      } else if (kind === "text") {
        const below = r.bottom + 60 < view.innerHeight;
        // Within the screen, also for a field near the right edge of a phone.
        box.style.left = `${Math.max(4, Math.min(r.left, view.innerWidth - box.offsetWidth - 4))}px`;
        box.style.top = below ? `${r.bottom + 8}px` : "";
        box.style.bottom = below ? "" : `${view.innerHeight - r.top + 8}px`;
      } else {
        const pad = PAD[kind] || 0;
        Object.assign(box.style, {
          left: `${r.left - pad}px`,
          top: `${r.top - pad}px`,
          width: `${r.width + 2 * pad}px`,
          height: `${r.height + 2 * pad}px`,
        });
      }
    } else {
      box.style.left = `${mark.pageX - view.scrollX}px`;
      box.style.top = `${mark.pageY - view.scrollY}px`;
    }
    return true;
  }

  function layout() {
    frame = 0;
    marks = marks.filter((mark) => place(mark) || (mark.box.remove(), false));
    if (pointer) place(pointer);
  }

  // Scroll and resize fire far more often than frames are drawn: one layout per frame.
  function schedule() {
    if (!frame) frame = view.requestAnimationFrame(layout);
  }
  view.addEventListener("scroll", schedule, { capture: true, passive: true });
  view.addEventListener("resize", schedule, { passive: true });
  // Content can move without a scroll (a message appears above the field).
  const drift = view.setInterval(() => (marks.length || pointer) && schedule(), 400);

  function add(kind, target, { text = "", pageX = 0, pageY = 0, transient = false } = {}) {
    if (kind === "spotlight") remove((m) => m.kind === "spotlight");
    const box = doc.createElement("div");
    box.className = `mark ${kind}${transient ? " fade" : ""}`;
    box.setAttribute("data-kind", kind);
    if (kind === "arrow") box.innerHTML = ARROW;
    if (kind === "text") box.textContent = text;
    root.appendChild(box);
    const mark = { kind, target, box, pageX, pageY };
    marks.push(mark);
    while (marks.length > MAX_MARKS) marks.shift().box.remove();
    place(mark);
    if (transient) view.setTimeout(() => remove((m) => m === mark), 2800);
    return mark;
  }

  function remove(predicate) {
    marks = marks.filter((mark) => !predicate(mark) || (mark.box.remove(), false));
  }

  function movePointer(pageX, pageY, name) {
    if (!pointer) {
      const box = doc.createElement("div");
      box.className = "mark pointer";
      box.setAttribute("data-kind", "pointer");
      box.innerHTML = "<i></i><span></span>";
      root.appendChild(box);
      pointer = { kind: "pointer", target: null, box };
    }
    pointer.box.querySelector("span").textContent = name || "Agent";
    pointer.pageX = pageX;
    pointer.pageY = pageY;
    place(pointer);
  }

  function clear() {
    remove(() => true);
    if (pointer) pointer.box.remove();
    pointer = null;
  }

  return {
    add,
    movePointer,
    clear,
    // What is drawn, for the widget's own checks: [{kind, left, top, width, height}].
    drawn: () =>
      [...marks, ...(pointer ? [pointer] : [])].map(({ kind, box }) => {
        const r = box.getBoundingClientRect();
        return { kind, left: r.left, top: r.top, width: r.width, height: r.height };
      }),
    destroy() {
      clear();
      view.clearInterval(drift);
      view.removeEventListener("scroll", schedule, { capture: true });
      view.removeEventListener("resize", schedule);
      if (frame) view.cancelAnimationFrame(frame);
      host.remove();
    },
  };
}
