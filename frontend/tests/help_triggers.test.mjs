// The help triggers (frontend/widget/triggers/rules.js) replayed from recorded page-event sequences
// on a fake clock: each fires once, at its threshold and not before; exit intent only 30–90 %.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULTS, createTriggers, resolveConfig } from "../widget/triggers/rules.js";
import { promptText } from "../widget/triggers/text.js";

// Replays [{at, type, ...}] (type "tick" checks the clock) and returns every trigger fired, with its time.
function replay(events, options) {
  const engine = createTriggers(options);
  const fired = [];
  for (const e of events) {
    const hits = e.type === "tick" ? engine.tick(e.at) : engine.handle(e);
    for (const hit of hits) fired.push({ at: e.at, ...hit });
  }
  return fired;
}
const ticks = (from, to, step = 250) => Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => ({ type: "tick", at: from + i * step }));
const kinds = (fired) => fired.map((f) => f.trigger);

describe("stall on a field", () => {
  it("fires once at 20 s without input, not before", () => {
    const focus = { at: 1000, type: "focus", field: "pin", state: "empty" };
    assert.deepEqual(replay([focus, ...ticks(1000, 20999)]), []);
    const fired = replay([focus, ...ticks(1000, 60000)], { triggers: { idle: false } });
    assert.deepEqual(fired, [{ at: 21000, trigger: "stall", field: "pin" }]);
  });

  it("input restarts the wait; a field whose state changes may fire again", () => {
    const events = [
      { at: 0, type: "focus", field: "pin", state: "empty" },
      { at: 15000, type: "input", field: "pin", state: "filled" },
      ...ticks(15000, 40000),
      { at: 40000, type: "input", field: "pin", state: "filled" },
      ...ticks(40000, 70000),
      { at: 70000, type: "input", field: "pin", state: "empty" },
      ...ticks(70000, 95000),
    ];
    const fired = replay(events, { triggers: { idle: false } });
    assert.deepEqual(
      fired.map((f) => [f.at, f.field]),
      [
        [35000, "pin"], // filled: once
        [90000, "pin"], // emptied again: a new state
      ],
    );
  });

  it("does not fire again for a field after dismissal (same state), nor once blurred", () => {
    const events = [
      { at: 0, type: "focus", field: "pin", state: "empty" },
      ...ticks(0, 25000),
      { at: 25000, type: "blur", field: "pin" },
      { at: 26000, type: "focus", field: "pin", state: "empty" },
      ...ticks(26000, 60000),
      { at: 60000, type: "blur", field: "pin" },
      ...ticks(60000, 90000),
    ];
    assert.deepEqual(kinds(replay(events, { triggers: { idle: false } })), ["stall"]);
  });

  it("follows the site's stallThresholdMs, and triggers.stall.ms over it", () => {
    const events = [{ at: 0, type: "focus", field: "a", state: "empty" }, ...ticks(0, 5000, 100)];
    assert.equal(replay(events, { stallThresholdMs: 1500 })[0].at, 1500);
    assert.equal(replay(events, { stallThresholdMs: 1500, triggers: { stall: { ms: 3000 } } })[0].at, 3000);
    assert.deepEqual(replay(events, { stallThresholdMs: 1500, triggers: { stall: false } }), []);
  });
});

describe("validation error that persists", () => {
  it("fires at 10 s of the same error, once; a new error may fire again", () => {
    const events = [
      { at: 0, type: "error", field: "email", error: "Enter a complete e-mail address" },
      ...ticks(0, 9999),
      { at: 10000, type: "tick" },
      ...ticks(10000, 20000),
      { at: 20000, type: "error", field: "email", error: "" },
      { at: 21000, type: "error", field: "email", error: "Enter a complete e-mail address" },
      ...ticks(21000, 30000),
      { at: 30000, type: "error", field: "email", error: "This address is taken" },
      ...ticks(30000, 40000),
    ];
    const fired = replay(events, { triggers: { idle: false } });
    assert.deepEqual(
      fired.map((f) => [f.at, f.trigger, f.error]),
      [
        [10000, "validation", "Enter a complete e-mail address"],
        [40000, "validation", "This address is taken"],
      ],
    );
  });

  it("an error corrected in time never fires", () => {
    const events = [{ at: 0, type: "error", field: "e", error: "Bad" }, ...ticks(0, 9000), { at: 9500, type: "error", field: "e", error: "" }, ...ticks(9500, 30000)];
    assert.deepEqual(replay(events, { triggers: { idle: false } }), []);
  });
});

