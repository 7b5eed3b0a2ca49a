// The live console page around the live view: session state, activity feed, form panel, who is
// watching, and the agent's controls (mode requests, notes, invitations, End). Configured by the
// page's {{ console_config|json_script:"console-config" }}; the words come from page_text.js.
import { createAssistPanel } from "./assist_panel.js";
import { freshLinkText, recoveryPlan, refusalText } from "./recovery.js";
import { createTools } from "./tools.js";
import { mount } from "./view.js";
import {
  PRESENCE,
  clock,
  createPageTracker,
  createWatchers,
  endReasonText,
  endedLine,
  feedLine,
  formSummary,
  inviteError,
  modeButtonDisabled,
  presenceText,
  qualityText,
} from "./page_text.js";

const FEED_LIMIT = 100;
const CONTROLS = ".console-side button, .console-side textarea, [data-tool]";

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);

function element(tag, className, text) {
  const el = document.createElement(tag);
  el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

// The activity feed: newest first, the oldest dropped beyond FEED_LIMIT items.
function feed(kind, text) {
  const item = element("li", `activity__item console-feed__item console-feed__item--${kind}`);
  const time = element(
    "time",
    "muted small",
    new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }),
  );
  item.append(element("span", "activity__text", text), time);
  const list = $("console-feed");
  list.prepend(item);
  while (list.children.length > FEED_LIMIT) list.lastChild.remove();
}

const say = (line) => {
  if (line) feed(line.kind, line.text);
};

function disableControls() {
  document.querySelectorAll(CONTROLS).forEach((el) => {
    el.disabled = true;
  });
}

function setPresence(state, text) {
  const presence = $("console-presence");
  presence.dataset.state = state;
  presence.textContent = text;
}

function setState(state, label) {
  const badge = $("console-state");
  badge.dataset.state = state;
  badge.textContent = label;
}

function renderFields(data) {
  const summary = formSummary(data);
  const list = $("form-fields");
  list.replaceChildren();
  if (!summary.rows.length) list.append(element("li", "muted small", "No form on this page."));
  for (const row of summary.rows) {
    const item = element("li", "console-field");
    item.dataset.status = row.status;
    item.dataset.field = row.id;
    if (row.focused) item.classList.add("console-field--focused");
    item.append(
      element("span", "console-field__label", row.label),
      element("span", "console-field__status", row.statusText),
    );
    if (row.error) item.append(element("span", "console-field__error", row.error));
    list.append(item);
  }
  $("form-completion").textContent = summary.completion;
  $("form-completion-bar").style.width = summary.completion;
  $("form-focused").textContent = summary.focused;
  $("form-stall").textContent = summary.stall;
}

