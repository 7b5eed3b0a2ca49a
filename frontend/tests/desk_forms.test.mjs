import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { confirmBeforeSubmit, selectOnFocus } from "../desk/forms.js";

function submitEvent(target) {
  return {
    target,
    prevented: false,
    preventDefault() {
      this.prevented = true;
    },
  };
}

const form = (dataset) => ({ tagName: "FORM", dataset });

describe("data-confirm", () => {
  it("asks the form's question and stops the submit when declined", () => {
    const asked = [];
    const declined = submitEvent(form({ confirm: "Delete this recording?" }));
    confirmBeforeSubmit(declined, (q) => asked.push(q) && false);
    assert.deepEqual(asked, ["Delete this recording?"]);
    assert.equal(declined.prevented, true);

    const accepted = submitEvent(form({ confirm: "Delete this recording?" }));
    confirmBeforeSubmit(accepted, () => true);
    assert.equal(accepted.prevented, false);
  });

  it("never asks for forms without a question", () => {
    const event = submitEvent(form({}));
    confirmBeforeSubmit(event, () => assert.fail("asked"));
    assert.equal(event.prevented, false);
    confirmBeforeSubmit(submitEvent({ tagName: "DIV", dataset: { confirm: "?" } }), () => assert.fail("asked"));
    confirmBeforeSubmit(submitEvent(null), () => assert.fail("asked"));
  });
});

describe("data-select-on-focus", () => {
  const input = (marked) => {
    const el = { tagName: "INPUT", selected: 0, hasAttribute: (name) => marked && name === "data-select-on-focus" };
    el.select = () => el.selected++;
    return el;
  };

  it("selects the text of marked inputs only", () => {
    const marked = input(true);
    const plain = input(false);
    selectOnFocus({ target: marked });
    selectOnFocus({ target: plain });
    selectOnFocus({ target: { tagName: "TEXTAREA", hasAttribute: () => true, select: () => assert.fail("selected") } });
    assert.equal(marked.selected, 1);
    assert.equal(plain.selected, 0);
  });
});
