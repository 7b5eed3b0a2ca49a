import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  clock,
  createPageTracker,
  createWatchers,
  endReasonText,
  endedLine,
  feedLine,
  formSummary,
  inviteError,
  modeButtonDisabled,
  presenceText,
  qualityText,
} from "../console/page_text.js";

const LABELS = { view_only: "View only", guided: "Guidance", full: "Full control" };
const ORDER = ["view_only", "guided", "controlled", "full"];

describe("console timer", () => {
  it("shows minutes and seconds, then hours from the first hour on", () => {
    assert.equal(clock(0), "0:00");
    assert.equal(clock(61_999), "1:01");
    assert.equal(clock(59 * 60_000 + 59_000), "59:59");
    assert.equal(clock(3600_000 + 5 * 60_000 + 7_000), "1:05:07");
  });

  it("never shows a negative time (the clocks of browser and server differ)", () => {
    assert.equal(clock(-5000), "0:00");
  });
});

describe("state badges", () => {
  it("names the customer's presence, passing through states it does not know", () => {
    assert.equal(presenceText("reconnecting"), "Customer reconnecting…");
    assert.equal(presenceText("moved"), "The customer moved sharing to another tab");
    assert.equal(presenceText("away"), "away");
    assert.equal(presenceText("toString"), "toString");
  });

  it("adds the round trip to the quality only when one was measured", () => {
    assert.equal(qualityText({ level: "good", rtt_ms: 41.6 }), "Good · 42 ms");
    assert.equal(qualityText({ level: "poor", rtt_ms: 0 }), "Poor");
    assert.equal(qualityText({ level: "fair", rtt_ms: "12" }), "Fair");
    assert.equal(qualityText({ level: "odd" }), "odd");
  });
});

describe("form panel", () => {
  it("lists each field with its status, the focused one and the completion", () => {
    const summary = formSummary({
      fields: [
        { id: "email", label: "Email", status: "complete" },
        { id: "card", name: "card_number", status: "complete", masked: true },
        { id: "zip", status: "error", error: "Too short" },
        { id: "notes", status: "active" },
      ],
      focused: "zip",
      completion: 50,
      stalled_ms: 75_000,
    });
    assert.deepEqual(
      summary.rows.map((r) => [r.label, r.statusText, r.error, r.focused]),
      [
        ["Email", "Done", "", false],
        ["card_number", "Done · hidden", "", false],
        ["zip", "Error", "Too short", true],
        ["notes", "Typing", "", false],
      ],
    );
    assert.equal(summary.completion, "50%");
    assert.equal(summary.focused, "zip");
    assert.equal(summary.stall, "1:15");
  });

  it("shows an empty panel, not NaN, for a page without a form or with bad numbers", () => {
    assert.deepEqual(formSummary({}), { rows: [], completion: "0%", focused: "—", stall: "—" });
    const odd = formSummary({ fields: "nope", completion: "80", stalled_ms: null, focused: "x" });
    assert.deepEqual(odd, { rows: [], completion: "0%", focused: "—", stall: "—" });
  });
});

