// Tandem.init's option check (frontend/widget/init_options.js): every mistake is named, and the
// loader starts nothing when there is one. allowedActions only narrows (guide/rules.js siteRefusal).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { siteRefusal } from "../widget/guide/rules.js";
import { checkOptions } from "../widget/init_options.js";

const FULL = {
  site: "acme-home-loans",
  user: { id: "u-42", signature: "ab".repeat(32) },
  maskedFields: ["#pan", ".secret"],
  allowedActions: ["click", "type"],
  stallThresholdMs: 1500,
  triggers: { stall: { ms: 1500 }, rage: { clicks: 4, windowMs: 800 }, idle: false, exit: { min: 20, max: 95 } },
  help: true,
  consentPrompt: "Let Acme's team see this form?",
  maxPrompts: 2,
  onConsent() {},
  onEnd() {},
  onHelpRequested() {},
};

describe("Tandem.init options", () => {
  it("accepts every documented option, and none at all", () => {
    assert.equal(checkOptions(FULL), "");
    assert.equal(checkOptions({}), "");
    assert.equal(checkOptions({ site: "s", user: { id: 42, signature: "x" } }), "");
  });

  it("names an unknown option", () => {
    assert.equal(checkOptions({ ...FULL, helpp: true }), 'unknown option "helpp"');
    assert.equal(checkOptions({ site: "s", user: { id: "1", signature: "x", name: "Ada" } }).startsWith("user must be"), true);
  });

  it("names a wrong type", () => {
    const cases = {
      site: 42,
      help: "yes",
      stallThresholdMs: -5,
      maskedFields: "#pan",
      allowedActions: ["click", "submit"],
      consentPrompt: "",
      onConsent: "alert(1)",
      user: { id: "u" },
      triggers: { stall: { ms: "20s" } },
    };
    for (const [name, value] of Object.entries(cases)) {
      assert.match(checkOptions({ ...FULL, [name]: value }), new RegExp(`^${name} must be `), name);
    }
    assert.match(checkOptions({ triggers: { hover: false } }), /^triggers must be/);
    assert.match(checkOptions({ triggers: { rage: { clicks: 3, radius: 9 } } }), /^triggers must be/);
    assert.equal(checkOptions(null), "options must be an object");
    assert.equal(checkOptions([FULL]), "options must be an object");
  });

  it("help and user need a site", () => {
    assert.equal(checkOptions({ help: true }), "site is required with help or user");
    assert.equal(checkOptions({ user: FULL.user }), "site is required with help or user");
  });

  it("allowedActions only narrows: kinds outside it are refused, no list refuses nothing", () => {
    assert.equal(siteRefusal("click", ["click"]), "");
    assert.equal(siteRefusal("type", ["click"]), "this site does not allow 'type' actions");
    assert.equal(siteRefusal("click", []), "this site does not allow 'click' actions");
    assert.equal(siteRefusal("type", undefined), "");
  });
});
