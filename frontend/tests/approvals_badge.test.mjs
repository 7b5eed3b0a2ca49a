import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FINAL_CLOSE_CODES, needsRefresh, readCount, retryDelay } from "../desk/approvals.js";

describe("approvals badge", () => {
  it("reads the count of approvals messages only, and only a whole non-negative number", () => {
    assert.equal(readCount({ type: "approvals", count: 3, reason: "requested" }), 3);
    assert.equal(readCount({ type: "approvals", count: "0" }), 0);
    for (const bad of [-1, 1.5, "two", undefined]) assert.equal(readCount({ type: "approvals", count: bad }), null, String(bad));
    assert.equal(readCount({ type: "ping", count: 3 }), null);
    assert.equal(readCount(null), null);
  });

  it("refreshes the approvals page when a request was decided or the list is out of step", () => {
    assert.equal(needsRefresh({ reason: "changed" }, 2, 2), true);
    assert.equal(needsRefresh({ reason: "requested" }, 3, 2), true);
    assert.equal(needsRefresh({ reason: "requested" }, 2, 2), false);
  });

  it("never refreshes pages that do not list the requests", () => {
    assert.equal(needsRefresh({ reason: "changed" }, 2, null), false);
  });

  it("stops retrying only when signed out or no longer a manager", () => {
    assert.ok(FINAL_CLOSE_CODES.has(4401) && FINAL_CLOSE_CODES.has(4403));
    for (const code of [1006, 1011, 4408, 4429]) assert.equal(FINAL_CLOSE_CODES.has(code), false, String(code));
  });

  it("backs off from 1 s to at most 30 s, jittered over the upper half", () => {
    assert.equal(retryDelay(0, () => 0), 500);
    assert.equal(retryDelay(0, () => 1), 1000);
    assert.equal(retryDelay(3, () => 0.5), 6000);
    assert.equal(retryDelay(10, () => 0), 15000);
    assert.equal(retryDelay(10, () => 1), 30000);
  });
});
