// Maps a point on the agent's screen to the customer's page. The replay iframe is scaled to fit
// the stage and has pointer events off, so the console hit-tests it itself; rrweb's mirror turns
// the element into the node id the customer's recorder knows.

// Pure: screen point + iframe box (scaled) + layout width + scroll → page coordinates.
export function toPagePoint({ clientX, clientY, rect, layoutWidth, scrollX = 0, scrollY = 0 }) {
  const scale = layoutWidth ? rect.width / layoutWidth : 1;
  const x = (clientX - rect.left) / (scale || 1);
  const y = (clientY - rect.top) / (scale || 1);
  return { x, y, pageX: x + scrollX, pageY: y + scrollY, scale: scale || 1 };
}

// Returns {x, y, pageX, pageY, scale, element, nodeId} or null when the point is off the page.
export function pickInReplay(replayer, clientX, clientY) {
  const iframe = replayer && replayer.iframe;
  const doc = iframe && iframe.contentDocument;
  if (!doc) return null;
  const win = iframe.contentWindow;
  const point = toPagePoint({
    clientX,
    clientY,
    rect: iframe.getBoundingClientRect(),
    layoutWidth: iframe.offsetWidth,
    scrollX: win ? win.scrollX : 0,
    scrollY: win ? win.scrollY : 0,
  });
  if (point.x < 0 || point.y < 0 || point.x > iframe.offsetWidth || point.y > iframe.offsetHeight) return null;
  const element = doc.elementFromPoint(point.x, point.y);
  const nodeId = element ? replayer.getMirror().getId(element) : -1;
  return { ...point, element, nodeId };
}

// The node id of a form field of the replayed page, by the id (else the name) the customer's page
// reported it under (`page` messages, the assistant's proposals); null when the replay has none.
export function nodeForField(replayer, fieldId) {
  const doc = replayer && replayer.iframe && replayer.iframe.contentDocument;
  if (!doc || !fieldId) return null;
  const escaped = typeof CSS !== "undefined" && CSS.escape ? CSS.escape(fieldId) : String(fieldId).replace(/["\\]/g, "\\$&");
  const element =
    doc.getElementById(fieldId) ||
    doc.querySelector(`input[name="${escaped}"], select[name="${escaped}"], textarea[name="${escaped}"]`);
  if (!element) return null;
  const id = replayer.getMirror().getId(element);
  return id >= 0 ? id : null;
}
