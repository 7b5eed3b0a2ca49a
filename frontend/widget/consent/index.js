// tandem-consent.js: loaded by tandem-loader.js when a grant arrives in the address, or a stored one
// this tab has not confirmed. It shows the page's own consent card (who wants to see the page,
// which mode, whether it is recorded) and sends nothing of the page. Only after Allow does it load
// the recorder, with the tab grant the server issues for this page; Deny ends the session.
import { CONFIRMED_KEY, GRANT_KEY, forgetGrant } from "../grant.js";
import { emitState } from "../events.js";
import { confirmGrant, describeGrant } from "./api.js";
import { createCard } from "./card.js";

// What the site passed to Tandem.init (the loader keeps it frozen), or {} without it.
const site = () => (window.Tandem && window.Tandem.options) || {};
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function remember(tabGrant) {
  try {
    sessionStorage.setItem(GRANT_KEY, tabGrant);
    sessionStorage.setItem(CONFIRMED_KEY, tabGrant);
  } catch {
    // Storage disabled: the next page of this tab asks again.
  }
}

function startRecorder({ grant, base, dist }) {
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

async function describe(base, grant) {
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      return await describeGrant(base, grant);
    } catch {
      await wait(1000 * 2 ** attempt);
    }
  }
  return undefined; // Tandem unreachable: ask again on the next page.
}

async function ask({ grant, base, dist }) {
  const request = await describe(base, grant);
  if (request === null) forgetGrant();
  if (!request) return;
  if (!document.body) await new Promise((resolve) => window.addEventListener("DOMContentLoaded", resolve, { once: true }));

  const card = createCard({
    // The site's consentPrompt words the heading only: who asks, what is shared, the mode and
    // recording are still the server's, and Allow is still required. A resume keeps the server's
    // heading ("Resume sharing with <agent>?"): the customer shared before and is asked to continue.
    request: { ...request, title: (!request.resume && site().consentPrompt) || request.title },
    onAnswer: async (allow) => {
      card.busy(true);
      let result;
      try {
        result = await confirmGrant(base, grant, allow);
      } catch {
        card.busy(false);
        card.error("Support could not be reached. Nothing was shared. Try again.");
        return;
      }
      if (!result || (allow && !result.grant)) {
        forgetGrant();
        card.finish("This request is no longer valid. Nothing was shared.");
        emitState("ended", { reason: "invalid" });
      } else if (allow) {
        remember(result.grant);
        card.remove();
        startRecorder({ grant: result.grant, base, dist });
        emitState("sharing");
        if (site().onConsent) site().onConsent();
      } else {
        forgetGrant();
        card.finish("Nothing from this page was shared.");
        emitState("ended", { reason: "denied" });
      }
    },
  });
  emitState("asking");
}

window.TandemConsent = { ask };
