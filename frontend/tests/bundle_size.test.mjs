import assert from "node:assert/strict";
import { it } from "node:test";
import { measureBundles } from "../build.mjs";

it("the widget bundles stay within their gzipped budgets", async () => {
  for (const { file, gzipped, budget } of await measureBundles()) {
    if (budget) assert.ok(gzipped <= budget, `${file}: ${gzipped} B gzipped > ${budget} B`);
  }
});
