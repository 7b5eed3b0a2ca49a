// What each prompt says: short, calm, never blocking (the page's own words stay in charge).
const TEXTS = {
  stall: () => "Need help with this field?",
  validation: (h) => `Still stuck on “${(h.error || "this field").slice(0, 80)}”? We can help you correct it.`,
  rage: () => "That doesn't seem to be working. Want someone to help?",
  scroll: () => "Looking for something? We can help you find your way.",
  idle: () => "Still there? Help is here if you need it.",
  exit: (h) => `You're ${h.completion} % through — want help finishing?`,
};

export const promptText = (hit) => (TEXTS[hit.trigger] || (() => "Need a hand?"))(hit);
