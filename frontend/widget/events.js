// The widget's public DOM events, for a site (or the React wrapper, frontend/react/) that follows a
// session without reaching into the widget's closed shadow roots. Each is a CustomEvent on document:
//   tandem:state            detail {state, reason?, error?}, state one of "asking" (the consent card
//                           is showing), "sharing", "ended", "error"
//   tandem:help-requested   detail {trigger, field, completion} (the help triggers' Get help)
// and one the widget listens for:
//   tandem:stop             ends a sharing session, as the badge's Stop sharing does
export function emitState(state, extra) {
  document.dispatchEvent(new CustomEvent("tandem:state", { bubbles: true, detail: { state, ...extra } }));
}
