import assert from "node:assert/strict";
import { test } from "node:test";

import { createAssembler, framesFor } from "../common/parts.js";

test("small messages go out whole", () => {
  const frames = framesFor({ type: "rrweb", seq: 3, ts: 1, data: { events: [] } });
  assert.equal(frames.length, 1);
  assert.equal(JSON.parse(frames[0]).type, "rrweb");
});

test("large messages are cut into parts and put back together", () => {
  const big = { type: "rrweb", seq: 9, ts: 5, data: { events: [{ text: "é".repeat(1000) + "x".repeat(5000) }] } };
  const frames = framesFor(big, 1024).map((f) => JSON.parse(f));
  assert.ok(frames.length > 5);
  for (const frame of frames) {
    assert.equal(frame.type, "part");
    assert.equal(frame.seq, 9);
    assert.ok(frame.data.body.length <= 1024);
  }
  const assembler = createAssembler();
  let whole = null;
  for (const frame of frames) whole = assembler.add(frame.data) || whole;
  assert.deepEqual(JSON.parse(whole), big);
});

test("a part out of order drops the unfinished message", () => {
  const frames = framesFor({ type: "rrweb", seq: 1, ts: 1, data: { s: "y".repeat(5000) } }, 1000).map((f) => JSON.parse(f));
  const assembler = createAssembler();
  assert.equal(assembler.add(frames[0].data), null);
  assert.equal(assembler.add(frames[2].data), null);
  assert.equal(assembler.add(frames[3].data), null);
});
