// Tandem.init's options: checked whole before anything starts, so a mistake is one clear message
// and never a half-started widget. Part of the loader (2 KB budget): kept terse on purpose.
const fn = (v) => typeof v === "function";
const str = (v) => typeof v === "string" && v.trim() !== "";
const strs = (v) => Array.isArray(v) && v.every(str);
const pos = (v) => typeof v === "number" && v > 0 && isFinite(v);
const obj = (v) => !!v && typeof v === "object" && !Array.isArray(v);
export const ACTIONS = ["click", "type", "select", "autofill"];
// The triggers' own settings: each a positive number (rules.js DEFAULTS has their defaults).
const TRIGGERS = {
  stall: ["ms"],
  validation: ["ms"],
  rage: ["clicks", "windowMs"],
  scroll: ["changes", "windowMs"],
  idle: ["ms"],
  exit: ["min", "max"],
};
const extra = (o, keys) => Object.keys(o).find((k) => !keys.includes(k));
const triggers = (t) =>
  obj(t) &&
  Object.keys(t).every((k) => TRIGGERS[k] && (t[k] === false || (obj(t[k]) && !extra(t[k], TRIGGERS[k]) && Object.values(t[k]).every(pos))));
const CHECKS = {
  site: [str, "a site id (string)"],
  user: [(u) => obj(u) && !extra(u, ["id", "signature"]) && (str(u.id) || Number.isFinite(u.id)) && str(u.signature), "{id, signature}: the user's id and its HMAC signature"],
  maskedFields: [strs, "an array of CSS selectors"],
  allowedActions: [(a) => Array.isArray(a) && a.every((x) => ACTIONS.includes(x)), `an array of ${ACTIONS.join(", ")}`],
  stallThresholdMs: [pos, "a positive number of milliseconds"],
  triggers: [triggers, "{stall, validation, rage, scroll, idle, exit}, each false or its settings (positive numbers)"],
  help: [(v) => typeof v === "boolean", "true or false"],
  consentPrompt: [str, "a string (the consent card's heading)"],
  maxPrompts: [pos, "a positive number"],
  onConsent: [fn, "a function"],
  onEnd: [fn, "a function"],
  onHelpRequested: [fn, "a function"],
};

// "" when the options are fine, else what is wrong (the first problem).
export function checkOptions(o) {
  if (!obj(o)) return "options must be an object";
  const unknown = extra(o, Object.keys(CHECKS));
  if (unknown) return `unknown option "${unknown}"`;
  for (const k in o) if (!CHECKS[k][0](o[k])) return `${k} must be ${CHECKS[k][1]}`;
  if ((o.help || o.user) && !o.site) return "site is required with help or user";
  return "";
}
