// The React wrapper (frontend/react/): its state reducer, its option handling, how it starts the
// widget on a page (a stand-in window; the real loader takes over its queued call), what start()
// and stop() dispatch, and the indicator's markup (react-dom/server). No DOM library: the browser
// side is tests/demo_site/test_e2e_react.py.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createElement as h } from "react";
import { renderToString } from "react-dom/server";
import { requestHelp, stopSharing } from "../react/actions.js";
import { INDICATOR_TEXT, IndicatorView, TandemIndicator, TandemProvider, useTandemSession } from "../react/index.js";
import { installTandem } from "../react/install.js";
import { prepareOptions, withCallbacks } from "../react/options.js";
import { canStart, initialSession, sessionReducer } from "../react/session_state.js";

const run = (events, from = initialSession) => events.reduce(sessionReducer, from);
const states = (events) => {
  const seen = [];
  let session = initialSession;
  for (const event of events) {
    session = sessionReducer(session, event);
    seen.push(session.state);
  }
  return seen;
};

describe("the session reducer", () => {
  it("follows a help request through consent and the end of sharing", () => {
    assert.deepEqual(
      states([{ type: "help-requested" }, { type: "state", state: "asking" }, { type: "consent" }, { type: "end" }]),
      ["asking", "asking", "sharing", "ended"],
    );
  });

  it("follows the widget's tandem:state events alone (a co-browse link, no help request)", () => {
    assert.deepEqual(
      states([{ type: "state", state: "asking" }, { type: "state", state: "sharing" }, { type: "state", state: "ended", reason: "customer" }]),
      ["asking", "sharing", "ended"],
    );
    assert.equal(run([{ type: "state", state: "asking" }, { type: "state", state: "ended", reason: "denied" }]).state, "ended");
  });

  it("asks again after an end, but not while asking, sharing or with help off", () => {
    assert.equal(run([{ type: "end" }, { type: "help-requested" }]).state, "asking");
    const sharing = run([{ type: "consent" }]);
    assert.equal(sessionReducer(sharing, { type: "help-requested" }), sharing);
    const broken = run([{ type: "error", error: "bad signature; help stays off" }]);
    assert.equal(sessionReducer(broken, { type: "help-requested" }), broken);
    assert.deepEqual([initialSession, sharing, broken].map(canStart), [true, false, false]);
  });

  it("keeps the error's words, with a default when the widget gave none", () => {
    assert.deepEqual(run([{ type: "state", state: "error", error: "bad signature; help stays off" }]), {
      state: "error",
      error: "bad signature; help stays off",
    });
    assert.equal(run([{ type: "error" }]).error, "Tandem could not start");
    assert.equal(run([{ type: "error", error: "x" }, { type: "state", state: "asking" }]).error, null);
  });

  it("ignores unknown events and states, and returns the same object when nothing changes", () => {
    const sharing = run([{ type: "consent" }]);
    assert.equal(sessionReducer(sharing, { type: "state", state: "exploded" }), sharing);
    assert.equal(sessionReducer(sharing, { type: "reboot" }), sharing);
    assert.equal(sessionReducer(sharing, undefined), sharing);
    assert.equal(sessionReducer(sharing, { type: "state", state: "sharing" }), sharing);
    assert.equal(sessionReducer(sharing, { type: "consent" }), sharing);
  });
});

