// tandem-seat.js: loaded by the recorder when the server admits this tab dormant, because another
// tab of the browser shares the same session (one tab shares at a time, docs/relay.md). It asks
// "Share this tab instead?" with the consent card's dialog (closed shadow root, focus kept, Escape
// answers no) and resolves to the answer; the recorder sends take_seat on yes, and cancels the
// question when it no longer applies.
import { createCard } from "../consent/card.js";
import { seatQuestion } from "./question.js";

let cancel = () => {};

// Resolves to true (share this tab), false (not now) or null (cancelled: the question no longer
// applies, the session ended or this tab was given the seat anyway).
function ask(agentName) {
  return new Promise((resolve) => {
    let card = null;
    const answer = (value) => {
      cancel = () => {};
      card.remove();
      resolve(value);
    };
    card = createCard({ kind: "seat", request: seatQuestion(agentName), onAnswer: answer });
    cancel = () => answer(null);
  });
}

window.TandemSeat = { ask, cancel: () => cancel() };