describe("activity feed", () => {
  it("notes a page when the URL changes, not on every form update", () => {
    const pageChange = createPageTracker();
    assert.deepEqual(pageChange({ url: "https://shop.test/cart", title: "Cart" }), { kind: "page", text: "Page: Cart" });
    assert.equal(pageChange({ url: "https://shop.test/cart", title: "Cart (2)" }), null);
    assert.equal(pageChange({ title: "No URL" }), null);
    assert.deepEqual(pageChange({ url: "https://shop.test/pay" }), { kind: "page", text: "Page: https://shop.test/pay" });
  });

  it("says who came and who went, but not for the list the socket starts with", () => {
    const watchers = createWatchers();
    const first = watchers(
      [
        { name: "Ann", role: "agent" },
        { name: "Bo", role: "viewer" },
      ],
      false,
    );
    assert.deepEqual(first, { text: "Ann (agent), Bo (colleague)", lines: [] });
    const next = watchers(
      [
        { name: "Ann", role: "agent" },
        { name: "Cy", role: "team" },
      ],
      true,
    );
    assert.equal(next.text, "Ann (agent), Cy (customer's team)");
    assert.deepEqual(next.lines, [
      { kind: "participants", text: "Cy (customer's team) is watching" },
      { kind: "participants", text: "Bo (colleague) stopped watching" },
    ]);
    const nobody = watchers(null, true);
    assert.equal(nobody.text, "—");
    assert.deepEqual(
      nobody.lines.map((line) => line.text),
      ["Ann (agent) stopped watching", "Cy (customer's team) stopped watching"],
    );
  });

  it("has a line for each message the agent should read", () => {
    assert.deepEqual(feedLine("presence", { customer: "connected" }), { kind: "presence", text: "Customer connected" });
    assert.deepEqual(feedLine("mode", { mode: "guided" }, LABELS), { kind: "mode", text: "Mode is now Guidance" });
    assert.deepEqual(feedLine("mode", { mode: "later" }, LABELS), { kind: "mode", text: "Mode is now later" });
    assert.deepEqual(feedLine("signal", { kind: "rage_click", field: "zip", detail: "5 clicks" }), {
      kind: "signal",
      text: "Rage clicks (zip): 5 clicks",
    });
    assert.deepEqual(feedLine("signal", { kind: "new_kind" }), { kind: "signal", text: "new_kind" });
    assert.deepEqual(feedLine("control", { holder: "Ann" }), { kind: "control", text: "Ann now has control" });
    assert.deepEqual(feedLine("assist", {}), { kind: "assist", text: "Suggestion" });
    assert.deepEqual(feedLine("assist", { message: "Try the coupon field" }).text, "Try the coupon field");
  });

  it("files the customer's answer to a mode request as a decision, the rest as mode", () => {
    assert.deepEqual(feedLine("mode_request", { step: "asked_manager", mode: "full" }, LABELS), {
      kind: "mode",
      text: "Asked a manager to approve Full control",
    });
    assert.deepEqual(feedLine("mode_request", { step: "customer_allowed", mode: "full" }, LABELS), {
      kind: "decision",
      text: "The customer allowed Full control",
    });
    assert.equal(feedLine("mode_request", { step: "later", mode: "full" }, LABELS), null);
  });

  it("does not repeat a mode request's answer as a decision on an action", () => {
    assert.equal(feedLine("decision", { request_id: "mode:7", approved: true }), null);
    assert.deepEqual(feedLine("decision", { request_id: "act-1", approved: false }), {
      kind: "decision",
      text: "The customer denied the action",
    });
  });

  it("reports actions and errors as the server words them", () => {
    assert.deepEqual(feedLine("action_result", { ok: true }), { kind: "action", text: "Done on the customer's page: ok" });
    assert.deepEqual(feedLine("action_result", { ok: false, detail: "element gone" }), {
      kind: "error",
      text: "Not done: element gone",
    });
    assert.equal(feedLine("error", { code: "not_allowed", message: "view only" }).text, "Refused: view only");
    assert.equal(feedLine("error", { code: "rate_limited" }).text, "rate_limited");
    assert.equal(feedLine("error", {}).text, "Error");
  });

  it("says nothing itself for messages the page shows elsewhere or does not know", () => {
    for (const type of ["page", "participants", "welcome", "quality", "refused", "ended", "toString", "later"]) {
      assert.equal(feedLine(type, {}, LABELS), null, type);
    }
    assert.equal(feedLine("presence", null).kind, "presence");
  });
});

describe("the session's end and the agent's controls", () => {
  it("words the reason the session ended", () => {
    const reasons = { agent_ended: "The agent ended the session" };
    assert.equal(endReasonText("agent_ended", reasons), "The agent ended the session");
    assert.equal(endReasonText("customer_tab_closed", reasons), "customer tab closed");
    assert.equal(endReasonText(undefined, reasons), "");
    assert.deepEqual(endedLine("customer left"), { kind: "ended", text: "Session ended: customer left" });
    assert.deepEqual(endedLine(""), { kind: "ended", text: "Session ended" });
  });

  it("offers only modes above the current one, and none once the session ended", () => {
    assert.deepEqual(
      ORDER.map((m) => modeButtonDisabled(m, "guided", ORDER, false)),
      [true, true, false, false],
    );
    assert.deepEqual(
      ORDER.map((m) => modeButtonDisabled(m, "view_only", ORDER, true)),
      [true, true, true, true],
    );
  });

  it("explains a refused invitation with the server's own words", () => {
    assert.equal(inviteError(404, { detail: "No such user." }), "No such user.");
    assert.equal(inviteError(400, { username: ["Already watching."] }), "Already watching.");
    assert.equal(inviteError(502, {}), "502");
  });
});
