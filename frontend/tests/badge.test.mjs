import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { watchingText } from "../widget/recorder/badge.js";

// The participants payload as the server sends it: {"watching": [{name, role}, ...]}, the people
// whose sockets are connected (presence), never a seat reserved for someone who has not joined.
const payload = (watching) => JSON.parse(JSON.stringify({ watching }));

describe("the badge's watching line", () => {
  it("waits for the agent until someone is connected", () => {
    assert.equal(watchingText(payload([]).watching, "Lena Fischer"), "Waiting for Lena Fischer to join");
    assert.equal(watchingText(undefined, ""), "Waiting for your support agent to join");
  });

  it("names who is connected once the participants payload says so", () => {
    const { watching } = payload([{ name: "Lena Fischer", role: "agent" }]);
    assert.equal(watchingText(watching, "Lena Fischer"), "Watching: Lena Fischer");
  });

  it("marks the customer's own team and waits again when everyone left", () => {
    const both = payload([
      { name: "Lena Fischer", role: "agent" },
      { name: "Dana Lee", role: "team" },
    ]);
    assert.equal(watchingText(both.watching, "Lena Fischer"), "Watching: Lena Fischer, Dana Lee (your team)");
    assert.equal(watchingText(payload([]).watching, "Lena Fischer"), "Waiting for Lena Fischer to join");
  });

  it("keeps names short and the list bounded", () => {
    const many = Array.from({ length: 8 }, (_, i) => ({ name: `${"N".repeat(60)}${i}`, role: "viewer" }));
    const text = watchingText(many, "Lena");
    assert.equal(text.split(", ").length, 5);
    assert.ok(!text.includes("N".repeat(41)));
  });
});
