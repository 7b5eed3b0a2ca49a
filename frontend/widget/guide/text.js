// What the customer reads in the guidance prompts and toasts. Pure: no DOM, so it is unit-tested.

export const MODE_LABELS = {
  view_only: "View only",
  guided: "Guidance",
  controlled: "Control",
  full: "Full control",
};

// How a mode reads inside a sentence ("asks for control").
const MODE_PHRASES = { view_only: "view only", guided: "guidance", controlled: "control", full: "full control" };

const MAX_SHOWN = 60;

function clip(text, limit = MAX_SHOWN) {
  const flat = String(text == null ? "" : text).replace(/\s+/g, " ").trim();
  return flat.length > limit ? `${flat.slice(0, limit - 1)}…` : flat;
}

function agent(name) {
  return `Agent ${clip(name, 40) || "(your support agent)"}`;
}

export function modeRequestText(agentName, mode) {
  return `${agent(agentName)} asks for ${MODE_PHRASES[mode] || clip(mode)}`;
}

// The words people recognise a control by: its label, then aria-label, name, text, placeholder.
export function describeTarget({ label, ariaLabel, name, text, placeholder } = {}) {
  return clip(label || ariaLabel || name || text || placeholder || "") || "this element";
}

export function actionRequestText(agentName, kind, target, value) {
  const who = agent(agentName);
  const shown = clip(value);
  switch (kind) {
    case "click":
      return `${who} wants to click '${target}'`;
    case "type":
      return `${who} wants to type into '${target}': ${shown}`;
    case "select":
      return `${who} wants to choose '${shown}' in '${target}'`;
    case "autofill":
      return `${who} wants to fill in '${target}' with: ${shown}`;
    default:
      return `${who} wants to change '${target}'`;
  }
}

// Full control: the action already happened; the customer is told what it was.
export function actionDoneText(agentName, kind, target) {
  const who = agent(agentName);
  switch (kind) {
    case "click":
      return `${who} clicked '${target}'`;
    case "type":
      return `${who} typed into '${target}'`;
    case "select":
      return `${who} chose an option in '${target}'`;
    case "autofill":
      return `${who} filled in '${target}'`;
    default:
      return `${who} changed '${target}'`;
  }
}

export function controlText(holder) {
  return holder ? `${clip(holder, 40)} has control` : "";
}
