import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  applyBlocker,
  applyLabel,
  applyMessage,
  assistKey,
  proposalText,
  sentText,
  situation,
  sourceText,
} from "../console/assist.js";
import { feedLine } from "../console/page_text.js";

const FIELDS = {
  property_pin_code: { id: "property_pin_code", label: "PIN code", status: "active", masked: false },
  pan: { id: "pan", label: "PAN", status: "pending", masked: true },
};
const STALL = { url: "https://x.example/apply", field: "property_pin_code", trigger: "stall", completion_pct: 40, stall_ms: 25_300 };
const FILL = { kind: "autofill", field: "property_pin_code", value: "560001", source: "crm_data.postal_code" };

describe("the assistant's lines", () => {
  it("says why, what and where from in one line", () => {
    assert.equal(proposalText(FILL, STALL, FIELDS), "Customer stalled 25 s on PIN code — fill 560001 from profile?");
    assert.equal(
      proposalText({ ...FILL, field: "city", value: "Bengaluru", source: "crm_data.city" }, STALL, FIELDS),
      "Customer stalled 25 s on PIN code — fill city with Bengaluru from profile?",
    );
    assert.equal(
      proposalText({ kind: "prompt", text: "Need help with this field?" }, {}, FIELDS),
      "Show the customer “Need help with this field?”",
    );
    assert.equal(proposalText({ kind: "speech", text: "Your PIN is on file." }, STALL), "Say on the call: “Your PIN is on file.”");
    assert.match(proposalText({ kind: "scroll", field: "pan" }, {}, FIELDS), /^PAN is off screen/);
    assert.equal(proposalText({ kind: "browse", url: "https://x.example/help" }), "Page that may help: https://x.example/help");
  });

  it("names each trigger, and says nothing it does not know", () => {
    assert.equal(situation({ trigger: "validation_error", field: "pan" }, FIELDS), "PAN shows an error");
    assert.equal(situation({ trigger: "exit_intent", completion_pct: 62.4 }), "Customer about to leave at 62 %");
    assert.equal(situation({ trigger: "idle", stall_ms: 46_000 }), "Customer idle for 46 s");
    assert.equal(situation({ trigger: "nap" }), "");
    assert.equal(situation({}), "");
  });

  it("says where a value on file comes from", () => {
    assert.equal(sourceText("crm_data.postal_code"), "profile");
    assert.equal(sourceText("crm_data.known_pin"), "data on file (known pin)");
    assert.equal(sourceText(""), "data on file");
  });

  it("gives the feed one line per message", () => {
    assert.deepEqual(feedLine("assist", { proposals: [FILL, FILL], context_summary: STALL }), {
      kind: "assist",
      text: "Assistant: 2 suggestions (Customer stalled 25 s on property_pin_code)",
    });
  });
});

describe("applying a proposal", () => {
  it("sends the existing messages, aimed at the field's node", () => {
    assert.deepEqual(applyMessage(FILL, { pageId: "p1", nodeId: 42 }), {
      type: "action",
      data: { kind: "autofill", page_id: "p1", value: "560001", node_id: 42 },
    });
    assert.deepEqual(applyMessage({ kind: "highlight", field: "property_pin_code" }, { pageId: "p1", nodeId: 42 }), {
      type: "annotate",
      data: { kind: "highlight", page_id: "p1", node_id: 42 },
    });
    assert.deepEqual(applyMessage({ kind: "prompt", text: "Need help?" }, { pageId: "p1", nodeId: null }), {
      type: "annotate",
      data: { kind: "text", page_id: "p1", text: "Need help?", x: 24, y: 24 },
    });
    const long = applyMessage({ kind: "prompt", text: "a".repeat(300) }, { pageId: "p1", nodeId: 3 });
    assert.equal(long.data.text.length, 200);
    assert.equal(long.data.node_id, 3);
    assert.equal(applyMessage({ kind: "speech", text: "x" }, { pageId: "p1" }), null);
  });

  it("never fills a masked field and never aims at nothing", () => {
    assert.equal(applyBlocker({ ...FILL, field: "pan" }, { fields: FIELDS, pageId: "p1", nodeId: 7 }), "the field is masked: it is never filled in");
    assert.equal(applyBlocker(FILL, { fields: FIELDS, pageId: null, nodeId: 7 }), "the customer's page is not showing yet");
    assert.equal(applyBlocker(FILL, { fields: FIELDS, pageId: "p1", nodeId: null }), "PIN code is not on the page the console shows");
    assert.equal(applyBlocker({ kind: "prompt", text: "Hi" }, { fields: FIELDS, pageId: "p1", nodeId: null }), "");
    assert.equal(applyBlocker(FILL, { fields: FIELDS, pageId: "p1", nodeId: 7 }), "");
    assert.equal(applyBlocker({ kind: "speech", text: "x" }, {}), "information only");
  });

  it("names its button by what it does; information has none", () => {
    assert.deepEqual(applyLabel(FILL, FIELDS), { text: "Apply", name: "Apply: fill PIN code with 560001" });
    assert.equal(applyLabel({ kind: "browse", url: "https://x.example" }), null);
  });

  it("says what happens next in each mode", () => {
    assert.equal(sentText(FILL, "controlled"), "Sent: waiting for the customer's approval");
    assert.equal(sentText(FILL, "guided"), "Sent: the server refuses actions below Control mode");
    assert.equal(sentText({ kind: "prompt" }, "guided"), "Sent to the customer's page");
  });

  it("knows a resent message", () => {
    assert.equal(assistKey({ proposals: [FILL] }), assistKey({ proposals: [FILL], context_summary: STALL }));
    assert.notEqual(assistKey({ proposals: [FILL] }), assistKey({ proposals: [] }));
  });
});
