import assert from "node:assert/strict";
import { it } from "node:test";
import { measureBundles } from "../build.mjs";

it("the widget bundles stay within their gzipped budgets", async () => {
  for (const { file, gzipped, budget } of await measureBundles()) {
    if (budget) assert.ok(gzipped <= budget, `${file}: ${gzipped} B gzipped > ${budget} B`);
  }
});

it("the consent card is a chunk of its own, loaded lazily and within its budget", async () => {
  const bundles = Object.fromEntries((await measureBundles()).map((b) => [b.file, b]));
  assert.ok(bundles["tandem-consent.js"]?.budget, "tandem-consent.js has a budget");
  assert.ok(bundles["tandem-loader.js"].gzipped <= 2 * 1024);
});

it("the help triggers are a chunk of their own, within their budget", async () => {
  const bundles = Object.fromEntries((await measureBundles()).map((b) => [b.file, b]));
  assert.equal(bundles["tandem-triggers.js"]?.budget, 3 * 1024);
  assert.ok(bundles["tandem-triggers.js"].gzipped <= 3 * 1024);
});

it("the help card is a chunk of its own, within its budget", async () => {
  const bundles = Object.fromEntries((await measureBundles()).map((b) => [b.file, b]));
  assert.equal(bundles["tandem-help.js"]?.budget, 4 * 1024);
  assert.ok(bundles["tandem-help.js"].gzipped <= 4 * 1024);
});