describe("rage click", () => {
  it("fires on the third click on one element within 1 s", () => {
    const click = (at, target = "submit") => ({ at, type: "click", target, state: "" });
    assert.deepEqual(replay([click(0), click(400), click(1100)]), []); // the first is older than 1 s
    assert.deepEqual(replay([click(0), click(300, "other"), click(600)]), []); // another element between
    const fired = replay([click(0), click(400), click(900), click(1000), click(1100), click(1200)]);
    assert.deepEqual(fired, [{ at: 900, trigger: "rage", field: "submit" }]);
  });
});

describe("scroll thrash", () => {
  it("fires on the fourth direction change within 5 s, not the third", () => {
    const ys = [0, 500, 100, 600, 200]; // down, up, down, up: 3 changes
    const events = ys.map((y, i) => ({ at: i * 1000, type: "scroll", y }));
    assert.deepEqual(replay(events), []);
    const fired = replay([...events, { at: 4500, type: "scroll", y: 800 }]);
    assert.deepEqual(fired, [{ at: 4500, trigger: "scroll", field: null }]);
  });

  it("changes spread over more than 5 s do not count", () => {
    const events = [0, 500, 100, 600, 200, 700].map((y, i) => ({ at: i * 2000, type: "scroll", y }));
    assert.deepEqual(replay(events), []);
  });
});

describe("idle", () => {
  it("fires at 45 s without scroll, click or key, once", () => {
    const events = [{ at: 0, type: "key" }, ...ticks(0, 44999), { at: 45000, type: "tick" }, ...ticks(45000, 200000, 1000)];
    assert.deepEqual(replay(events), [{ at: 45000, trigger: "idle", field: null }]);
  });

  it("a click restarts the wait", () => {
    const events = [{ at: 0, type: "key" }, ...ticks(0, 40000), { at: 40000, type: "click", target: "x" }, ...ticks(40000, 84999)];
    assert.deepEqual(replay(events), []);
  });
});

describe("exit intent", () => {
  it("fires only with completion between 30 % and 90 %", () => {
    for (const [completion, fires] of [[0, false], [29, false], [30, true], [60, true], [90, true], [91, false], [100, false]]) {
      const fired = replay([{ at: 0, type: "exit", completion }]);
      assert.equal(fired.length, fires ? 1 : 0, `${completion} %`);
    }
    assert.deepEqual(replay([{ at: 0, type: "exit", completion: 60 }]), [{ at: 0, trigger: "exit", field: null, completion: 60 }]);
  });

  it("fires once per page and says how far the form is", () => {
    const fired = replay([40, 50, 60].map((completion, i) => ({ at: i, type: "exit", completion })));
    assert.equal(fired.length, 1);
    assert.equal(promptText(fired[0]), "You're 40 % through — want help finishing?");
  });
});

describe("per page", () => {
  it("at most 3 prompts a page by default (maxPrompts to change)", () => {
    const events = [
      { at: 0, type: "exit", completion: 50 },
      ...["a", "b", "c", "d"].flatMap((target, i) => [0, 100, 200].map((d) => ({ at: 1000 * (i + 1) + d, type: "click", target }))),
    ];
    assert.equal(replay(events).length, 3);
    assert.equal(replay(events, { maxPrompts: 5 }).length, 5);
  });

  it("has the documented defaults", () => {
    assert.deepEqual(DEFAULTS.stall, { ms: 20000 });
    assert.deepEqual(DEFAULTS.exit, { min: 30, max: 90 });
    const config = resolveConfig({ triggers: { rage: { clicks: 4 }, idle: false } });
    assert.deepEqual(config.rage, { clicks: 4, windowMs: 1000 });
    assert.equal(config.idle, null);
  });

  it("every trigger has its own words", () => {
    for (const trigger of Object.keys(DEFAULTS)) assert.notEqual(promptText({ trigger, completion: 50 }), "Need a hand?");
    assert.equal(promptText({ trigger: "stall" }), "Need help with this field?");
  });
});
