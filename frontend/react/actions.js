// What start() and stop() do: exactly what the widget's own buttons do, through its public DOM
// events (frontend/widget/events.js), so the wrapper never reaches into a closed shadow root.
import { completionOf, fieldId, isField } from "../widget/triggers/progress.js";

// The help prompt's Get help: a tandem:help-requested event and the site's onHelpRequested.
export function requestHelp(win = window) {
  const doc = win.document;
  const active = doc.activeElement;
  const detail = { trigger: "button", field: isField(active) ? fieldId(active) : "", completion: completionOf(doc) };
  doc.dispatchEvent(new CustomEvent("tandem:help-requested", { bubbles: true, detail }));
  const options = win.Tandem && win.Tandem.options;
  if (options && options.onHelpRequested) options.onHelpRequested(detail);
  return detail;
}

// The badge's Stop sharing (the recorder listens while it shares; otherwise nothing happens).
export function stopSharing(win = window) {
  win.document.dispatchEvent(new CustomEvent("tandem:stop", { bubbles: true }));
}
