// The viewer's own consent card. The address that opened this page (/browser/<id>/#tandem=<grant>)
// may have been pasted by someone else, so its grant only asks: this card says who wants to watch
// and what they may do (the consent screen's words, from the describe call), and only its Allow gets
// the tab grant the viewer's socket accepts. Nothing connects before that. Deny ends the session.
//
// Keyboard: focus moves to the dialog and stays there while it is open (Tab and Shift+Tab cycle
// Allow and Deny), Escape answers Deny, Enter or Space press the focused button.
import { confirmGrant, describeGrant } from "../widget/consent/api.js";

const grantKey = (sessionId) => `tandem-browser-grant-${sessionId}`;
// The tab grant this tab's owner allowed here; a stored grant is used without asking only while it
// equals the grant key's value. sessionStorage belongs to one tab, so a new tab asks again.
const confirmedKey = (sessionId) => `tandem-browser-confirmed-${sessionId}`;

function read(key) {
  try {
    return sessionStorage.getItem(key) || "";
  } catch {
    return "";
  }
}

function write(key, value) {
  try {
    if (value) sessionStorage.setItem(key, value);
    else sessionStorage.removeItem(key);
  } catch {
    // Storage disabled: a reload of this tab asks again.
  }
}

// The grant this page should use, and whether the tab's owner already allowed it here. A grant in
// the fragment always asks (even a tab grant: someone could paste one); it leaves the address bar.
export function takeGrant(sessionId) {
  const match = /(?:^#|&)tandem=([^&]+)/.exec(location.hash);
  if (match) {
    const grant = decodeURIComponent(match[1]);
    write(grantKey(sessionId), grant);
    write(confirmedKey(sessionId), "");
    history.replaceState(null, "", location.pathname + location.search);
    return { grant, confirmed: false };
  }
  const grant = read(grantKey(sessionId));
  return { grant, confirmed: !!grant && read(confirmedKey(sessionId)) === grant };
}

function forget(sessionId) {
  write(grantKey(sessionId), "");
  write(confirmedKey(sessionId), "");
}

// Resolves to the tab grant once the owner allows, or null (denied, refused or unreachable).
export async function askOwner({ card, sessionId, grant }) {
  const title = card.querySelector("[data-testid=bv-consent-title]");
  const prompt = card.querySelector("[data-testid=bv-consent-prompt]");
  const details = card.querySelector("[data-testid=bv-consent-details]");
  const note = card.querySelector("[data-testid=bv-consent-note]");
  const allow = card.querySelector("[data-consent=allow]");
  const deny = card.querySelector("[data-consent=deny]");
  const buttons = [allow, deny];

  const finish = (text) => {
    title.textContent = text;
    prompt.textContent = "";
    details.replaceChildren();
    note.textContent = "";
    for (const button of buttons) button.hidden = true;
    card.hidden = false;
    card.focus();
    return null;
  };

  if (!grant) return finish("Open this page from the link support sent you.");
  let request;
  try {
    request = await describeGrant("", grant);
  } catch {
    return finish("Support could not be reached. Reload this page to try again.");
  }
  if (!request) {
    forget(sessionId);
    return finish("This link no longer works. Nothing was shared.");
  }

  // textContent only: the server's words are never parsed as markup.
  title.textContent = request.title;
  prompt.textContent = request.prompt;
  details.replaceChildren(
    ...(request.details || []).map((line) => {
      const item = document.createElement("li");
      item.textContent = line;
      return item;
    }),
  );
  allow.textContent = request.allow || "Allow";
  deny.textContent = request.deny || "Deny";
  card.hidden = false;

  return new Promise((resolve) => {
    let deciding = true;
    const keepFocus = (event) => {
      if (deciding && !card.contains(event.target)) card.focus();
    };
    const done = (value) => {
      deciding = false;
      document.removeEventListener("focusin", keepFocus, true);
      resolve(value);
    };
    const answer = async (yes) => {
      if (!deciding || allow.disabled) return;
      allow.disabled = deny.disabled = true;
      let result;
      try {
        result = await confirmGrant("", grant, yes);
      } catch {
        allow.disabled = deny.disabled = false;
        note.textContent = "Support could not be reached. Nothing was shared. Try again.";
        allow.focus();
        return;
      }
      if (!result || (yes && !result.grant)) {
        forget(sessionId);
        done(finish("This request is no longer valid. Nothing was shared."));
      } else if (yes) {
        write(grantKey(sessionId), result.grant);
        write(confirmedKey(sessionId), result.grant);
        card.hidden = true;
        done(result.grant);
      } else {
        forget(sessionId);
        done(finish("You said no. Nothing was shared, and the session has ended."));
      }
    };
    allow.addEventListener("click", () => answer(true));
    deny.addEventListener("click", () => answer(false));
    card.addEventListener("keydown", (event) => {
      if (!deciding) return;
      if (event.key === "Escape") {
        event.preventDefault();
        answer(false);
      } else if (event.key === "Tab") {
        event.preventDefault();
        const at = buttons.indexOf(document.activeElement);
        const step = event.shiftKey ? -1 : 1;
        const next = at < 0 ? (event.shiftKey ? 1 : 0) : (at + step + 2) % 2;
        buttons[next].focus();
      }
    });
    // Modal: focus that lands elsewhere on the page comes back to the card.
    document.addEventListener("focusin", keepFocus, true);
    card.focus();
  });
}
