import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createStreamTracker } from "../console/stream.js";

const META = { type: 4, data: { width: 800, height: 600 } };
const FULL = { type: 2, data: {} };
const INPUT = { type: 3, data: { source: 5 } };

describe("agent stream tracker", () => {
  it("starts a replay at the Meta event and applies what follows", () => {
    const accept = createStreamTracker();
    assert.deepEqual(accept({ page_id: "a", batch: 0, events: [META, FULL] }), {
      events: [META, FULL],
      restart: true,
      needResync: false,
    });
    assert.deepEqual(accept({ page_id: "a", batch: 1, events: [INPUT] }), {
      events: [INPUT],
      restart: false,
      needResync: false,
    });
  });

  it("asks for a snapshot when joining in the middle of a page", () => {
    const accept = createStreamTracker();
    assert.equal(accept({ page_id: "a", batch: 7, events: [INPUT] }).needResync, true);
    const resumed = accept({ page_id: "a", batch: 8, events: [INPUT, META, FULL] });
    assert.deepEqual(resumed, { events: [META, FULL], restart: true, needResync: false });
  });

  it("ignores duplicates and waits for a snapshot after a lost batch", () => {
    const accept = createStreamTracker();
    accept({ page_id: "a", batch: 0, events: [META, FULL] });
    accept({ page_id: "a", batch: 1, events: [INPUT] });
    assert.deepEqual(accept({ page_id: "a", batch: 1, events: [INPUT] }).events, []);
    const afterGap = accept({ page_id: "a", batch: 3, events: [INPUT] });
    assert.deepEqual(afterGap, { events: [], restart: false, needResync: true });
    assert.equal(accept({ page_id: "a", batch: 4, events: [META, FULL] }).restart, true);
  });

  it("restarts on a new page", () => {
    const accept = createStreamTracker();
    accept({ page_id: "a", batch: 0, events: [META, FULL] });
    assert.equal(accept({ page_id: "b", batch: 0, events: [META, FULL] }).restart, true);
  });
});
