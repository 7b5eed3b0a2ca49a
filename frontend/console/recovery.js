// What the console offers while the customer's page is gone: "Send a fresh link" once the page has
// been disconnected long enough (the server says how long is left), and after a second drop the
// alternatives (a server-side browser, a call-back). No DOM here: page.js renders the plan.

// The plan for one answer of GET …/connection/ ({state, fresh_link_in, alternatives, ...}).
export function recoveryPlan(connection) {
  const c = connection || {};
  const wait = Number.isFinite(c.fresh_link_in) ? Math.max(0, c.fresh_link_in) : null;
  let freshLink = "hidden";
  if (c.state === "reconnecting" && wait !== null) freshLink = wait > 0 ? "wait" : "ready";
  return {
    freshLink,
    wait: wait || 0,
    // Ask again when the wait is over (a second late, so the server agrees).
    recheckMs: freshLink === "wait" ? (wait + 1) * 1000 : null,
    alternatives: Boolean(c.alternatives),
    callbackRequested: Boolean(c.callback_requested),
    browserPossible: Boolean(c.browser_possible),
  };
}

export function freshLinkText(plan) {
  if (plan.freshLink === "ready") {
    return "The customer's page has lost its connection. A fresh link lets them continue on any device.";
  }
  if (plan.freshLink === "wait") {
    return `The customer's page has lost its connection; it may still come back. A fresh link can be sent in ${plan.wait} s.`;
  }
  return "";
}

// A refused call (status, JSON body) in the console's words.
export function refusalText(status, body) {
  const detail = body && typeof body.detail === "string" ? body.detail : "";
  if (status === 429) return detail || "Too many attempts: try again later.";
  return detail || `The request failed (${status}).`;
}
