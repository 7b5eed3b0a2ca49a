// Prints raw and gzipped sizes of every front-end bundle against the widget budgets.
// Run from the repository root: node bench/widget_size.mjs
import { measureBundles } from "../frontend/build.mjs";

const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
console.log("bundle                     raw        gzipped    budget (gzipped)");
for (const { file, raw, gzipped, budget } of await measureBundles()) {
  const verdict = budget ? `${kb(budget)} ${gzipped <= budget ? "ok" : "OVER"}` : "-";
  console.log(`${file.padEnd(26)} ${kb(raw).padEnd(10)} ${kb(gzipped).padEnd(10)} ${verdict}`);
}
