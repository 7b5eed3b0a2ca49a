// tandem-guide.js: guidance and control on the customer's page, loaded by the recorder only when
// the session needs it (a request arrives, or the mode is above view only), so sessions that stay
// view-only never pay for it. The server checks every message against the policy; this side
// checks again against the real element before anything happens (defence in depth).
import { elementFacts, perform, targetWords } from "./facts.js";
import { createOverlay } from "./overlay.js";
import { createPrompts } from "./prompts.js";
import { refusalReason, siteRefusal } from "./rules.js";
import {
  actionDoneText,
  actionRequestText,
  describeTarget,
  modeRequestText,
} from "./text.js";

const RANK = { view_only: 0, guided: 1, controlled: 2, full: 3 };

// ctx: {mirror (rrweb's record.mirror), pageId, agentName, maskSelector, mode, send(type, data)}
function create(ctx) {
  const overlay = createOverlay(document);
  const prompts = createPrompts(document);
  let mode = ctx.mode || "view_only";
  let agentName = ctx.agentName || "";

  // An rrweb node id means something only on the page load that recorded it.
  function resolve(data) {
    if (data.page_id !== ctx.pageId || !Number.isInteger(data.node_id)) return null;
    const node = ctx.mirror.getNode(data.node_id);
    return node && node.nodeType === 1 && node.isConnected ? node : null;
  }

  function annotate(data) {
    if (RANK[mode] < RANK.guided) return;
    if (data.kind === "clear") {
      overlay.clear();
      return;
    }
    if (data.page_id !== ctx.pageId) return;
    const target = resolve(data);
    if (data.kind === "pointer") {
      overlay.movePointer(data.x, data.y, data.agent_name || agentName);
    } else if (data.kind === "scroll_to") {
      if (!target) return;
      target.scrollIntoView({ behavior: "smooth", block: "center", inline: "nearest" });
      overlay.add("highlight", target, { transient: true });
    } else if (data.kind === "text") {
      if (target) overlay.add("text", target, { text: data.text });
      else if (Number.isFinite(data.x)) overlay.add("text", null, { text: data.text, pageX: data.x, pageY: data.y });
    } else if (target) {
      overlay.add(data.kind, target);
    }
  }

  // Checks, performs and reports one action; returns the action_result data.
  function attempt(data, requestId) {
    const target = resolve(data);
    const reason =
      siteRefusal(data.kind, ctx.allowedActions) ||
      refusalReason(data.kind, elementFacts(target, ctx.maskSelector), data.value || "");
    const result = reason ? { ok: false, detail: reason } : perform(target, data.kind, data.value || "");
    ctx.send("action_result", { request_id: requestId, ok: result.ok, detail: result.detail.slice(0, 200) });
    return { ...result, target };
  }

  function label(data) {
    return describeTarget(targetWords(resolve(data)));
  }

  async function actionRequest(data) {
    const requestId = String(data.request_id || "");
    const name = data.agent_name || agentName;
    // Refused before asking: the customer is never asked to allow something that cannot happen.
    const early =
      RANK[mode] < RANK.controlled
        ? "actions need control mode"
        : siteRefusal(data.kind, ctx.allowedActions) ||
          refusalReason(data.kind, elementFacts(resolve(data), ctx.maskSelector), data.value || "");
    if (early) {
      ctx.send("decision", { request_id: requestId, approved: false });
      ctx.send("action_result", { request_id: requestId, ok: false, detail: early });
      return;
    }
    const target = resolve(data);
    overlay.add("highlight", target);
    const answer = await prompts.ask(actionRequestText(name, data.kind, label(data), data.value));
    overlay.clear();
    // The mode may have dropped while the prompt was open: then the request is void.
    const allowed = answer === "allow" && RANK[mode] >= RANK.controlled;
    ctx.send("decision", { request_id: requestId, approved: allowed });
    if (allowed) attempt(data, requestId);
  }

  function fullAction(data) {
    const requestId = String(data.request_id || `full:${data.kind}:${data.node_id}`);
    if (RANK[mode] < RANK.full) {
      ctx.send("action_result", { request_id: requestId, ok: false, detail: "actions without approval need full control" });
      return;
    }
    const text = actionDoneText(data.agent_name || agentName, data.kind, label(data));
    const result = attempt(data, requestId);
    prompts.toast(result.ok ? text : `Blocked: ${result.detail}`);
    if (result.ok) overlay.add("highlight", result.target, { transient: true });
  }

  async function modeRequest(data) {
    const answer = await prompts.ask(modeRequestText(agentName, data.mode));
    ctx.send("decision", { request_id: String(data.request_id || ""), approved: answer === "allow" });
  }

  function setMode(data) {
    mode = data.mode in RANK ? data.mode : "view_only";
    if (RANK[mode] < RANK.guided) overlay.clear();
  }

  const handlers = {
    annotate,
    action_request: actionRequest,
    action: fullAction,
    mode_request: modeRequest,
    mode: setMode,
    welcome: (data) => {
      agentName = data.agent_name || agentName;
      setMode(data);
    },
  };

  return {
    handle(type, data) {
      const handler = handlers[type];
      if (handler) handler(data || {});
    },
    destroy() {
      overlay.destroy();
      prompts.destroy();
    },
  };
}

window.TandemGuide = { create };
