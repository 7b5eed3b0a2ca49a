// Helpers shared by the replay page's players.

export function fmt(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

// A hole in a recording (its ``gap`` event): the connection was lost, or a server restarted.
export function gapLabel(data) {
  const seconds = Number(data && data.seconds);
  return Number.isFinite(seconds) ? `Not recorded for ${seconds} s (connection lost)` : "Not recorded (connection lost)";
}
