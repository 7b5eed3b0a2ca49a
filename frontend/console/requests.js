// What the console's activity feed says at each step of a mode request. The server sends
// `mode_request {request_id, mode, step}` after each step is committed (cobrowse/approvals.py), so
// the feed never claims the customer was asked while the request still waits for a manager.
const STEPS = {
  asked_manager: () => "Asked a manager to approve Full control",
  asked_customer: (label) => `Asked the customer for ${label}`,
  manager_approved: () => "A manager approved; asking the customer",
  manager_declined: () => "A manager declined Full control",
  customer_allowed: (label) => `The customer allowed ${label}`,
  customer_declined: (label) => `The customer declined ${label}`,
  cancelled: (label) => `The request for ${label} was cancelled`,
};

// The feed line for one step, or null for a step this console does not know (newer server).
export function requestStepText(data, labels = {}) {
  const text = data && Object.prototype.hasOwnProperty.call(STEPS, data.step) ? STEPS[data.step] : null;
  if (!text) return null;
  return text(labels[data.mode] || String(data.mode || "another mode").replace(/_/g, " "));
}
