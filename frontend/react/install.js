// Starting the widget from a React app: Tandem.init once, and the loader script if the page does
// not have it. Works on the window it is given (a stand-in in the Node tests).
const LOADER = /\/tandem-loader\.js(\?|#|$)/;

function hasLoaderScript(doc) {
  return [...doc.querySelectorAll("script[src]")].some((s) => LOADER.test(s.src));
}

// Returns what happened: "started" (the loader was there and accepted the options), "queued" (kept
// for the loader, which is loading), "already" (Tandem.init was called before, by this wrapper or
// the page's own snippet: a second call would be refused), or an error message. onError(message) is
// called later if the loader script fails to load or refuses the queued options.
export function installTandem(win, init, src, onError = () => {}) {
  const doc = win.document;
  const current = win.Tandem;
  if (current && (current.options || (Array.isArray(current.q) && current.q.length))) return "already";
  if (current && typeof current.init === "function" && !Array.isArray(current.q)) {
    return current.init(init) ? "started" : "Tandem.init refused the options (see the console)";
  }
  // The snippet's stub: the loader replays the queued call when it runs.
  const stub = current || { q: [], init(o) { this.q.push(o); } };
  win.Tandem = stub;
  if (hasLoaderScript(doc)) {
    stub.init(init);
    return "queued";
  }
  if (!src) return "no loader on the page and no loaderSrc given";
  stub.init(init);
  const script = doc.createElement("script");
  script.src = src;
  script.async = true;
  script.onerror = () => onError(`the widget loader could not be loaded (${src})`);
  script.onload = () => {
    if (!win.Tandem || !win.Tandem.options) onError("Tandem.init refused the options (see the console)");
  };
  doc.head.appendChild(script);
  return "queued";
}