async function postJson(url, csrf, body) {
  const headers = { "X-CSRFToken": csrf, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return fetch(url, {
    method: "POST",
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

// The recovery card (console.html, only for who may manage): asks the server what to offer while
// the customer's page is gone, and sends the fresh link or an alternative in one click.
function createRecovery(config, csrf) {
  const root = $("console-recovery");
  if (!root) return { check() {}, hide() {} };
  let timer = null;
  let busy = false;
  const result = (text) => {
    $("recovery-result").textContent = text;
  };
  const showLink = (url) => {
    const input = $("recovery-link");
    input.value = url || "";
    input.hidden = !url;
  };

  function render(plan) {
    const box = $("fresh-link-box");
    box.hidden = plan.freshLink === "hidden";
    $("fresh-link-text").textContent = freshLinkText(plan);
    $("console-fresh-link").hidden = plan.freshLink !== "ready";
    $("alternatives-card").hidden = !plan.alternatives;
    $("alt-browser").hidden = !plan.browserPossible;
    $("alt-callback").disabled = plan.callbackRequested;
    root.hidden = box.hidden && $("alternatives-card").hidden && !$("recovery-result").textContent;
    clearTimeout(timer);
    if (plan.recheckMs) timer = setTimeout(check, plan.recheckMs);
  }

  async function check() {
    try {
      const response = await fetch(config.connection_url, { credentials: "same-origin", cache: "no-store" });
      if (response.ok) render(recoveryPlan(await response.json()));
    } catch {
      // Offline for a moment: the next presence change asks again.
    }
  }

  async function act(url, button, done) {
    if (busy) return;
    busy = true;
    button.disabled = true;
    try {
      const response = await postJson(url, csrf);
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(refusalText(response.status, body));
      done(body);
    } catch (error) {
      result(error.message);
      button.disabled = false;
    } finally {
      busy = false;
      check();
    }
  }

  $("console-fresh-link").addEventListener("click", (event) =>
    act(config.fresh_link_url, event.target, (body) => {
      result(body.notice);
      showLink(body.join_url);
      feed("control", "Sent a fresh link to the customer");
    }),
  );
  $("alt-callback").addEventListener("click", (event) =>
    act(config.callback_url, event.target, (body) => {
      result(body.notice);
      feed("control", "Requested a call-back on the ticket");
    }),
  );
  $("alt-browser").addEventListener("click", (event) => {
    if (!window.confirm("End this session and invite the customer to a server-side browser session?")) return;
    act(config.browser_url, event.target, (body) => {
      result(body.notice);
      showLink(body.join_url);
      feed("control", "Invited the customer to a server-side browser session");
    });
  });

  return {
    check,
    // The session ended: no offer is left, but a sent link or notice stays readable.
    hide() {
      clearTimeout(timer);
      $("fresh-link-box").hidden = true;
      $("alternatives-card").hidden = true;
      root.hidden = !$("recovery-result").textContent;
    },
  };
}

export function startConsolePage(configElement) {
  const config = JSON.parse(configElement.textContent);
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  const container = document.getElementById("live-view");
  const pageChange = createPageTracker();
  const watchers = createWatchers();
  let startedAt = config.started_at ? Date.parse(config.started_at) : null;
  let ended = !config.live;
  let live = null;
  let mode = config.mode;
  let assistant = null; // the Assistant panel, once the live view is mounted
  const recovery = createRecovery(config, csrf);

  const showWatching = (people, announce) => {
    const { text, lines } = watchers(people, announce);
    $("console-watching").textContent = text;
    lines.forEach(say);
  };

  function setMode(next) {
    mode = next;
    $("console-mode").textContent = config.mode_labels[mode] || mode;
    document.querySelectorAll("[data-mode]").forEach((button) => {
      button.disabled = modeButtonDisabled(button.dataset.mode, mode, config.mode_order, ended);
    });
  }

  function showEnded(reason) {
    const wasEnded = ended && $("console-ended").hidden === false;
    ended = true;
    setState("ended", "Ended");
    setPresence("ended", "Session ended");
    $("console-ended-reason").textContent = reason || "";
    $("console-ended").hidden = false;
    document.body.classList.add("console-is-ended");
    disableControls();
    recovery.hide();
    if (!wasEnded) say(endedLine(reason));
  }

  function tick() {
    if (startedAt && !ended) $("console-timer").textContent = clock(Date.now() - startedAt);
  }

  function onQuality(data) {
    const quality = $("console-quality");
    quality.dataset.level = data.level;
    quality.textContent = qualityText(data);
  }

  // What each server message changes on the page besides its feed line (page_text.feedLine).
  const updates = {
    page: (data) => {
      $("console-title").textContent = data.title || "";
      $("console-url").textContent = data.url || "";
      say(pageChange(data));
      renderFields(data);
      if (assistant) assistant.page(data);
    },
    presence: (data) => {
      setPresence(data.customer, presenceText(data.customer));
      if (data.customer === "connected") {
        if (!startedAt) startedAt = Date.now();
        setState("active", "Active");
      } else if (data.customer === "reconnecting") {
        setState("reconnecting", "Reconnecting");
      }
      if (!ended) recovery.check();
    },
    quality: onQuality,
    mode: (data) => setMode(data.mode),
    welcome: (data) => {
      if (data.controller) $("console-control").textContent = data.controller;
      if (data.quality) onQuality(data.quality);
      showWatching(data.watching, false);
    },
    participants: (data) => showWatching(data.watching, true),
    control: (data) => {
      $("console-control").textContent = data.holder || "—";
    },
    refused: (data) => {
      ended = true;
      const refused = $("console-refused");
      refused.textContent = `You cannot join this session: ${data.message || "refused"}`;
      refused.hidden = false;
      setPresence("refused", "Not admitted");
      disableControls();
    },
    ended: (data) => showEnded(endReasonText(data.reason, config.end_reasons)),
    assist: (data) => {
      if (assistant) assistant.show(data);
    },
  };
  const feedOnly = ["signal", "mode_request", "decision", "action_result", "error"];
  const types = new Set([...Object.keys(updates), ...feedOnly]);
  for (const type of types) {
    container.addEventListener(`tandem:${type}`, (event) => {
      const data = event.detail || {};
      if (updates[type]) updates[type](data);
      if (assistant && (type === "error" || type === "decision" || type === "action_result")) {
        assistant.answer(type, data);
      }
      say(feedLine(type, data, config.mode_labels));
    });
  }

  document.querySelectorAll("[data-mode]").forEach((button) => {
    button.addEventListener("click", () => {
      // The feed says who was asked when the server confirms (mode_request), never before.
      if (!(live && live.send("mode_request", { mode: button.dataset.mode }))) {
        feed("error", "Not connected: the request was not sent.");
      }
    });
  });

  $("note-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("note-text").value.trim();
    if (!text) return;
    if (live && live.send("note", { text })) {
      feed("note", `Note: ${text}`);
      $("note-text").value = "";
    } else {
      feed("error", "Not connected: the note was not saved.");
    }
  });

  const endButton = $("console-end");
  if (endButton) {
    endButton.addEventListener("click", async () => {
      if (!window.confirm("End this co-browse session for everyone?")) return;
      endButton.disabled = true;
      try {
        const response = await postJson(config.end_url, csrf);
        if (!response.ok) throw new Error(`${response.status}`);
        showEnded(config.end_reasons.agent_ended);
      } catch (error) {
        endButton.disabled = false;
        feed("error", `Could not end the session (${error.message}).`);
      }
    });
  }

  const inviteForm = $("invite-form");
  if (inviteForm) {
    inviteForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const input = $("invite-username");
      const username = input.value.trim();
      if (!username) return;
      try {
        const response = await postJson(config.viewers_url, csrf, { username });
        const body = await response.json().catch(() => ({}));
        if (!response.ok) throw new Error(inviteError(response.status, body));
        feed("control", `${username} may now watch this session`);
        input.value = "";
      } catch (error) {
        feed("error", `Could not invite ${username}: ${error.message}`);
      }
    });
  }

  setMode(config.mode);
  // Until the socket's welcome says otherwise, show the state the page was rendered with.
  if (config.state === "active" || config.state === "reconnecting") {
    const state = config.state === "active" ? "connected" : "reconnecting";
    setPresence(state, PRESENCE[state]);
  }
  if (ended) {
    showEnded(config.end_reason);
    container.replaceChildren();
    return;
  }
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  live = mount(container, { url: `${scheme}//${location.host}${config.socket_path}` });
  window.tandemLive = live;
  const assistRoot = $("assist-panel");
  if (assistRoot) assistant = createAssistPanel({ root: assistRoot, live, getMode: () => mode, feed });
  const toolbar = $("console-tools");
  if (toolbar) createTools({ live, stage: container.querySelector(".tandem-live__stage"), toolbar, feed });
  tick();
  setInterval(tick, 1000);
}
