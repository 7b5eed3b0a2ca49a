// The server-side browser viewer: JPEG frames (binary WebSocket messages) painted on a canvas,
// every frame acknowledged by its number once drawn, and the viewer's clicks, wheel and keys sent
// back as `input` in page coordinates. The server decides who may drive; this page only hides
// what it would refuse anyway.
//
// The customer's viewer first asks its owner (consent.js): no socket opens and no frame is shown
// until this tab's owner allowed on the card, or allowed earlier in this same tab.
import { refreshGrant } from "../widget/recorder/grant_api.js";
import { askOwner, takeGrant } from "./consent.js";
import "./viewer.css";

const root = document.querySelector("[data-testid=browser-viewer]");
if (root) boot(root);

async function boot(root) {
  const sessionId = root.dataset.session;
  const { grant, confirmed } = takeGrant(sessionId);
  if (root.dataset.role !== "customer") return start(root, ""); // staff: their login, no grant
  if (confirmed) return start(root, grant);
  const card = document.querySelector("[data-testid=bv-consent]");
  const tabGrant = await askOwner({ card, sessionId, grant });
  if (tabGrant) start(root, tabGrant);
}

function start(root, grant) {
  root.hidden = false;
  const canvas = root.querySelector("canvas");
  const ctx = canvas.getContext("2d");
  const urlInput = root.querySelector("[data-testid=bv-url]");
  const titleEl = root.querySelector("[data-testid=bv-title]");
  const statusEl = root.querySelector("[data-testid=bv-status]");
  const qualityEl = root.querySelector("[data-testid=bv-quality]");
  const noticeEl = root.querySelector("[data-testid=bv-notice]");
  const cursorEl = root.querySelector("[data-testid=bv-cursor]");
  const stage = root.querySelector(".bv-stage");
  const holderEl = root.querySelector("[data-testid=bv-holder]");
  const controlButtons = [...root.querySelectorAll("[data-control]")];
  const prompt = root.querySelector("[data-testid=bv-prompt]");
  const promptText = root.querySelector("[data-testid=bv-prompt-text]");
  const promptTimer = root.querySelector("[data-testid=bv-prompt-timer]");
  // Stop sharing / End session; the socket's "ended" message disables it too.
  const endButton = root.querySelector("[data-end]");

  let socket = null;
  let seq = 0;
  let received = 0; // binary frames on this socket; the n-th frame is number n
  let drawing = Promise.resolve();
  let viewport = { width: 1280, height: 720 };
  let canInput = false;
  let role = root.dataset.role;
  let browser = "starting";
  let loading = false;
  let finished = false;
  let retry = 0;
  let lastMove = 0;
  let holder = "agent";
  let asked = false;
  let prompts = []; // action requests waiting for this customer's answer, oldest first
  let promptTick = null;
  let pendingText = "";
  let textTimer = null;
  let wheel = { dx: 0, dy: 0 };
  let wheelTimer = null;

  root.dataset.frames = "0";

  function send(type, data) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type, seq: seq++, ts: Date.now(), data }));
    }
  }

  function setStatus(text, kind) {
    statusEl.textContent = text;
    statusEl.dataset.kind = kind || "";
  }

  // The customer's viewer: a link to the one-question survey, once the session is over.
  function offerSurvey(url) {
    const survey = root.querySelector("[data-testid=bv-survey]");
    if (!survey || !/^https?:\/\//.test(url)) return;
    survey.querySelector("a").href = url;
    survey.hidden = false;
  }

  function notice(text) {
    noticeEl.textContent = text;
    noticeEl.hidden = !text;
  }

  function describe() {
    if (browser === "reconnecting") return setStatus("Reconnecting the browser…", "warn");
    if (browser === "no_capacity") return setStatus("No browser is free right now. Try again in a minute.", "error");
    if (browser === "starting") return setStatus("Starting the browser…");
    if (browser === "ended") return setStatus("The browser was closed.");
    if (loading) return setStatus("Loading…");
    if (role === "customer") return setStatus(canInput ? "You are browsing" : "Agent is browsing");
    return setStatus(canInput ? "You are browsing" : "Watching");
  }

  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${proto}//${location.host}${root.dataset.wsPath}`);
    socket.binaryType = "arraybuffer";
    received = 0;
    socket.addEventListener("open", () => {
      retry = 0;
      send("hello", grant ? { grant } : {});
    });
    socket.addEventListener("message", (event) => {
      if (typeof event.data === "string") onJson(event.data);
      else onFrame(event.data);
    });
    socket.addEventListener("close", (event) => {
      if (finished) return;
      if (event.code === 4000 || (event.code >= 4400 && event.code < 4500 && event.code !== 4408)) {
        finished = true;
        setStatus(event.code === 4000 ? "The session has ended." : "You cannot view this session.", "error");
        return;
      }
      setStatus("Connection lost; reconnecting…", "warn");
      const delay = Math.min(10000, 500 * 2 ** retry++) * (0.75 + Math.random() / 2);
      setTimeout(connect, delay);
    });
  }

  function onFrame(buffer) {
    const number = ++received;
    const blob = new Blob([buffer], { type: "image/jpeg" });
    // Draw in order; acknowledge only what was painted, so a slow screen gets fewer frames.
    drawing = drawing.then(() =>
      createImageBitmap(blob).then(
        (bitmap) => {
          if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) {
            canvas.width = bitmap.width;
            canvas.height = bitmap.height;
          }
          ctx.drawImage(bitmap, 0, 0);
          bitmap.close();
          root.dataset.frames = String(number);
          send("ack", { frame: number });
        },
        () => send("ack", { frame: number }),
      ),
    );
  }

  function onJson(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    const data = message.data || {};
    switch (message.type) {
      case "welcome":
        role = data.role;
        canInput = !!data.can_input;
        showControl(data);
        root.dataset.canInput = String(canInput);
        for (const button of root.querySelectorAll("[data-nav]")) button.disabled = !canInput;
        urlInput.readOnly = !canInput;
        notice(canInput ? "" : data.input_refusal || "");
        describe();
        break;
      case "status":
        browser = data.browser || browser;
        loading = !!data.loading;
        if (data.url && document.activeElement !== urlInput) urlInput.value = data.url;
        if (data.title !== undefined) {
          titleEl.textContent = data.title;
          document.title = `${data.title || "Shared browser"} · Tandem`;
        }
        if (data.quality) qualityEl.textContent = `Quality: ${data.quality}`;
        if (data.blocked) notice(blockedText(data.blocked));
        if (data.error) notice(data.error);
        describe();
        break;
      case "control":
        canInput = !!data.can_input;
        root.dataset.canInput = String(canInput);
        showControl(data);
        describe();
        break;
      case "action_request":
        prompts.push({ ...data, until: Date.now() + (data.expires_in || 30) * 1000 });
        showPrompt();
        break;
      case "awaiting":
        notice(`Waiting for the customer to allow: ${data.action} on ${data.target || "the page"}`);
        break;
      case "viewport":
        viewport = { width: data.width, height: data.height };
        break;
      case "cursor":
        showCursor(data.x, data.y, data.click);
        break;
      case "error":
        notice(data.message || "Something went wrong.");
        break;
      case "ended":
        finished = true;
        browser = "ended";
        setStatus("The session has ended.", "error");
        if (endButton) endButton.disabled = true;
        if (data.survey && data.survey.url) offerSurvey(data.survey.url);
        break;
      default:
        break;
    }
  }

  function blockedText(blocked) {
    const host = blocked.host || "another site";
    if (blocked.kind === "navigation") {
      return `Blocked: the page tried to go to ${host}, outside this session's sites. It stays where it was.`;
    }
    return `Blocked: ${host} (${blocked.reason})`;
  }

  function toPage(event) {
    const rect = canvas.getBoundingClientRect();
    const x = ((event.clientX - rect.left) / rect.width) * viewport.width;
    const y = ((event.clientY - rect.top) / rect.height) * viewport.height;
    return { x: Math.max(0, Math.round(x)), y: Math.max(0, Math.round(y)) };
  }

  function showCursor(x, y, click) {
    const left = (x / viewport.width) * canvas.clientWidth;
    const top = (y / viewport.height) * canvas.clientHeight;
    cursorEl.hidden = false;
    cursorEl.style.left = `${left}px`;
    cursorEl.style.top = `${top}px`;
    if (click) {
      const ripple = document.createElement("div");
      ripple.className = "bv-ripple";
      ripple.style.left = `${left}px`;
      ripple.style.top = `${top}px`;
      stage.appendChild(ripple);
      setTimeout(() => ripple.remove(), 700);
    }
  }

  function input(data) {
    if (canInput) send("input", data);
  }

  // The server takes at most ten actions a second: typing and scrolling are sent in batches.
  function typeText(text) {
    pendingText += text;
    if (!textTimer) {
      textTimer = setTimeout(() => {
        textTimer = null;
        const chunk = pendingText;
        pendingText = "";
        if (chunk) input({ kind: "text", text: chunk });
      }, 150);
    }
  }

  function scrollBy(dx, dy) {
    wheel = { dx: wheel.dx + dx, dy: wheel.dy + dy };
    if (!wheelTimer) {
      wheelTimer = setTimeout(() => {
        wheelTimer = null;
        input({ kind: "wheel", dx: Math.round(wheel.dx), dy: Math.round(wheel.dy) });
        wheel = { dx: 0, dy: 0 };
      }, 150);
    }
  }

  function showControl(data) {
    if (data.holder) holder = data.holder;
    if (data.asked !== undefined) asked = !!data.asked;
    root.dataset.holder = holder;
    const mine = holder === role;
    holderEl.textContent =
      holder === "customer"
        ? role === "customer"
          ? "You hold the browser"
          : "The customer holds the browser"
        : asked && role === "agent"
          ? "The customer asks to take control"
          : "";
    for (const button of controlButtons) {
      const what = button.dataset.control;
      if (role === "customer") {
        button.hidden = !((what === "ask" && !mine && !asked) || (what === "give" && mine));
        if (what === "give") button.textContent = "Give back";
      } else if (role === "agent") {
        button.hidden = !((what === "give" && mine) || (what === "take" && !mine));
      } else {
        button.hidden = true;
      }
    }
  }

  function showPrompt() {
    prompts = prompts.filter((p) => p.until > Date.now());
    const current = prompts[0];
    prompt.hidden = !current;
    clearInterval(promptTick);
    if (!current) return;
    promptText.textContent = `The agent asks to ${current.action} on ${current.target || "the page"}.`;
    const tick = () => {
      const left = Math.ceil((current.until - Date.now()) / 1000);
      if (left <= 0) {
        prompts.shift();
        showPrompt();
      } else {
        promptTimer.textContent = `${left} s`;
      }
    };
    tick();
    promptTick = setInterval(tick, 500);
  }

  for (const button of controlButtons) {
    button.addEventListener("click", () => send("control", { action: button.dataset.control }));
  }
  for (const button of prompt.querySelectorAll("[data-answer]")) {
    button.addEventListener("click", () => {
      const current = prompts.shift();
      if (current) send("decision", { request_id: current.request_id, approved: button.dataset.answer === "allow" });
      showPrompt();
    });
  }

  canvas.addEventListener("mousedown", () => canvas.focus());
  canvas.addEventListener("click", (event) => {
    const point = toPage(event);
    input({ kind: "click", ...point, button: "left" });
  });
  canvas.addEventListener("dblclick", (event) => input({ kind: "dblclick", ...toPage(event) }));
  canvas.addEventListener("contextmenu", (event) => {
    event.preventDefault();
    input({ kind: "click", ...toPage(event), button: "right" });
  });
  canvas.addEventListener("mousemove", (event) => {
    const now = Date.now();
    if (now - lastMove < 50) return;
    lastMove = now;
    input({ kind: "move", ...toPage(event) });
  });
  canvas.addEventListener(
    "wheel",
    (event) => {
      if (!canInput) return;
      event.preventDefault();
      scrollBy(event.deltaX, event.deltaY);
    },
    { passive: false },
  );
  canvas.addEventListener("keydown", (event) => {
    if (!canInput) return;
    event.preventDefault();
    const mods = ["Control", "Alt", "Meta"].filter((m) => event.getModifierState(m));
    if (event.key.length === 1 && mods.length === 0) {
      typeText(event.key);
    } else if (!["Shift", "Control", "Alt", "Meta"].includes(event.key)) {
      if (pendingText) {
        clearTimeout(textTimer);
        textTimer = null;
        input({ kind: "text", text: pendingText });
        pendingText = "";
      }
      if (event.shiftKey) mods.push("Shift");
      input({ kind: "key", key: [...mods, event.key === " " ? "Space" : event.key].join("+") });
    }
  });
  for (const button of root.querySelectorAll("[data-nav]")) {
    button.disabled = true;
    button.addEventListener("click", () => input({ kind: button.dataset.nav }));
  }
  root.querySelector("[data-testid=bv-url-form]").addEventListener("submit", (event) => {
    event.preventDefault();
    let url = urlInput.value.trim();
    if (!url) return;
    if (!/^[a-z][a-z0-9+.-]*:/i.test(url)) url = `https://${url}`;
    input({ kind: "goto", url });
    urlInput.blur();
  });

  // The tab grant expires unless the page keeps it alive: a reconnect, or a reload of this tab,
  // needs it still valid. Refused (the session ended, the grant was revoked): the socket says why.
  function keepGrantAlive(delayMs) {
    setTimeout(() => {
      if (finished) return;
      refreshGrant("", grant).then(
        (session) => session && keepGrantAlive(session.refreshInMs),
        () => keepGrantAlive(15000),
      );
    }, delayMs);
  }

  // Stop sharing (the customer, with the tab grant) or End session (the agent or a manager, with
  // their login). Afterwards nothing more is drawn or sent, and the page says so.
  function over(text) {
    finished = true;
    browser = "ended";
    canInput = false;
    if (socket) socket.close();
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    stage.hidden = true;
    prompt.hidden = true;
    for (const button of root.querySelectorAll("button")) button.disabled = true;
    for (const button of controlButtons) button.hidden = true;
    holderEl.textContent = "";
    urlInput.readOnly = true;
    notice("");
    setStatus(text, "done");
  }
  async function endSession() {
    const stopping = endButton.dataset.end === "stop";
    if (!stopping && !window.confirm("End this session for everyone?")) return;
    endButton.disabled = true;
    const csrf = root.querySelector("input[name=csrfmiddlewaretoken]");
    try {
      const response = await fetch(
        stopping ? `/api/cobrowse/sessions/${encodeURIComponent(root.dataset.session)}/revoke/` : endButton.dataset.endUrl,
        stopping
          ? { method: "POST", headers: { "X-Tandem-Grant": grant }, credentials: "omit" }
          : { method: "POST", headers: { "X-CSRFToken": csrf ? csrf.value : "" }, credentials: "same-origin" },
      );
      if (!response.ok) throw new Error(String(response.status));
      over(stopping ? "You stopped sharing — nothing more is sent." : "You ended the session.");
    } catch (error) {
      endButton.disabled = false;
      notice(`Could not ${stopping ? "stop sharing" : "end the session"} (${error.message}). Try again.`);
    }
  }
  if (endButton) endButton.addEventListener("click", endSession);

  if (role === "customer" && grant) keepGrantAlive(0);
  connect();
}
