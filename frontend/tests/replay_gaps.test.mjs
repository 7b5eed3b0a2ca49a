import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toFrames } from "../replay/frames.js";
import { gapLabel } from "../replay/util.js";

describe("a gap in a recording", () => {
  it("says how long nothing was recorded", () => {
    assert.equal(gapLabel({ from: 1, to: 4200, seconds: 4.2 }), "Not recorded for 4.2 s (connection lost)");
    assert.equal(gapLabel({}), "Not recorded (connection lost)");
  });

  it("is a step on a browser recording's timeline, where it happened", () => {
    const chunks = [
      [{ type: "frame", at: 1000, data: { jpeg: "a" } }],
      [
        { type: "gap", at: 6000, data: { from: 1000, to: 6000, seconds: 5 } },
        { type: "frame", at: 6100, data: { jpeg: "b" } },
      ],
    ];
    const { steps } = toFrames(chunks);
    assert.deepEqual(
      steps.map((s) => [s.kind, s.offset, s.label]),
      [["gap", 5000, "Not recorded for 5 s (connection lost)"]],
    );
  });
});
