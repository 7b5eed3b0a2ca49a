import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { freshLinkText, recoveryPlan, refusalText } from "../console/recovery.js";

describe("the console's recovery card", () => {
  it("waits, then offers the fresh link, only while the page is gone", () => {
    const waiting = recoveryPlan({ state: "reconnecting", fresh_link_in: 12 });
    assert.equal(waiting.freshLink, "wait");
    assert.equal(waiting.recheckMs, 13000);
    assert.match(freshLinkText(waiting), /in 12 s/);
    const ready = recoveryPlan({ state: "reconnecting", fresh_link_in: 0 });
    assert.equal(ready.freshLink, "ready");
    assert.equal(ready.recheckMs, null);
    assert.equal(recoveryPlan({ state: "active", fresh_link_in: null }).freshLink, "hidden");
    assert.equal(recoveryPlan(null).freshLink, "hidden");
  });

  it("shows the alternatives when the server says the connection keeps dropping", () => {
    const plan = recoveryPlan({ state: "active", alternatives: true, callback_requested: true, browser_possible: true });
    assert.deepEqual([plan.alternatives, plan.callbackRequested, plan.browserPossible], [true, true, true]);
    assert.equal(recoveryPlan({ state: "reconnecting" }).alternatives, false);
  });

  it("says why a click was refused", () => {
    assert.equal(refusalText(409, { detail: "Try again in 5 s." }), "Try again in 5 s.");
    assert.match(refusalText(429, {}), /Too many/);
    assert.match(refusalText(500, null), /500/);
  });
});
