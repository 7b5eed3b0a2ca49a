// tandem-seat.js: loaded by the recorder when the server admits this tab dormant, because another
// tab of the browser shares the same session (one tab shares at a time, docs/relay.md). It asks
// "Share this tab instead?" with the consent card's dialog (closed shadow root, focus kept, Escape
// answers no) and resolves to the answer; the recorder sends take_seat on yes.
import { createCard } from "../consent/card.js";

export function seatQuestion(agentName) {
  const who = String(agentName || "your support agent").slice(0, 60);
  return {
    title: "Share this tab instead?",
    prompt: `Another tab is sharing with ${who}. Share this tab instead? The other tab stops sharing.`,
    allow: "Share this tab",
    deny: "Not now",
  };
}

function ask(agentName) {
  return new Promise((resolve) => {
    const card = createCard({
      kind: "seat",
      request: seatQuestion(agentName),
      onAnswer: (yes) => {
        card.remove();
        resolve(yes);
      },
    });
  });
}

window.TandemSeat = { ask };