describe("the provider's options", () => {
  it("takes the loader's URL out of the options (a prop wins) and checks the rest as Tandem.init does", () => {
    const src = "https://tandem.example/static/dist/tandem-loader.js";
    assert.deepEqual(prepareOptions({ site: "acme", help: true, loaderSrc: src }), { init: { site: "acme", help: true }, src, error: "" });
    assert.equal(prepareOptions({ site: "acme", loaderSrc: src }, "/static/dist/tandem-loader.js").src, "/static/dist/tandem-loader.js");
    assert.deepEqual(prepareOptions({}), { init: {}, src: "", error: "" });
  });

  it("refuses what the loader would refuse, in the loader's words, and a loaderSrc that is no URL", () => {
    assert.equal(prepareOptions({ site: "acme", colour: "red" }).error, 'Tandem.init: unknown option "colour"; nothing was started');
    assert.equal(prepareOptions({ help: true }).error, "Tandem.init: site is required with help or user; nothing was started");
    assert.equal(prepareOptions(null).error, "Tandem.init: options must be an object; nothing was started");
    assert.equal(prepareOptions([]).init, null);
    for (const bad of ["javascript:alert(1)", "tandem-loader.js", 42]) {
      assert.match(prepareOptions({ site: "acme", loaderSrc: bad }).error, /loaderSrc must be/);
    }
  });

  it("wraps each callback: the wrapper hears it first, then the site's own gets its arguments", () => {
    const calls = [];
    const init = withCallbacks({ site: "acme", onHelpRequested: (d) => calls.push(["site", d]) }, (e) => calls.push(["wrapper", e.type]));
    init.onHelpRequested({ trigger: "stall" });
    init.onConsent();
    init.onEnd();
    assert.deepEqual(calls, [["wrapper", "help-requested"], ["site", { trigger: "stall" }], ["wrapper", "consent"], ["wrapper", "end"]]);
    assert.equal(init.site, "acme");
  });
});

// A stand-in window: scripts appended to head are kept, and querySelectorAll finds them.
function fakeWindow({ Tandem, scripts = [] } = {}) {
  const appended = [];
  const document = {
    head: { appendChild: (el) => appended.push(el) },
    createElement: (tag) => ({ tagName: tag, remove() {} }),
    querySelectorAll: () => [...scripts, ...appended],
  };
  return { win: { document, Tandem }, appended };
}

describe("starting the widget", () => {
  const src = "https://tandem.example/static/dist/tandem-loader.js";

  it("without a loader: queues the call in the snippet's stub and adds the loader script once", () => {
    const { win, appended } = fakeWindow();
    assert.equal(installTandem(win, { site: "acme" }, src), "queued");
    assert.deepEqual(win.Tandem.q, [{ site: "acme" }]);
    assert.equal(appended.length, 1);
    assert.equal(appended[0].src, src);
    assert.equal(appended[0].async, true);
    // A second provider (or React's strict mode running effects twice): no second call, no script.
    assert.equal(installTandem(win, { site: "other" }, src), "already");
    assert.equal(win.Tandem.q.length, 1);
    assert.equal(appended.length, 1);
  });

  it("reports a loader that fails to load or refuses the queued options", () => {
    const errors = [];
    const { win, appended } = fakeWindow();
    installTandem(win, { site: "acme" }, src, (e) => errors.push(e));
    appended[0].onerror();
    appended[0].onload(); // the stub is still there: the loader never took the options
    assert.deepEqual(errors, [`the widget loader could not be loaded (${src})`, "Tandem.init refused the options (see the console)"]);
  });

  it("with the page's own loader script (not run yet): queues, adds none", () => {
    const { win, appended } = fakeWindow({ scripts: [{ src: `${src}?v=3` }] });
    assert.equal(installTandem(win, { site: "acme" }, ""), "queued");
    assert.deepEqual(appended, []);
    assert.deepEqual(win.Tandem.q, [{ site: "acme" }]);
  });

  it("with the loader already running: calls Tandem.init and says whether it accepted", () => {
    const calls = [];
    const loaded = (ok) => ({
      init: (o) => {
        calls.push(o);
        return ok;
      },
    });
    assert.equal(installTandem(fakeWindow({ Tandem: loaded(true) }).win, { site: "acme" }, src), "started");
    assert.match(installTandem(fakeWindow({ Tandem: loaded(false) }).win, { site: "acme" }, src), /refused/);
    assert.equal(installTandem(fakeWindow({ Tandem: { init() {}, options: {} } }).win, { site: "b" }, src), "already");
    assert.equal(calls.length, 2);
  });

  it("without a loader and without its URL: says so and adds nothing", () => {
    const { win, appended } = fakeWindow();
    assert.match(installTandem(win, { site: "acme" }, ""), /no loader/);
    assert.deepEqual(appended, []);
  });

  it("the real loader takes over the queued call, with the wrapper's callbacks", async () => {
    const { win } = fakeWindow();
    const heard = [];
    installTandem(win, withCallbacks({ site: "acme" }, (e) => heard.push(e.type)), src);
    globalThis.window = win;
    globalThis.document = { currentScript: { src }, head: win.document.head, createElement: () => ({}) };
    globalThis.location = { hash: "", pathname: "/", search: "" };
    globalThis.sessionStorage = { getItem: () => null };
    await import("../widget/loader.js?react-wrapper");
    assert.equal(win.Tandem.options.site, "acme");
    assert.ok(Object.isFrozen(win.Tandem.options));
    win.Tandem.options.onConsent();
    assert.deepEqual(heard, ["consent"]);
  });
});

