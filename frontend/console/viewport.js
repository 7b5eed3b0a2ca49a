// The customer's window as the console shows it beside the live view: its size in CSS pixels and
// the scale the replay is drawn at to fit the agent's stage (a phone is shown whole, a wide desktop
// shrunk), so the agent knows what the customer sees is not what they see.
export function viewportText(size, scale) {
  if (!size || !(size.width > 0) || !(size.height > 0)) return "";
  const label = size.width <= 480 ? "phone-sized window" : "window";
  const shown = Number.isFinite(scale) && scale > 0 ? ` · shown at ${Math.round(scale * 100)} %` : "";
  return `Customer's ${label}: ${Math.round(size.width)} × ${Math.round(size.height)} px${shown}`;
}
