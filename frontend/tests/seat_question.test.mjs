import assert from "node:assert/strict";
import { it } from "node:test";
import { seatQuestion } from "../widget/seat/question.js";

it("asks whether to share this tab instead, naming the agent", () => {
  const words = seatQuestion("Priya");
  assert.equal(words.title, "Share this tab instead?");
  assert.match(words.prompt, /^Another tab is sharing with Priya\. .*The other tab stops sharing\.$/);
  assert.equal(words.allow, "Share this tab");
  assert.equal(words.deny, "Not now");
});

it("keeps a missing or long name within bounds", () => {
  assert.match(seatQuestion("").prompt, /sharing with your support agent\./);
  assert.ok(seatQuestion("N".repeat(500)).prompt.length < 200);
});
