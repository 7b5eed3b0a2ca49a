// The state of help on the page, as the React wrapper tells it: a pure reducer over what the widget
// reports (its callbacks and its DOM events, frontend/widget/events.js), so it is tested in Node.
//   idle     nothing going on (help can be asked for)
//   asking   help was asked for or a co-browse request arrived: the consent card is (being) shown
//   sharing  the customer allowed: the page is shared with support
//   ended    sharing ended (stopped, denied, expired): help can be asked for again
//   error    the widget could not start (bad options, a refused signature, no loader)
export const STATES = ["idle", "asking", "sharing", "ended", "error"];

export const initialSession = Object.freeze({ state: "idle", error: null });

const to = (state, error = null) => ({ state, error });

// Events: {type: "help-requested"} | {type: "consent"} | {type: "end"} | {type: "error", error}
// | {type: "state", state, error?} (a tandem:state event's detail). Unknown ones change nothing,
// and an unchanged session is the same object (React then skips the render).
export function sessionReducer(session, event) {
  switch (event && event.type) {
    case "help-requested":
      // Asking again while asking or sharing changes nothing; with help off (error) nothing asks.
      return session.state === "idle" || session.state === "ended" ? to("asking") : session;
    case "consent":
      return session.state === "sharing" ? session : to("sharing");
    case "end":
      return session.state === "ended" ? session : to("ended");
    case "error":
      return to("error", String(event.error || "Tandem could not start"));
    case "state":
      if (!STATES.includes(event.state)) return session;
      if (event.state === "error") return to("error", String(event.error || "Tandem could not start"));
      return session.state === event.state ? session : to(event.state);
    default:
      return session;
  }
}

// Whether start() may ask for help now: not while asking or sharing, nor with help off.
export const canStart = (session) => session.state === "idle" || session.state === "ended";
