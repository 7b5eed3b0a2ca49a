// tandem-react.js: the widget for React apps (docs/widget-sdk.md, "React"). Built from the widget's
// own modules (its option check, its events) with React left to the host app (an external import).
//
//   <TandemProvider options={{site, help: true, ...}} loaderSrc=".../static/dist/tandem-loader.js">
//   const {state, error, start, stop} = useTandemSession();
//   <TandemIndicator/>
import { createContext, createElement as h, useContext, useEffect, useMemo, useReducer } from "react";
import { requestHelp, stopSharing } from "./actions.js";
import { IndicatorView } from "./indicator.js";
import { installTandem } from "./install.js";
import { prepareOptions, withCallbacks } from "./options.js";
import { canStart, initialSession, sessionReducer } from "./session_state.js";

export { INDICATOR_TEXT, IndicatorView } from "./indicator.js";
export { prepareOptions } from "./options.js";
export { STATES, initialSession, sessionReducer } from "./session_state.js";

const TandemContext = createContext(null);

// Tandem.init runs once a page, so its callbacks outlive any one provider: they tell whichever
// providers are mounted now.
const listeners = new Set();
const notify = (event) => listeners.forEach((dispatch) => dispatch(event));

export function TandemProvider({ options, loaderSrc, children }) {
  const [session, dispatch] = useReducer(sessionReducer, initialSession);

  useEffect(() => {
    const onState = (e) => dispatch({ ...e.detail, type: "state" });
    const onHelp = () => dispatch({ type: "help-requested" });
    listeners.add(dispatch);
    document.addEventListener("tandem:state", onState);
    document.addEventListener("tandem:help-requested", onHelp);
    return () => {
      listeners.delete(dispatch);
      document.removeEventListener("tandem:state", onState);
      document.removeEventListener("tandem:help-requested", onHelp);
    };
  }, []);

  // Once: options given later are not applied (Tandem.init takes one call a page).
  useEffect(() => {
    const { init, src, error } = prepareOptions(options, loaderSrc);
    const fail = (message) => dispatch({ type: "error", error: message });
    if (error) {
      console.error(error);
      fail(error);
      return;
    }
    const result = installTandem(window, withCallbacks(init, notify), src, fail);
    if (!["started", "queued", "already"].includes(result)) fail(`Tandem: ${result}`);
  }, []);

  const value = useMemo(
    () => ({
      ...session,
      start: () => {
        if (!canStart(session)) return false;
        requestHelp();
        return true;
      },
      stop: () => {
        if (session.state !== "sharing") return false;
        stopSharing();
        return true;
      },
    }),
    [session],
  );
  return h(TandemContext.Provider, { value }, children);
}

// {state, error, start, stop}: start() asks for help (false when it cannot now), stop() ends sharing.
export function useTandemSession() {
  const value = useContext(TandemContext);
  if (!value) throw new Error("useTandemSession must be used inside <TandemProvider>");
  return value;
}

export function TandemIndicator({ labels, className }) {
  const { state } = useTandemSession();
  return h(IndicatorView, { state, labels, className });
}
