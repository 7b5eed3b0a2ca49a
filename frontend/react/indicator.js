// <TandemIndicator/>: whether the page is shared, said in words (role=status, announced politely),
// with a dot whose colour only repeats the words.
import { createElement as h } from "react";

export const INDICATOR_TEXT = {
  idle: "Help is available",
  asking: "Waiting for your answer before anything is shared",
  sharing: "Sharing this page with support",
  ended: "Sharing has ended — nothing more is sent",
  error: "Help is unavailable right now",
};

const COLOURS = { idle: "#6b7785", asking: "#b7791f", sharing: "#2f855a", ended: "#6b7785", error: "#c53030" };

// The view alone, for any state: labels override the words of some states.
export function IndicatorView({ state, labels, className }) {
  const text = (labels && labels[state]) || INDICATOR_TEXT[state] || INDICATOR_TEXT.idle;
  const dot = {
    display: "inline-block",
    width: "0.6em",
    height: "0.6em",
    marginRight: "0.4em",
    borderRadius: "50%",
    background: COLOURS[state] || COLOURS.idle,
  };
  return h(
    "span",
    { role: "status", "aria-live": "polite", className, "data-tandem-state": state },
    h("span", { "aria-hidden": "true", style: dot }),
    text,
  );
}
