// The words of "Share this tab instead?" (DOM-free, so the Node tests read them).
export function seatQuestion(agentName) {
  const who = String(agentName || "your support agent").slice(0, 60);
  return {
    title: "Share this tab instead?",
    prompt: `Another tab is sharing with ${who}. Share this tab instead? The other tab stops sharing.`,
    allow: "Share this tab",
    deny: "Not now",
  };
}
