// The snippet's script. It collects nothing, connects nowhere and loads nothing until the page has a
// co-browse grant: "#tandem=<grant>" in the address (from the consent screen) or one kept in
// sessionStorage by an earlier page of the same tab. Even then it sends nothing of the page: unless
// this tab's owner already allowed sharing on the page's own card, it loads only that card
// (tandem-consent.js), which asks them first; the recorder comes after Allow.
//
// Tandem.init(options) (docs/widget-sdk.md) only checks and keeps the site's options for the chunks
// (window.Tandem.options); with {help: true} it checks the user's signature, when given, and then
// loads the help triggers (tandem-triggers.js). Without Tandem.init nothing changes.
import { emitState } from "./events.js";
import { CONFIRMED_KEY, GRANT_KEY } from "./grant.js";
import { checkOptions } from "./init_options.js";

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

const src = script ? script.src : "";
const dist = src.slice(0, src.lastIndexOf("/") + 1);
// ".../static/dist/tandem-loader.js" → the Tandem base (keeps any path prefix it is mounted under).
const base = src.replace(/\/static\/dist\/[^/]*$/, "");

function load(name, then) {
  const chunk = document.createElement("script");
  chunk.src = `${dist}tandem-${name}.js`;
  chunk.async = true;
  chunk.referrerPolicy = "no-referrer";
  chunk.onload = () => {
    chunk.remove();
    then();
  };
  document.head.appendChild(chunk);
}

// Help is offered only to the user the site vouches for: the signature is checked first.
async function startHelp(o) {
  if (o.user) {
    const r = await fetch(`${base}/api/widget/identify/`, {
      method: "POST",
      credentials: "omit",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ site: o.site, user_id: String(o.user.id), signature: o.user.signature }),
    }).catch(() => 0);
    if (!r || !r.ok) {
      const error = `${r && r.status === 403 ? "bad signature" : `identify failed (${r ? r.status : "offline"})`}; help stays off`;
      console.error(`Tandem.init: ${error}`);
      emitState("error", { error });
      return;
    }
  }
  load("triggers", () => window.TandemTriggers.start(o));
  // Get help on a prompt: the help card and request (needs the signed user).
  if (o.user) {
    document.addEventListener("tandem:help-requested", (e) => {
      const go = () => window.TandemHelp.request(o, e.detail, { base, dist });
      window.TandemHelp ? go() : load("help", go);
    });
  }
}

const queued = (window.Tandem && window.Tandem.q) || [];
const Tandem = (window.Tandem = {
  init(o) {
    const problem = Tandem.options ? "called twice" : checkOptions(o);
    if (problem) {
      console.error(`Tandem.init: ${problem}; nothing was started`);
      return false;
    }
    Tandem.options = Object.freeze({ ...o });
    // A tab already sharing has an agent with it: no prompts then, and nothing more to load.
    if (o.help && script && !grant) startHelp(Tandem.options);
    return true;
  },
});
// Calls made before this script arrived (the snippet's stub keeps them in Tandem.q).
queued.forEach((o) => Tandem.init(o));

if (script && grant) {
  load(confirmed ? "recorder" : "consent", () =>
    (confirmed ? window.TandemRecorder.start : window.TandemConsent.ask)({ grant, base, dist }),
  );
}
