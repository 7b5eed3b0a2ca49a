import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createStreamTracker } from "../console/stream.js";
import { batchMarker } from "../common/batch_marker.js";

const META = { type: 4, data: { width: 800, height: 600 } };
const FULL = { type: 2, data: {} };
const INPUT = { type: 3, data: { source: 5 } };

describe("agent stream tracker", () => {
  it("starts a replay at the Meta event and applies what follows", () => {
    const accept = createStreamTracker();
    assert.deepEqual(accept({ page_id: "a", events: [batchMarker(0, 0), META, FULL] }), {
      events: [META, FULL],
      restart: true,
      needResync: false,
    });
    assert.deepEqual(accept({ page_id: "a", events: [batchMarker(1, 0), INPUT] }), {
      events: [INPUT],
      restart: false,
      needResync: false,
    });
  });

  it("asks for a snapshot when joining in the middle of a page", () => {
    const accept = createStreamTracker();
    assert.equal(accept({ page_id: "a", events: [batchMarker(7, 0), INPUT] }).needResync, true);
    const resumed = accept({ page_id: "a", events: [batchMarker(8, 0), INPUT, META, FULL] });
    assert.deepEqual(resumed, { events: [META, FULL], restart: true, needResync: false });
  });

  it("ignores duplicates and waits for a snapshot after a lost batch", () => {
    const accept = createStreamTracker();
    accept({ page_id: "a", events: [batchMarker(0, 0), META, FULL] });
    accept({ page_id: "a", events: [batchMarker(1, 0), INPUT] });
    assert.deepEqual(accept({ page_id: "a", events: [batchMarker(1, 0), INPUT] }).events, []);
    const afterGap = accept({ page_id: "a", events: [batchMarker(3, 0), INPUT] });
    assert.deepEqual(afterGap, { events: [], restart: false, needResync: true });
    assert.equal(accept({ page_id: "a", events: [batchMarker(4, 0), META, FULL] }).restart, true);
  });

  it("applies batches without a marker in order", () => {
    const accept = createStreamTracker();
    accept({ page_id: "a", events: [META, FULL] });
    assert.deepEqual(accept({ page_id: "a", events: [INPUT] }).events, [INPUT]);
  });

  it("restarts on a new page", () => {
    const accept = createStreamTracker();
    accept({ page_id: "a", events: [batchMarker(0, 0), META, FULL] });
    assert.equal(accept({ page_id: "b", events: [batchMarker(0, 0), META, FULL] }).restart, true);
  });
});
