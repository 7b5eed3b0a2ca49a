import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import { batchMarker } from "../common/batch_marker.js";
import { Outbox } from "../widget/recorder/outbox.js";

const batchOf = (message) => message.data.events[0].data.payload.batch;
const recorded = (message) => message.data.events.slice(1);

function makeOutbox(options = {}) {
  const sent = [];
  const outbox = new Outbox({ pageId: "p1", transmit: (m) => sent.push(m), now: () => 1000, ...options });
  return { outbox, sent };
}

describe("Outbox batching", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout"] }));
  afterEach(() => mock.timers.reset());

  it("sends a batch 100 ms after its first event", () => {
    const { outbox, sent } = makeOutbox();
    outbox.resume(-1);
    outbox.addEvent({ type: 3, n: 1 });
    mock.timers.tick(60);
    outbox.addEvent({ type: 3, n: 2 });
    assert.equal(sent.length, 0);
    mock.timers.tick(40);
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0], {
      type: "rrweb",
      seq: 0,
      ts: 1000,
      data: { events: [batchMarker(0, 1000), { type: 3, n: 1 }, { type: 3, n: 2 }], page_id: "p1" },
    });
  });

  it("never puts more than 64 events in a batch (its marker included)", () => {
    const { outbox, sent } = makeOutbox();
    outbox.resume(-1);
    for (let i = 0; i < 130; i++) outbox.addEvent({ type: 3, i });
    assert.deepEqual(sent.map((m) => m.data.events.length), [64, 64]);
    mock.timers.tick(100);
    assert.deepEqual(sent.map((m) => m.data.events.length), [64, 64, 5]);
    assert.deepEqual(sent.map(batchOf), [0, 1, 2]);
    assert.deepEqual(sent.flatMap(recorded).map((e) => e.i), [...Array(130).keys()]);
  });

  it("sends a full snapshot in a batch of its own", () => {
    const { outbox, sent } = makeOutbox();
    outbox.resume(-1);
    outbox.addEvent({ type: 4 });
    outbox.addEvent({ type: 2 });
    outbox.addEvent({ type: 3 });
    mock.timers.tick(100);
    assert.deepEqual(sent.map((m) => recorded(m).map((e) => e.type)), [[4], [2], [3]]);
  });

  it("flushes waiting events before any other stream message, keeping order", () => {
    const { outbox, sent } = makeOutbox();
    outbox.resume(-1);
    outbox.addEvent({ i: 1 });
    outbox.send("page", { completion: 50 });
    assert.deepEqual(sent.map((m) => [m.type, m.seq]), [["rrweb", 0], ["page", 1]]);
  });
});

describe("Outbox sequence and resend", () => {
  it("numbers stream messages contiguously; out-of-band messages carry the latest seq", () => {
    const { outbox, sent } = makeOutbox();
    outbox.sendOutOfBand("hello", { grant: "g" });
    outbox.resume(-1);
    outbox.send("page", {});
    outbox.send("signal", { kind: "stall" });
    outbox.sendOutOfBand("pong", { nonce: "n" });
    outbox.send("page", {});
    assert.deepEqual(sent.map((m) => [m.type, m.seq]), [["hello", 0], ["page", 0], ["signal", 1], ["pong", 1], ["page", 2]]);
    assert.deepEqual(outbox.pending.map((m) => m.type), ["page", "signal", "page"]);
  });

  it("sends buffered rrweb events before a stop", () => {
    const { outbox, sent } = makeOutbox();
    outbox.resume(-1);
    outbox.addEvent({ type: 3 });
    outbox.sendOutOfBand("stop", { reason: "customer" });
    assert.deepEqual(sent.map((m) => [m.type, m.seq]), [["rrweb", 0], ["stop", 0]]);
  });

  it("keeps messages while offline and sends them after the welcome", () => {
    const { outbox, sent } = makeOutbox();
    outbox.send("page", { a: 1 });
    outbox.send("page", { a: 2 });
    assert.equal(sent.length, 0);
    assert.equal(outbox.resume(-1), false);
    assert.deepEqual(sent.map((m) => m.seq), [0, 1]);
  });

  it("drops acknowledged messages and resends only what the server lacks", () => {
    const { outbox, sent } = makeOutbox();
    outbox.resume(-1);
    for (let i = 0; i < 5; i++) outbox.send("page", { i });
    outbox.acknowledge(1);
    assert.equal(outbox.lastAckedSeq, 1);
    assert.deepEqual(outbox.pending.map((m) => m.seq), [2, 3, 4]);
    outbox.pause();
    outbox.send("page", { i: 5 });
    sent.length = 0;
    assert.equal(outbox.resume(3), false);
    assert.deepEqual(sent.map((m) => m.seq), [4, 5]);
    assert.deepEqual(sent.map((m) => m.data.i), [4, 5]);
  });

  it("asks for a full snapshot when the server lacks messages it already acknowledged", () => {
    const { outbox } = makeOutbox();
    outbox.resume(-1);
    for (let i = 0; i < 3; i++) outbox.send("page", { i });
    outbox.acknowledge(2);
    outbox.pause();
    assert.equal(outbox.resume(-1), true);
  });

  it("forgets the oldest messages beyond its limit and then asks for a full snapshot", () => {
    const { outbox, sent } = makeOutbox({ maxPending: 3 });
    for (let i = 0; i < 5; i++) outbox.send("page", { i });
    assert.equal(outbox.resume(-1), true);
    assert.deepEqual(sent.map((m) => m.seq), [2, 3, 4]);
    assert.equal(outbox.resume(4), false);
  });

  it("never claims an acknowledgement beyond what it sent", () => {
    const { outbox } = makeOutbox();
    outbox.send("page", {});
    outbox.acknowledge(10);
    assert.equal(outbox.lastAckedSeq, 0);
    assert.deepEqual(outbox.pending, []);
  });
});
