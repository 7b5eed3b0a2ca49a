import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toPagePoint } from "../console/targeting.js";
import { POINTER_INTERVAL_MS, createThrottle } from "../console/throttle.js";
import { refusalReason } from "../widget/guide/rules.js";
import {
  actionDoneText,
  actionRequestText,
  describeTarget,
  modeRequestText,
} from "../widget/guide/text.js";

const field = (extra = {}) => ({ found: true, tag: "input", type: "text", autocomplete: "", ...extra });

describe("prompt text", () => {
  it("names the agent and the mode asked for", () => {
    assert.equal(modeRequestText("Priya", "guided"), "Agent Priya asks for guidance");
    assert.equal(modeRequestText("Priya", "controlled"), "Agent Priya asks for control");
    assert.equal(modeRequestText("Priya", "full"), "Agent Priya asks for full control");
  });

  it("says what the action does to which element", () => {
    assert.equal(actionRequestText("Priya", "type", "Full name", "Ada"), "Agent Priya wants to type into 'Full name': Ada");
    assert.equal(actionRequestText("Priya", "click", "Next step"), "Agent Priya wants to click 'Next step'");
    assert.equal(actionRequestText("Priya", "select", "City", "Pune"), "Agent Priya wants to choose 'Pune' in 'City'");
    assert.match(actionRequestText("Priya", "autofill", "Email", "a@b.c"), /fill in 'Email' with: a@b.c$/);
    assert.equal(actionDoneText("Priya", "type", "Full name"), "Agent Priya typed into 'Full name'");
  });

  it("clips long values and falls back through the element's names", () => {
    const text = actionRequestText("Priya", "type", "Notes", "x".repeat(500));
    assert.ok(text.length < 120 && text.endsWith("…"));
    assert.equal(describeTarget({ label: "  Full\n name " }), "Full name");
    assert.equal(describeTarget({ ariaLabel: "Search" }), "Search");
    assert.equal(describeTarget({ name: "email" }), "email");
    assert.equal(describeTarget({}), "this element");
  });
});

describe("the widget's own refusals", () => {
  it("lets ordinary typing, selecting and clicking through", () => {
    assert.equal(refusalReason("type", field(), "Ada"), "");
    assert.equal(refusalReason("autofill", field({ tag: "textarea", type: "" }), "x"), "");
    assert.equal(refusalReason("select", field({ tag: "select", type: "" }), "Pune"), "");
    assert.equal(refusalReason("click", field({ tag: "a", type: "" })), "");
  });

  it("never submits, never leaves the site, never touches secrets", () => {
    assert.match(refusalReason("click", field({ tag: "button", submits: true })), /submitting a form/);
    assert.match(refusalReason("click", field({ tag: "a", crossOrigin: true })), /another site/);
    assert.match(refusalReason("type", field({ type: "password" }), "x"), /password fields/);
    assert.match(refusalReason("click", field({ type: "file" })), /file fields/);
    assert.match(refusalReason("type", field({ masked: true }), "x"), /masked/);
    assert.match(refusalReason("type", field({ blocked: true }), "x"), /masked/);
    assert.match(refusalReason("type", field({ autocomplete: "cc-number" }), "x"), /payment/);
    assert.match(refusalReason("type", field({ autocomplete: "one-time-code" }), "x"), /one-time-code/);
    assert.match(refusalReason("type", field(), "a\nb"), /Enter/);
  });

  it("refuses elements of another page and the wrong kind of element", () => {
    assert.match(refusalReason("click", { found: false }), /not on the customer's current page/);
    assert.match(refusalReason("type", field({ type: "checkbox" }), "x"), /only text fields/);
    assert.match(refusalReason("select", field(), "x"), /only drop-down lists/);
    assert.match(refusalReason("type", field({ disabled: true }), "x"), /disabled/);
  });
});

describe("pointer throttle", () => {
  function fakeClock() {
    let t = 0;
    const timers = [];
    return {
      now: () => t,
      schedule: (fn, ms) => timers.push({ at: t + ms, fn }) && timers.length,
      cancel: () => timers.splice(0),
      advance(ms) {
        t += ms;
        const due = timers.filter((x) => x.at <= t);
        timers.splice(0, timers.length, ...timers.filter((x) => x.at > t));
        for (const timer of due) timer.fn();
      },
    };
  }

  it("sends at most 30 a second and always ends on the latest position", () => {
    const clock = fakeClock();
    const sent = [];
    const move = createThrottle((x, y) => sent.push([x, y]), POINTER_INTERVAL_MS, clock);
    for (let i = 0; i < 1000; i++) {
      move(i, i);
      clock.advance(1);
    }
    clock.advance(100);
    assert.ok(sent.length <= 31, `${sent.length} messages in ~1 s`);
    assert.ok(sent.length >= 25);
    assert.deepEqual(sent.at(-1), [999, 999]);
    assert.deepEqual(sent[0], [0, 0]);
  });
});

describe("replay coordinates", () => {
  it("undoes the replay's scale and adds the customer's scroll", () => {
    const rect = { left: 100, top: 50, width: 640, height: 400 };
    const point = toPagePoint({ clientX: 420, clientY: 250, rect, layoutWidth: 1280, scrollX: 0, scrollY: 300 });
    assert.equal(point.scale, 0.5);
    assert.equal(point.x, 640);
    assert.equal(point.y, 400);
    assert.equal(point.pageY, 700);
  });
});
