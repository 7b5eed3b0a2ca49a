// The live console page: session state, activity feed, participants and the agent's controls around
// the live view (tandem-console.js). Kept out of the template so the page's CSP needs no inline script.
(() => {
  "use strict";
  const config = JSON.parse(document.getElementById("console-config").textContent);
  const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  const PRESENCE = {
    connected: "Customer connected",
    reconnecting: "Customer reconnecting…",
    disconnected: "Customer disconnected",
  };
  const QUALITY = { good: "Good", fair: "Fair", poor: "Poor" };
  const STATUS = { complete: "Done", active: "Typing", error: "Error", pending: "Empty" };
  const container = document.getElementById("live-view");
  let startedAt = config.started_at ? Date.parse(config.started_at) : null;
  let ended = !config.live;
  let live = null;

  const clock = (ms) => {
    const s = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(s / 3600);
    const mm = String(Math.floor((s % 3600) / 60));
    const ss = String(s % 60).padStart(2, "0");
    return h ? `${h}:${mm.padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
  };

  function feed(kind, text) {
    const item = document.createElement("li");
    item.className = `activity__item console-feed__item console-feed__item--${kind}`;
    const body = document.createElement("span");
    body.className = "activity__text";
    body.textContent = text;
    const time = document.createElement("time");
    time.className = "muted small";
    time.textContent = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    item.append(body, time);
    const list = $("console-feed");
    list.prepend(item);
    while (list.children.length > 100) list.lastChild.remove();
  }

  const WATCHER_ROLE = { agent: "agent", viewer: "colleague", team: "customer's team" };
  let watchingNow = new Set();

  // Everyone watching besides the customer, with their role; the feed notes who came and went.
  function showWatching(people, announce) {
    const list = Array.isArray(people) ? people : [];
    const labels = list.map((p) => `${p.name} (${WATCHER_ROLE[p.role] || p.role})`);
    $("console-watching").textContent = labels.length ? labels.join(", ") : "—";
    const next = new Set(labels);
    if (announce) {
      for (const label of next) if (!watchingNow.has(label)) feed("participants", `${label} is watching`);
      for (const label of watchingNow) if (!next.has(label)) feed("participants", `${label} stopped watching`);
    }
    watchingNow = next;
  }

  function setState(state, label) {
    const badge = $("console-state");
    badge.dataset.state = state;
    badge.textContent = label;
  }

  function setMode(mode) {
    $("console-mode").textContent = config.mode_labels[mode] || mode;
    const rank = config.mode_order.indexOf(mode);
    document.querySelectorAll("[data-mode]").forEach((button) => {
      button.disabled = ended || config.mode_order.indexOf(button.dataset.mode) <= rank;
    });
  }

  function showEnded(reason) {
    const wasEnded = ended && $("console-ended").hidden === false;
    ended = true;
    setState("ended", "Ended");
    const presence = $("console-presence");
    presence.dataset.state = "ended";
    presence.textContent = "Session ended";
    $("console-ended-reason").textContent = reason || "";
    $("console-ended").hidden = false;
    document.body.classList.add("console-is-ended");
    document.querySelectorAll(".console-side button, .console-side textarea, [data-tool]").forEach((el) => {
      el.disabled = true;
    });
    if (!wasEnded) feed("ended", `Session ended${reason ? `: ${reason}` : ""}`);
  }

  function tick() {
    if (startedAt && !ended) $("console-timer").textContent = clock(Date.now() - startedAt);
  }

  function renderFields(data) {
    const list = $("form-fields");
    const fields = Array.isArray(data.fields) ? data.fields : [];
    list.replaceChildren();
    if (!fields.length) {
      const empty = document.createElement("li");
      empty.className = "muted small";
      empty.textContent = "No form on this page.";
      list.append(empty);
    }
    for (const field of fields) {
      const item = document.createElement("li");
      item.className = "console-field";
      item.dataset.status = field.status;
      item.dataset.field = field.id;
      if (field.id === data.focused) item.classList.add("console-field--focused");
      const name = document.createElement("span");
      name.className = "console-field__label";
      name.textContent = field.label || field.name || field.id;
      const status = document.createElement("span");
      status.className = "console-field__status";
      status.textContent = field.masked && field.status === "complete" ? "Done · hidden" : STATUS[field.status] || field.status;
      item.append(name, status);
      if (field.error) {
        const error = document.createElement("span");
        error.className = "console-field__error";
        error.textContent = field.error;
        item.append(error);
      }
      list.append(item);
    }
    const completion = Number.isFinite(data.completion) ? data.completion : 0;
    $("form-completion").textContent = `${completion}%`;
    $("form-completion-bar").style.width = `${completion}%`;
    const focused = fields.find((f) => f.id === data.focused);
    $("form-focused").textContent = focused ? focused.label || focused.id : "—";
    $("form-stall").textContent = Number.isFinite(data.stalled_ms) ? clock(data.stalled_ms) : "—";
  }

  let lastUrl = null;
  function onPage(data) {
    $("console-title").textContent = data.title || "";
    $("console-url").textContent = data.url || "";
    if (data.url && data.url !== lastUrl) {
      lastUrl = data.url;
      feed("page", `Page: ${data.title || data.url}`);
    }
    renderFields(data);
  }

  function onPresence(data) {
    const presence = $("console-presence");
    presence.dataset.state = data.customer;
    presence.textContent = PRESENCE[data.customer] || data.customer;
    if (data.customer === "connected") {
      if (!startedAt) startedAt = Date.now();
      setState("active", "Active");
    } else if (data.customer === "reconnecting") {
      setState("reconnecting", "Reconnecting");
    }
    feed("presence", PRESENCE[data.customer] || data.customer);
  }

  function onQuality(data) {
    const quality = $("console-quality");
    quality.dataset.level = data.level;
    const rtt = Number.isFinite(data.rtt_ms) && data.rtt_ms > 0 ? ` · ${Math.round(data.rtt_ms)} ms` : "";
    quality.textContent = `${QUALITY[data.level] || data.level}${rtt}`;
  }

  const SIGNALS = {
    stall: "Customer stalled",
    rage_click: "Rage clicks",
    scroll_thrash: "Scrolling back and forth",
    idle: "Customer idle",
    exit_intent: "About to leave the page",
    validation_error: "Validation error",
  };
  const handlers = {
    page: onPage,
    presence: onPresence,
    quality: onQuality,
    mode: (data) => {
      setMode(data.mode);
      feed("mode", `Mode is now ${config.mode_labels[data.mode] || data.mode}`);
    },
    signal: (data) => {
      const where = data.field ? ` (${data.field})` : "";
      feed("signal", `${SIGNALS[data.kind] || data.kind}${where}${data.detail ? `: ${data.detail}` : ""}`);
    },
    // Each step of a mode request, once the server has committed it (the customer's answer too).
    mode_request: (data) => {
      const text = TandemConsole.requestStepText(data, config.mode_labels);
      if (text) feed(data.step.startsWith("customer_") ? "decision" : "mode", text);
    },
    decision: (data) => {
      if (String(data.request_id || "").startsWith("mode:")) return; // said by mode_request
      feed("decision", `The customer ${data.approved ? "allowed" : "denied"} the action`);
    },
    action_result: (data) =>
      feed(
        data.ok ? "action" : "error",
        data.ok ? `Done on the customer's page: ${data.detail || "ok"}` : `Not done: ${data.detail || "refused"}`,
      ),
    welcome: (data) => {
      if (data.controller) $("console-control").textContent = data.controller;
      if (data.quality) onQuality(data.quality);
      showWatching(data.watching, false);
    },
    participants: (data) => showWatching(data.watching, true),
    control: (data) => {
      $("console-control").textContent = data.holder || "—";
      feed("control", `${data.holder} now has control`);
    },
    refused: (data) => {
      ended = true;
      const refused = $("console-refused");
      refused.textContent = `You cannot join this session: ${data.message || "refused"}`;
      refused.hidden = false;
      const presence = $("console-presence");
      presence.dataset.state = "refused";
      presence.textContent = "Not admitted";
      document.querySelectorAll(".console-side button, .console-side textarea, [data-tool]").forEach((el) => {
        el.disabled = true;
      });
    },
    assist: (data) => feed("assist", data.text || data.message || "Suggestion"),
    error: (data) => feed("error", data.code === "not_allowed" ? `Refused: ${data.message}` : data.message || data.code || "Error"),
    ended: (data) => showEnded(config.end_reasons[data.reason] || (data.reason || "").replace(/_/g, " ")),
  };
  for (const [type, handler] of Object.entries(handlers)) {
    container.addEventListener(`tandem:${type}`, (event) => handler(event.detail || {}));
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
        const response = await fetch(config.end_url, {
          method: "POST",
          headers: { "X-CSRFToken": csrf, Accept: "application/json" },
          credentials: "same-origin",
        });
        if (!response.ok) throw new Error(`${response.status}`);
        showEnded(config.end_reasons.agent_ended);
      } catch (error) {
        endButton.disabled = false;
        feed("error", `Could not end the session (${error.message}).`);
      }
    });
  }

  const inviteForm = document.querySelector("[data-testid=invite-form]");
  if (inviteForm) {
    inviteForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const input = $("invite-username");
      const username = input.value.trim();
      if (!username) return;
      try {
        const response = await fetch(config.viewers_url, {
          method: "POST",
          headers: { "X-CSRFToken": csrf, "Content-Type": "application/json", Accept: "application/json" },
          credentials: "same-origin",
          body: JSON.stringify({ username }),
        });
        const body = await response.json().catch(() => ({}));
        if (!response.ok) throw new Error(body.detail || (body.username || [])[0] || `${response.status}`);
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
    const presence = $("console-presence");
    presence.dataset.state = config.state === "active" ? "connected" : "reconnecting";
    presence.textContent = PRESENCE[presence.dataset.state];
  }
  if (ended) {
    showEnded(config.end_reason);
    container.replaceChildren();
    return;
  }
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  live = TandemConsole.mount(container, { url: `${scheme}//${location.host}${config.socket_path}` });
  window.tandemLive = live;
  const toolbar = $("console-tools");
  if (toolbar) {
    TandemConsole.createTools({ live, stage: container.querySelector(".tandem-live__stage"), toolbar, feed });
  }
  tick();
  setInterval(tick, 1000);
})();
