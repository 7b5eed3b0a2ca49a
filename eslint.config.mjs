// ESLint (flat config) for Tandem's browser code, its build scripts and its front-end tests.
// `make lint` runs it through the local node_modules: `node_modules/.bin/eslint .`
//
// Beyond the recommended rules, the ones chosen catch real bugs, not style: loose equality that
// coerces, callbacks that forget to return, use before definition (temporal dead zone), throwing
// or rejecting with non-errors, implied eval (the CSP forbids it anyway), and browser globals that
// are easy to reach by mistake (a bare `event`, `name`, `status`, `parent`… is the window's, not a
// local one that was meant).
import js from "@eslint/js";
import globals from "globals";

// Browser globals a typo or a missing parameter silently resolves to (a subset of the well-known
// "confusing browser globals" list).
const CONFUSING_BROWSER_GLOBALS = [
  "addEventListener", "blur", "close", "closed", "defaultStatus", "event", "external", "find",
  "focus", "frames", "innerHeight", "innerWidth", "length", "moveBy",
  "moveTo", "name", "onblur", "onerror", "onfocus", "onload", "onresize", "onunload", "open",
  "opener", "origin", "outerHeight", "outerWidth", "pageXOffset", "pageYOffset", "parent",
  "print", "removeEventListener", "resizeBy", "resizeTo", "screen", "screenLeft", "screenTop",
  "screenX", "screenY", "scroll", "scrollbars", "scrollBy", "scrollTo", "scrollX", "scrollY",
  "self", "status", "stop", "top",
].map((name) => ({ name, message: `Use window.${name} (or a local) explicitly.` }));

const bugCatchers = {
  "array-callback-return": ["error", { checkForEach: false }],
  "eqeqeq": ["error", "smart"],
  "no-caller": "error",
  "no-constructor-return": "error",
  "no-eval": "error",
  "no-extend-native": "error",
  "no-implied-eval": "error",
  "no-new-func": "error",
  "no-new-wrappers": "error",
  "no-proto": "error",
  "no-self-compare": "error",
  "no-sequences": "error",
  "no-template-curly-in-string": "error",
  "no-throw-literal": "error",
  "no-unmodified-loop-condition": "error",
  "no-unreachable-loop": "error",
  "no-unused-expressions": ["error", { allowShortCircuit: true, allowTernary: true }],
  "no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none", ignoreRestSiblings: true }],
  "no-use-before-define": ["error", { functions: false, classes: true, variables: true }],
  "no-var": "error",
  "prefer-promise-reject-errors": "error",
};

export default [
  { ignores: ["static/dist/**", "staticfiles/**", "var/**", "test-artifacts/**", ".venv/**"] },
  js.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: "error" },
    languageOptions: { ecmaVersion: 2022 },
    rules: bugCatchers,
  },
  // Browser code: ES modules bundled by esbuild (frontend/build.mjs).
  {
    files: ["frontend/**/*.js"],
    languageOptions: { sourceType: "module", globals: globals.browser },
    rules: { "no-restricted-globals": ["error", ...CONFUSING_BROWSER_GLOBALS] },
  },
  // Hand-written page scripts served as they are (classic scripts, not modules). TandemConsole is
  // what the tandem-console bundle (frontend/console/live.js) puts on window before them.
  {
    files: ["static/js/*.js"],
    languageOptions: { sourceType: "script", globals: { ...globals.browser, TandemConsole: "readonly" } },
    rules: { "no-restricted-globals": ["error", ...CONFUSING_BROWSER_GLOBALS] },
  },
  // The demo site stands for a customer's own site: old-style ES5 on purpose (var, function), so the
  // widget is shown working beside code like it. Its bugs still count; its style does not.
  {
    files: ["demo_site/static/**/*.js"],
    languageOptions: { sourceType: "script", globals: globals.browser },
    rules: { "no-var": "off" },
  },
  // Build scripts, the front-end tests (node --test) and this file run on Node.
  {
    files: ["**/*.mjs"],
    languageOptions: { sourceType: "module", globals: globals.node },
  },
];
