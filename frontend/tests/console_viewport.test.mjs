import assert from "node:assert/strict";
import { test } from "node:test";

import { viewportText } from "../console/viewport.js";

test("the customer's window and the scale it is drawn at", () => {
  assert.equal(
    viewportText({ width: 1440, height: 900 }, 0.5),
    "Customer's window: 1440 × 900 px · shown at 50 %",
  );
  assert.equal(
    viewportText({ width: 375, height: 667 }, 1),
    "Customer's phone-sized window: 375 × 667 px · shown at 100 %",
  );
});

test("nothing to say before the first snapshot or for a nonsense size", () => {
  assert.equal(viewportText(null, 1), "");
  assert.equal(viewportText({ width: 0, height: 700 }, 1), "");
  assert.equal(viewportText({ width: 800, height: 600 }, Number.NaN), "Customer's window: 800 × 600 px");
});
