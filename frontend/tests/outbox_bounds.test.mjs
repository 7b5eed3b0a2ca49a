// The widget's outbox keeps what the server has not acknowledged within a count and a size, so a
// page offline for long (or flapping) never grows the tab's memory without end.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Outbox } from "../widget/recorder/outbox.js";

function makeOutbox(options = {}) {
  const sent = [];
  const outbox = new Outbox({ pageId: "p1", transmit: (m) => sent.push(m), now: () => 1000, ...options });
  return { outbox, sent };
}

const chars = (data) => JSON.stringify(data).length;

describe("outbox bounds", () => {
  it("forgets the oldest messages beyond its size and then asks for a full snapshot", () => {
    const body = { text: "x".repeat(100) };
    const { outbox, sent } = makeOutbox({ maxPendingChars: 3 * chars(body) });
    for (let i = 0; i < 5; i++) outbox.send("page", body);
    assert.deepEqual(outbox.pending.map((m) => m.seq), [2, 3, 4]);
    assert.equal(outbox.pendingChars, 3 * chars(body));
    assert.equal(outbox.resume(-1), true);
    assert.deepEqual(sent.map((m) => m.seq), [2, 3, 4]);
  });

  it("keeps the newest message even when it alone is larger than the size", () => {
    const { outbox } = makeOutbox({ maxPendingChars: 10 });
    outbox.send("page", { text: "small" });
    outbox.send("page", { text: "x".repeat(50) });
    assert.deepEqual(outbox.pending.map((m) => m.seq), [1]);
  });

  it("stays within both bounds through 20 drops, and holds nothing once all is acknowledged", () => {
    const { outbox, sent } = makeOutbox({ maxPending: 40, maxPendingChars: 20000 });
    outbox.resume(-1);
    let most = 0;
    for (let flap = 0; flap < 20; flap++) {
      outbox.pause(); // offline: typing goes on
      for (let i = 0; i < 30; i++) outbox.send("page", { value: "y".repeat(10 * flap + i) });
      most = Math.max(most, outbox.pendingChars);
      assert.ok(outbox.pending.length <= 40 && outbox.pendingChars <= 20000);
      const expected = outbox.pending.reduce((sum, m) => sum + chars(m.data), 0);
      assert.equal(outbox.pendingChars, expected);
      outbox.resume(sent.length ? sent[sent.length - 1].seq : -1);
      outbox.acknowledge(outbox.nextSeq - 1);
    }
    assert.ok(most > 0);
    assert.deepEqual(outbox.pending, []);
    assert.equal(outbox.pendingChars, 0);
  });
});
