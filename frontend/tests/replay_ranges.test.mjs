import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chunkAt, chunkUrl, createChunkSource, loadAll } from "../replay/chunks.js";
import { fitScale } from "../replay/fit.js";
import { chunkFrames } from "../replay/frames.js";

const CHUNKS = [
  { index: 0, from: 0, to: 990 },
  { index: 1, from: 990, to: 2990 },
  { index: 2, from: 2990, to: 8990 },
  { index: 3, from: 8990, to: 8990 },
];

describe("ranged replay", () => {
  it("names a chunk's URL from the chunk-0 template, with the opening", () => {
    assert.equal(chunkUrl("/manager/recordings/10/chunks/0/", 12, "ab-c"), "/manager/recordings/10/chunks/12/?opening=ab-c");
    assert.equal(chunkUrl("/portal/recordings/copy/t0k0/chunks/0/", 3, ""), "/portal/recordings/copy/t0k0/chunks/3/");
  });

  it("finds the chunk a time falls in", () => {
    assert.equal(chunkAt(CHUNKS, 0), 0);
    assert.equal(chunkAt(CHUNKS, 989), 0);
    assert.equal(chunkAt(CHUNKS, 990), 1);
    assert.equal(chunkAt(CHUNKS, 5000), 2);
    assert.equal(chunkAt(CHUNKS, 99999), 3);
  });

  it("fetches each chunk once, then all in order, and stops at a damaged one", async () => {
    const asked = [];
    const fake = async (url) => {
      asked.push(url);
      if (url.endsWith("/index/")) return { ok: true, json: async () => ({ opening: "op", chunks: CHUNKS }) };
      const n = Number(/chunks\/(\d+)\//.exec(url)[1]);
      const body = n === 2 ? { index: 2, events: null, status: { state: "tampered", error: "chunk 2: x" } }
        : { index: n, events: [{ at: n }], status: { state: "ok" } };
      return { ok: true, json: async () => body };
    };
    const source = createChunkSource({ indexUrl: "/r/1/index/", chunkUrl: "/r/1/chunks/0/" }, fake);
    const index = await source.open();
    await Promise.all([source.load(1), source.load(1)]);
    assert.equal(asked.filter((u) => u.includes("/chunks/1/")).length, 1);
    assert.ok(asked.includes("/r/1/chunks/1/?opening=op"));
    const all = await loadAll(source, index.chunks, 2);
    assert.deepEqual(all.chunks, [[{ at: 0 }], [{ at: 1 }]]);
    assert.equal(all.failed.state, "tampered");
  });

  it("scales to the smaller of width and height room, never above 1", () => {
    assert.equal(fitScale(1920, 1080, 960, 2000), 0.5);
    assert.equal(fitScale(1920, 1080, 1920, 540), 0.5);
    assert.equal(fitScale(320, 200, 1200, 600), 1);
    assert.equal(fitScale(0, 0, 100, 100), 1);
  });

  it("places a chunk's frames and steps on the recording's clock", () => {
    const { frames, steps } = chunkFrames(
      [
        { type: "frame", at: 5000, data: { jpeg: "AA" } },
        { type: "action", at: 5100, data: { kind: "click", x: 1, y: 2 } },
      ],
      1000,
    );
    assert.deepEqual(frames.map((f) => f.offset), [4000]);
    assert.deepEqual(steps.map((s) => [s.offset, s.label]), [[4100, "Agent clicked at 1, 2"]]);
  });
});
