// Tandem.init in the loader (frontend/widget/loader.js), on a stand-in page: a mistake is one
// console error and nothing starts; help waits for the signature check; without Tandem.init the
// loader does what it always did (nothing, without a grant).
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";

let appended;
let errors;
let fetches;
let identifyStatus;
let listeners;
let dispatched;

function fakePage(queued, storedGrant = null) {
  appended = [];
  errors = [];
  fetches = [];
  listeners = {};
  dispatched = [];
  const head = { appendChild: (el) => appended.push(el) };
  globalThis.window = queued ? { Tandem: { q: queued } } : {};
  globalThis.document = {
    currentScript: { src: "https://tandem.example/static/dist/tandem-loader.js" },
    head,
    createElement: () => ({ remove() {} }),
    addEventListener: (type, fn) => (listeners[type] = fn),
    dispatchEvent: (event) => dispatched.push({ type: event.type, detail: event.detail }),
  };
  globalThis.location = { hash: "", pathname: "/", search: "" };
  globalThis.history = { state: null, replaceState() {} };
  globalThis.sessionStorage = { getItem: (key) => (key === "tandem.grant" ? storedGrant : null), setItem() {}, removeItem() {} };
  globalThis.fetch = async (url, init) => {
    fetches.push({ url, body: JSON.parse(init.body) });
    return { ok: identifyStatus === 200, status: identifyStatus };
  };
  console.error = (message) => errors.push(message);
}

let n = 0;
async function loadLoader(queued, storedGrant) {
  fakePage(queued, storedGrant);
  await import(`../widget/loader.js?page=${n++}`);
  return globalThis.window.Tandem;
}
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("Tandem.init", () => {
  beforeEach(() => {
    identifyStatus = 200;
  });

  it("without Tandem.init and without a grant, loads nothing", async () => {
    await loadLoader();
    assert.deepEqual(appended, []);
    assert.equal(globalThis.window.Tandem.options, undefined);
  });

  it("an unknown option or a wrong type is one clear error, and nothing starts", async () => {
    const Tandem = await loadLoader();
    assert.equal(Tandem.init({ site: "acme", help: true, colour: "red" }), false);
    assert.equal(Tandem.init({ site: "acme", help: "yes" }), false);
    await settle();
    assert.deepEqual(errors, [
      'Tandem.init: unknown option "colour"; nothing was started',
      "Tandem.init: help must be true or false; nothing was started",
    ]);
    assert.deepEqual([appended, fetches, Tandem.options], [[], [], undefined]);
  });

  it("help with a user checks the signature first, then loads the triggers chunk", async () => {
    const Tandem = await loadLoader();
    assert.equal(Tandem.init({ site: "acme", help: true, user: { id: 42, signature: "ab" } }), true);
    await settle();
    assert.deepEqual(fetches, [
      { url: "https://tandem.example/api/widget/identify/", body: { site: "acme", user_id: "42", signature: "ab" } },
    ]);
    assert.deepEqual(appended.map((el) => el.src), ["https://tandem.example/static/dist/tandem-triggers.js"]);
    assert.ok(Object.isFrozen(Tandem.options));
  });

  it("Get help loads the help chunk once and hands it the prompt's details", async () => {
    const Tandem = await loadLoader();
    Tandem.init({ site: "acme", help: true, user: { id: 42, signature: "ab" } });
    await settle();
    const detail = { trigger: "stall", field: "pin", completion: 40 };
    listeners["tandem:help-requested"]({ detail });
    const chunk = appended.at(-1);
    assert.equal(chunk.src, "https://tandem.example/static/dist/tandem-help.js");
    const asked = [];
    globalThis.window.TandemHelp = { request: (...args) => asked.push(args) };
    chunk.onload();
    listeners["tandem:help-requested"]({ detail });
    assert.equal(appended.length, 2, "triggers and help, each loaded once");
    assert.equal(asked.length, 2);
    assert.deepEqual(asked[0][1], detail);
    assert.equal(asked[0][0].site, "acme");
  });

  it("help without a user offers the prompts but no help card", async () => {
    const Tandem = await loadLoader();
    Tandem.init({ site: "acme", help: true });
    await settle();
    assert.equal(listeners["tandem:help-requested"], undefined);
  });

  it("a bad signature is a console error and help stays off", async () => {
    identifyStatus = 403;
    const Tandem = await loadLoader();
    Tandem.init({ site: "acme", help: true, user: { id: "u", signature: "ab" } });
    await settle();
    assert.deepEqual(errors, ["Tandem.init: bad signature; help stays off"]);
    assert.deepEqual(appended, []);
    // ... and the page hears it too (frontend/widget/events.js), e.g. the React wrapper's state.
    assert.deepEqual(dispatched, [{ type: "tandem:state", detail: { state: "error", error: "bad signature; help stays off" } }]);
  });

  it("an identify call that fails says so, as an error state with its status", async () => {
    identifyStatus = 500;
    const Tandem = await loadLoader();
    Tandem.init({ site: "acme", help: true, user: { id: "u", signature: "ab" } });
    await settle();
    assert.deepEqual(errors, ["Tandem.init: identify failed (500); help stays off"]);
    assert.equal(dispatched[0].detail.error, "identify failed (500); help stays off");
  });

  it("a tab already sharing (a grant) gets no help triggers: only its consent card", async () => {
    await loadLoader([{ site: "acme", help: true, user: { id: "u", signature: "ab" } }], "g1");
    await settle();
    assert.deepEqual(fetches, []);
    assert.deepEqual(appended.map((el) => el.src), ["https://tandem.example/static/dist/tandem-consent.js"]);
  });

  it("calls queued before the loader arrived are replayed; a second init is refused", async () => {
    const Tandem = await loadLoader([{ site: "acme", stallThresholdMs: 1500 }]);
    assert.equal(Tandem.options.stallThresholdMs, 1500);
    assert.equal(Tandem.init({ site: "other" }), false);
    assert.deepEqual(errors, ["Tandem.init: called twice; nothing was started"]);
    assert.equal(Tandem.options.site, "acme");
    assert.deepEqual(appended, []); // no help asked: no chunk
  });
});
