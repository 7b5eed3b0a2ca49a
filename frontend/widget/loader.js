// The snippet's script. It collects nothing, connects nowhere and loads nothing until the page has a
// co-browse grant: "#tandem=<grant>" in the address (from the one-time link the customer opened)
// or one kept in sessionStorage by an earlier page of the same tab.
import { GRANT_KEY } from "./grant.js";

const HASH_GRANT = /(^#|&)tandem=([^&]*)/;

function readStoredGrant() {
  try {
    return sessionStorage.getItem(GRANT_KEY);
  } catch {
    return null;
  }
}

function storeGrant(grant) {
  try {
    sessionStorage.setItem(GRANT_KEY, grant);
  } catch {
    // Storage disabled: the session lasts for this page only.
  }
}

// Takes the grant out of the address bar (and so out of history, referrers and the recording).
function takeGrantFromHash() {
  const match = HASH_GRANT.exec(location.hash);
  if (!match) return null;
  const rest = location.hash.replace(HASH_GRANT, "$1").replace(/^#&/, "#").replace(/&$/, "");
  history.replaceState(history.state, "", location.pathname + location.search + (rest === "#" ? "" : rest));
  return decodeURIComponent(match[2]) || null;
}

const script = document.currentScript;
const fromHash = takeGrantFromHash();
if (fromHash) storeGrant(fromHash);
const grant = fromHash || readStoredGrant();

if (script && grant) {
  const src = script.src;
  const distUrl = src.slice(0, src.lastIndexOf("/") + 1);
  // ".../static/dist/tandem-loader.js" → the Tandem base (keeps any path prefix it is mounted under).
  const base = src.replace(/\/static\/dist\/[^/]*$/, "");
  const recorder = document.createElement("script");
  recorder.src = `${distUrl}tandem-recorder.js`;
  recorder.async = true;
  recorder.onload = () => {
    recorder.remove();
    window.TandemRecorder.start({ grant, base });
  };
  document.head.appendChild(recorder);
}
