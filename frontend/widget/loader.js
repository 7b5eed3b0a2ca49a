// The snippet's script. It collects nothing, connects nowhere and loads nothing until the page has a
// co-browse grant: "#tandem=<grant>" in the address (from the consent screen) or one kept in
// sessionStorage by an earlier page of the same tab. Even then it sends nothing of the page: unless
// this tab's owner already allowed sharing on the page's own card, it loads only that card
// (tandem-consent.js), which asks them first; the recorder comes after Allow.
import { CONFIRMED_KEY, GRANT_KEY } from "./grant.js";

const HASH_GRANT = /(^#|&)tandem=([^&]*)/;

function read(key) {
  try {
    return sessionStorage.getItem(key);
  } catch {
    return null;
  }
}

function storeUnconfirmed(grant) {
  try {
    sessionStorage.setItem(GRANT_KEY, grant);
    sessionStorage.removeItem(CONFIRMED_KEY);
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
if (fromHash) storeUnconfirmed(fromHash);
const grant = fromHash || read(GRANT_KEY);
// An address can be pasted by anyone: a grant from it always asks, even one a tab had confirmed.
const confirmed = !fromHash && !!grant && read(CONFIRMED_KEY) === grant;

if (script && grant) {
  const src = script.src;
  const dist = src.slice(0, src.lastIndexOf("/") + 1);
  // ".../static/dist/tandem-loader.js" → the Tandem base (keeps any path prefix it is mounted under).
  const base = src.replace(/\/static\/dist\/[^/]*$/, "");
  const chunk = document.createElement("script");
  chunk.src = `${dist}tandem-${confirmed ? "recorder" : "consent"}.js`;
  chunk.async = true;
  chunk.referrerPolicy = "no-referrer";
  chunk.onload = () => {
    chunk.remove();
    (confirmed ? window.TandemRecorder.start : window.TandemConsent.ask)({ grant, base, dist });
  };
  document.head.appendChild(chunk);
}
