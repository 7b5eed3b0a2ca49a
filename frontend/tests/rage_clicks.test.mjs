import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createRageClickDetector } from "../widget/recorder/rage_clicks.js";

describe("rage-click detector", () => {
  it("reports three clicks within 700 ms in a small radius", () => {
    const isRage = createRageClickDetector();
    assert.equal(isRage(100, 100, 0), false);
    assert.equal(isRage(105, 98, 200), false);
    assert.equal(isRage(102, 104, 650), true);
  });

  it("ignores clicks spread over more than 700 ms", () => {
    const isRage = createRageClickDetector();
    isRage(100, 100, 0);
    isRage(100, 100, 400);
    assert.equal(isRage(100, 100, 800), false);
    assert.equal(isRage(100, 100, 1000), true);
  });

  it("ignores fast clicks far apart", () => {
    const isRage = createRageClickDetector();
    isRage(100, 100, 0);
    isRage(300, 100, 100);
    assert.equal(isRage(500, 100, 200), false);
  });

  it("reports a burst once and needs three fresh clicks for the next", () => {
    const isRage = createRageClickDetector();
    const results = [0, 100, 200, 300, 400, 500].map((t) => isRage(50, 50, t));
    assert.deepEqual(results, [false, false, true, false, false, true]);
  });
});
