// Bundle every entry point under frontend/ into static/dist/ (IIFE, ES2018, minified).
// A .css entry is bundled as CSS (its @imports inlined) into static/dist/<name>.css.
// The React wrapper is the one ES module: React stays an import, the host app's own (esmEntries).
import { build } from "esbuild";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = fileURLToPath(new URL("..", import.meta.url));

export const entries = {
  // name in static/dist/  ->  source
  "tandem-loader": "frontend/widget/loader.js",
  // The page's own consent card, loaded before anything is recorded: the recorder only after Allow.
  "tandem-consent": "frontend/widget/consent/index.js",
  "tandem-recorder": "frontend/widget/recorder/index.js",
  // Guidance and control, loaded by the recorder only when a session goes beyond view only.
  "tandem-guide": "frontend/widget/guide/index.js",
  // "Share this tab instead?", loaded by the recorder only when another tab of the browser shares.
  "tandem-seat": "frontend/widget/seat/index.js",
  // The end card ("How did this session go?"), loaded by the recorder only when a session ends.
  "tandem-survey": "frontend/widget/survey/index.js",
  // Help triggers (stall, errors, rage clicks, ...), loaded only after Tandem.init({help: true}).
  "tandem-triggers": "frontend/widget/triggers/index.js",
  // The help card and request (Get help → consent on the page → waiting → the agent joins).
  "tandem-help": "frontend/widget/help/index.js",
  // The agent's console page: the live view, its tools and the page around them (console/page.js).
  "tandem-console": "frontend/console/live.js",
  "tandem-console.css": "frontend/console/live.css",
  "tandem-viewer": "frontend/viewer/index.js",
  // The watch page of a member of the customer's team: the console's live view without its tools.
  "tandem-watch": "frontend/watch/index.js",
  "tandem-replay": "frontend/replay/replay.js",
  // The desk's own pages (templates/): behaviour declared in markup, since the CSP allows no inline
  // script. Every page; the invitation link's copy button; the managers' live Approvals badge.
  "tandem-page": "frontend/desk/page.js",
  "tandem-copy-link": "frontend/desk/copy_link.js",
  "tandem-approvals-live": "frontend/desk/approvals_live.js",
  // The manager dashboard's and an agent's performance page's charts (Chart.js, parts registered).
  "tandem-charts": "frontend/analytics/charts.js",
  // The React wrapper (frontend/react/): an ES module for a site's own React build.
  "tandem-react": "frontend/react/index.js",
  // The demo site's React page (/react): the wrapper with React bundled in, as a site's build would.
  "demo-react": "demo_site/react/app.js",
};

// Entries built as ES modules, with these imports left to the app that bundles them.
export const esmEntries = { "tandem-react": ["react", "react-dom"] };

// Gzipped size limits the customer's page pays for the widget.
export const budgetsGzipped = {
  "tandem-loader.js": 2 * 1024,
  "tandem-consent.js": 3 * 1024,
  "tandem-recorder.js": 30 * 1024,
  "tandem-guide.js": 8 * 1024,
  "tandem-survey.js": 3 * 1024,
  "tandem-seat.js": 3 * 1024,
  "tandem-triggers.js": 3 * 1024,
  "tandem-help.js": 4 * 1024,
  // What the wrapper adds to a React app, React itself not counted.
  "tandem-react.js": 4 * 1024,
};

// --- masking: widget weight -----------------------------------------------------------------
// The widget never records canvas (recordCanvas stays off), yet @rrweb/record bundles its canvas
// observers, WebGL argument serializers and the inlined source of a canvas worker (~3 KB gzipped).
// The recorder bundle gets a CanvasManager that does nothing instead; those bytes go to masking,
// within the same gzipped budget. Should rrweb change shape, the build fails rather than guess.
import { readFileSync } from "node:fs";

const dropCanvasRecording = {
  name: "drop-rrweb-canvas-recording",
  setup(b) {
    b.onLoad({ filter: /@rrweb[\\/]record[\\/]dist[\\/]record\.js$/ }, ({ path }) => {
      const src = readFileSync(path, "utf8");
      const start = src.indexOf("const canvasVarMap");
      const end = src.indexOf("class StylesheetManager");
      if (start < 0 || end < start) throw new Error("@rrweb/record changed: review drop-rrweb-canvas-recording");
      const stub = "class CanvasManager{reset(){}freeze(){}unfreeze(){}lock(){}unlock(){}}\n";
      return { contents: src.slice(0, start) + stub + src.slice(end), loader: "js" };
    });
  },
};
// --- end masking ----------------------------------------------------------------------------

function options(name, src) {
  const isCss = src.endsWith(".css");
  const external = esmEntries[name];
  return {
    plugins: name === "tandem-recorder" ? [dropCanvasRecording] : [],
    absWorkingDir: root,
    entryPoints: [src],
    bundle: true,
    minify: true,
    format: isCss ? undefined : external ? "esm" : "iife",
    external,
    // React bundled in (the demo page) must be its production build.
    define: { "process.env.NODE_ENV": '"production"' },
    target: "es2018",
    outfile: `static/dist/${isCss ? name : `${name}.js`}`,
    logLevel: "warning",
  };
}

// Builds in memory and returns [{file, raw, gzipped, budget}] without touching static/dist.
export async function measureBundles() {
  return Promise.all(
    Object.entries(entries).map(async ([name, src]) => {
      const result = await build({ ...options(name, src), write: false });
      const { path, contents } = result.outputFiles[0];
      const file = path.split("/").pop();
      return { file, raw: contents.length, gzipped: gzipSync(contents, { level: 9 }).length, budget: budgetsGzipped[file] };
    }),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  mkdirSync(`${root}static/dist`, { recursive: true });
  await Promise.all(Object.entries(entries).map(([name, src]) => build(options(name, src))));
}
