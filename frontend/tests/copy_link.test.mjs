import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { copyOutcome, copyValue } from "../desk/copy.js";

const INPUT = { value: "https://desk.test/j/abc/" };

function clipboard(fail = false) {
  const written = [];
  return {
    written,
    async writeText(text) {
      if (fail) throw new Error("NotAllowedError");
      written.push(text);
    },
  };
}

describe("copying the invitation link", () => {
  it("uses the clipboard API in a secure context", async () => {
    const board = clipboard();
    const copied = await copyValue(INPUT, { clipboard: board, secure: true, legacyCopy: () => assert.fail("legacy") });
    assert.equal(copied, true);
    assert.deepEqual(board.written, [INPUT.value]);
  });

  it("falls back to execCommand without a secure context or when the clipboard refuses", async () => {
    const used = [];
    const legacyCopy = (input) => used.push(input) > 0;
    assert.equal(await copyValue(INPUT, { clipboard: clipboard(), secure: false, legacyCopy }), true);
    assert.equal(await copyValue(INPUT, { clipboard: clipboard(true), secure: true, legacyCopy }), true);
    assert.equal(await copyValue(INPUT, { clipboard: undefined, secure: true, legacyCopy }), true);
    assert.equal(used.length, 3);
  });

  it("reports failure when nothing could copy", async () => {
    assert.equal(await copyValue(INPUT, { clipboard: undefined, secure: false, legacyCopy: () => undefined }), false);
    const throws = () => {
      throw new Error("blocked");
    };
    await assert.rejects(copyValue(INPUT, { clipboard: clipboard(true), secure: true, legacyCopy: throws }), /blocked/);
  });

  it("says what happened: copied, or how to copy the selected link by hand", () => {
    assert.deepEqual(copyOutcome(true, "Copié"), { label: "Copié", status: "Link copied to the clipboard." });
    assert.equal(copyOutcome(true, undefined).label, "Copied");
    assert.deepEqual(copyOutcome(false, "Copied"), {
      label: null,
      status: "Press Ctrl+C (or ⌘C) to copy the selected link.",
    });
  });
});
