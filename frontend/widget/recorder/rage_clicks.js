// A rage click: `clicks` clicks within `windowMs`, all within `radiusPx` of the latest one.
// Each burst is reported once; the next burst needs `clicks` fresh clicks.
export function createRageClickDetector({ clicks = 3, windowMs = 700, radiusPx = 30 } = {}) {
  let recent = [];
  return function isRageClick(x, y, timeMs) {
    recent = recent.filter(
      (c) => timeMs - c.timeMs <= windowMs && Math.hypot(c.x - x, c.y - y) <= radiusPx,
    );
    recent.push({ x, y, timeMs });
    if (recent.length < clicks) return false;
    recent = [];
    return true;
  };
}
