import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ask, cancel } from "../widget/help/api.js";
import { MESSAGES, createFlow } from "../widget/help/flow.js";

const STATUS_URL = "https://desk.test/api/widget/help/tok/";

// A fake server answering each call from a script, and a clock run by hand.
function harness(script) {
  const calls = [];
  const timers = [];
  const states = [];
  const reply = (kind) => {
    const next = script[kind].shift();
    if (next instanceof Error) return Promise.reject(next);
    return Promise.resolve(next);
  };
  const flow = createFlow({
    api: {
      ask: (body) => {
        calls.push(body);
        return reply("ask");
      },
      status: () => reply("status"),
      cancel: () => reply("cancel"),
    },
    request: { site: "acme-home-loans", user: { id: "c1", signature: "ab" }, page: { url: "https://acme.test/a" } },
    onChange: (change) => states.push(change),
    setTimer: (fn, ms) => timers.push({ fn, ms }),
    clearTimer: (id) => (timers[id - 1] = null),
  });
  const tick = async () => {
    const timer = timers.shift();
    assert.ok(timer, "a poll was scheduled");
    await timer.fn();
  };
  return { flow, calls, timers, states, tick };
}

const created = { status: 201, body: { id: "tok", status_url: STATUS_URL, poll_ms: 4000 } };

describe("the help flow", () => {
  it("sends the choices with the page, waits, polls and joins with the grant", async () => {
    const h = harness({
      ask: [created],
      status: [{ status: 200, body: { state: "waiting" } }, { status: 200, body: { state: "taken", grant: "G", agent: "Alice" } }],
    });
    await h.flow.allow({ mode: "guided", recording: false });
    assert.deepEqual(h.calls[0].consent, { mode: "guided", recording: false });
    assert.equal(h.calls[0].page.url, "https://acme.test/a");
    assert.deepEqual(
      h.states.map((s) => s.state),
      ["sending", "waiting"],
    );
    assert.equal(h.states[1].message, MESSAGES.waiting);
    assert.equal(h.timers[0].ms, 4000);
    await h.tick();
    assert.equal(h.flow.state, "waiting");
    await h.tick();
    assert.equal(h.flow.state, "taken");
    assert.deepEqual(h.states.at(-1), { state: "taken", grant: "G", agent: "Alice" });
    assert.equal(h.timers.length, 0, "no poll after taken");
  });

  it("tells the customer about the call-back when nobody took it", async () => {
    const message = "No agent was free in time. We asked for a call-back on ticket T-1001: support will get back to you.";
    const h = harness({ ask: [created], status: [{ status: 200, body: { state: "expired", message } }] });
    await h.flow.allow({ mode: "view_only", recording: false });
    await h.tick();
    assert.deepEqual(h.states.at(-1), { state: "expired", message });
  });

  it("cancel stops polling and tells the server; a request taken meanwhile joins instead", async () => {
    const h = harness({ ask: [created], cancel: [{ status: 200, body: { state: "cancelled" } }], status: [] });
    await h.flow.allow({ mode: "view_only", recording: false });
    await h.flow.cancel();
    assert.equal(h.flow.state, "cancelled");
    assert.equal(h.timers[0], null, "the scheduled poll was cleared");

    const late = harness({
      ask: [created],
      cancel: [{ status: 409, body: { code: "already_taken" } }],
      status: [{ status: 200, body: { state: "taken", grant: "G2" } }],
    });
    await late.flow.allow({ mode: "view_only", recording: false });
    await late.flow.cancel();
    assert.equal(late.flow.state, "taken");
  });

  it("a refused request says why and sends nothing more; offline asks again", async () => {
    const refused = harness({ ask: [{ status: 403, body: { detail: "The signature does not match this user id." } }] });
    await refused.flow.allow({ mode: "view_only", recording: false });
    assert.deepEqual(refused.states.at(-1), { state: "refused", message: "The signature does not match this user id." });
    assert.equal(refused.timers.length, 0);

    const offline = harness({ ask: [new Error("offline"), created], status: [] });
    await offline.flow.allow({ mode: "view_only", recording: false });
    assert.deepEqual(offline.states.at(-1), { state: "asking", error: MESSAGES.offline });
    await offline.flow.allow({ mode: "view_only", recording: false });
    assert.equal(offline.flow.state, "waiting");
  });

  it("a dropped poll is retried, a taken request whose session ended says so", async () => {
    const h = harness({
      ask: [created],
      status: [new Error("offline"), { status: 503, body: null }, { status: 200, body: { state: "taken", ended: true } }],
    });
    await h.flow.allow({ mode: "view_only", recording: false });
    await h.tick();
    await h.tick();
    assert.equal(h.flow.state, "waiting");
    assert.equal(h.flow.misses, 2);
    await h.tick();
    assert.deepEqual(h.states.at(-1), { state: "ended", message: MESSAGES.ended });
  });

  it("deny sends nothing at all", () => {
    const h = harness({ ask: [] });
    h.flow.deny();
    assert.equal(h.flow.state, "closed");
    assert.equal(h.calls.length, 0, "nothing was sent");
  });
});

describe("the help calls", () => {
  it("post JSON and delete without cookies or referrer", async () => {
    const seen = [];
    const fetchFn = async (url, init) => {
      seen.push({ url, init });
      return { status: 201, json: async () => ({ id: "t" }) };
    };
    assert.deepEqual(await ask("https://desk.test", { site: "s" }, fetchFn), { status: 201, body: { id: "t" } });
    await cancel(STATUS_URL, fetchFn);
    assert.equal(seen[0].url, "https://desk.test/api/widget/help/");
    assert.equal(seen[0].init.method, "POST");
    assert.equal(seen[1].init.method, "DELETE");
    for (const { init } of seen) {
      assert.equal(init.credentials, "omit");
      assert.equal(init.referrerPolicy, "no-referrer");
    }
  });
});
