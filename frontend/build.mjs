// Bundle every entry point under frontend/ into static/dist/ (IIFE, ES2018, minified).
import { build } from "esbuild";
import { mkdirSync } from "node:fs";

const entries = {
  // name in static/dist/  ->  source
};

mkdirSync("static/dist", { recursive: true });
await Promise.all(
  Object.entries(entries).map(([name, src]) =>
    build({
      entryPoints: [src],
      bundle: true,
      minify: true,
      format: "iife",
      target: "es2018",
      outfile: `static/dist/${name}.js`,
      logLevel: "warning",
    }),
  ),
);
