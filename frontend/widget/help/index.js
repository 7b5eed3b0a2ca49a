// tandem-help.js: loaded by the loader when the visitor presses Get help (`tandem:help-requested`)
// on a site that called Tandem.init({help: true, user}). Asks on the page first (the help card);
// nothing of the page is sent before Allow, and then only its address, title, the stalled field's id
// and the completion. Once an agent takes the request, the tab joins with the grant it is given,
// exactly as after the consent card's Allow (the recorder, with a confirmed tab grant).
import { emitState } from "../events.js";
import { CONFIRMED_KEY, GRANT_KEY } from "../grant.js";
import * as api from "./api.js";
import { createHelpCard } from "./card.js";
import { createFlow } from "./flow.js";

let open = false;

function startRecorder(grant, { base, dist }) {
  try {
    sessionStorage.setItem(GRANT_KEY, grant);
    sessionStorage.setItem(CONFIRMED_KEY, grant);
  } catch {
    // Storage disabled: the session lasts for this page only.
  }
  const script = document.createElement("script");
  script.src = `${dist}tandem-recorder.js`;
  script.async = true;
  script.referrerPolicy = "no-referrer";
  script.onload = () => {
    script.remove();
    window.TandemRecorder.start({ grant, base });
  };
  document.head.appendChild(script);
}

async function request(options, detail = {}, { base, dist }) {
  if (open) return;
  open = true;
  let words;
  try {
    words = await api.words(base, options.site);
  } catch {
    words = null;
  }
  if (!words || words.status !== 200) {
    open = false;
    console.error("Tandem: help is not available right now");
    return;
  }
  let card = null;
  const flow = createFlow({
    api: { ask: (body) => api.ask(base, body), status: (url) => api.status(url), cancel: (url) => api.cancel(url) },
    request: {
      site: options.site,
      user: { id: String(options.user.id), signature: options.user.signature },
      page: {
        url: location.href,
        title: document.title.slice(0, 200),
        field: detail.field || undefined,
        trigger: detail.trigger || undefined,
        completion: typeof detail.completion === "number" ? detail.completion : undefined,
      },
    },
    onChange: ({ state, message, error, grant }) => {
      if (state === "sending") card.busy(true);
      else if (state === "asking") card.error(error);
      else if (state === "waiting") card.show(message, { cancellable: true });
      else if (state === "taken") {
        card.remove();
        open = false;
        startRecorder(grant, { base, dist });
      } else if (state === "closed") {
        card.remove();
        open = false;
        emitState("ended", { reason: "denied" });
      } else if (state !== "cancelling") {
        card.show(message);
        open = false;
        emitState("ended", { reason: state });
      }
    },
  });
  card = createHelpCard({
    words: words.body,
    // The site's consentPrompt words the heading only, as on the consent card.
    title: options.consentPrompt,
    onAllow: (consent) => {
      if (options.onConsent) options.onConsent();
      flow.allow(consent);
    },
    onDeny: () => flow.deny(),
    onCancel: () => flow.cancel(),
  });
  emitState("asking"); // the recorder says "sharing" once an agent took it and the page joined
}

window.TandemHelp = { request };