// A stand-in document for start() and stop(): events dispatched are kept.
function fakeDocument(fields, active) {
  const events = [];
  return {
    events,
    activeElement: active,
    dispatchEvent: (e) => events.push(e),
    querySelectorAll: () => fields,
  };
}
const field = (id, value, extra = {}) => ({ id, value, type: "text", matches: () => true, ...extra });

describe("start() and stop()", () => {
  it("start() does what the prompt's Get help does: the event, then the site's onHelpRequested", () => {
    const pin = field("pin-code", "");
    const doc = fakeDocument([field("city", "Bengaluru"), pin], pin);
    const asked = [];
    const detail = requestHelp({ document: doc, Tandem: { options: { onHelpRequested: (d) => asked.push(d) } } });
    assert.deepEqual(detail, { trigger: "button", field: "pin-code", completion: 50 });
    assert.equal(doc.events.length, 1);
    assert.equal(doc.events[0].type, "tandem:help-requested");
    assert.equal(doc.events[0].bubbles, true);
    assert.deepEqual(doc.events[0].detail, detail);
    assert.deepEqual(asked, [detail]);
  });

  it("start() from a button (not a field), before Tandem.init: the event only", () => {
    const doc = fakeDocument([], { id: "get-help", type: "button", matches: () => true });
    assert.deepEqual(requestHelp({ document: doc }), { trigger: "button", field: "", completion: 0 });
    assert.equal(doc.events.length, 1);
  });

  it("stop() dispatches tandem:stop, which the recorder hears as its Stop sharing", () => {
    const doc = fakeDocument([], null);
    stopSharing({ document: doc });
    assert.deepEqual(doc.events.map((e) => e.type), ["tandem:stop"]);
  });
});

describe("<TandemIndicator/>", () => {
  it("says each state in words, in a polite status region; the dot is hidden from assistive technology", () => {
    for (const state of Object.keys(INDICATOR_TEXT)) {
      const html = renderToString(h(IndicatorView, { state }));
      assert.match(html, /^<span role="status" aria-live="polite" data-tandem-state="\w+">/);
      assert.ok(html.includes(`data-tandem-state="${state}"`));
      assert.ok(html.includes(INDICATOR_TEXT[state]), state);
      assert.match(html, /<span aria-hidden="true" style="[^"]*border-radius:50%/);
    }
    assert.equal(new Set(Object.values(INDICATOR_TEXT)).size, 5, "no two states read the same");
  });

  it("takes the site's own words for a state", () => {
    const html = renderToString(h(IndicatorView, { state: "sharing", labels: { sharing: "Priya can see this page" } }));
    assert.ok(html.includes("Priya can see this page") && !html.includes(INDICATOR_TEXT.sharing));
  });

  it("inside the provider starts idle; outside it is a clear error", () => {
    const html = renderToString(h(TandemProvider, { options: { site: "acme" } }, h(TandemIndicator)));
    assert.ok(html.includes(INDICATOR_TEXT.idle) && html.includes('data-tandem-state="idle"'));
    const Lonely = () => {
      useTandemSession();
      return null;
    };
    const quiet = console.error;
    console.error = () => {};
    try {
      assert.throws(() => renderToString(h(Lonely)), /inside <TandemProvider>/);
    } finally {
      console.error = quiet;
    }
  });
});
