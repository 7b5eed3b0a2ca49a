// The help triggers, decided from page events and a clock: pure (no DOM, no timers), so recorded
// event sequences replay in Node with a fake clock. Nothing here sends anything anywhere.
//
// Events (each with `at`, ms): focus/input {field, state}, blur {field}, error {field, error},
// click {target, state}, scroll {y}, key, exit {completion}. tick(at) checks the time-based ones.
// A trigger fires at most once per (trigger, field, field state): a field whose state changes
// (empty → filled, a new error) may fire again. At most `maxPrompts` fire per page.

export const DEFAULTS = {
  stall: { ms: 20000 },
  validation: { ms: 10000 },
  rage: { clicks: 3, windowMs: 1000 },
  scroll: { changes: 3, windowMs: 5000 },
  idle: { ms: 45000 },
  exit: { min: 30, max: 90 },
};
export const MAX_PROMPTS = 3;

// Site options ({stallThresholdMs, triggers: {name: {...} | false}, maxPrompts}) over the defaults;
// a trigger set to false is off (null here).
export function resolveConfig(options = {}) {
  const own = options.triggers || {};
  const config = {};
  for (const name of Object.keys(DEFAULTS)) {
    config[name] = own[name] === false ? null : { ...DEFAULTS[name], ...own[name] };
  }
  if (config.stall && options.stallThresholdMs && !(own.stall && own.stall.ms)) config.stall.ms = options.stallThresholdMs;
  config.maxPrompts = options.maxPrompts || MAX_PROMPTS;
  return config;
}

export function createTriggers(options = {}) {
  const config = resolveConfig(options);
  const fired = new Set();
  let count = 0;
  let focus = null; // {field, state, since}
  const errors = new Map(); // field -> {error, since}
  let clicks = []; // {target, at}
  let lastY = null;
  let direction = 0;
  let turns = []; // times of direction changes
  let lastActivity = null;

  function fire(trigger, field, state, extra = {}) {
    const key = `${trigger}|${field || ""}|${state || ""}`;
    if (fired.has(key) || count >= config.maxPrompts) return [];
    fired.add(key);
    count += 1;
    return [{ trigger, field: field || null, ...extra }];
  }

  function activity(at) {
    lastActivity = at;
  }

  const on = {
    focus(e) {
      focus = { field: e.field, state: e.state || "", since: e.at };
      activity(e.at);
      return [];
    },
    input(e) {
      if (focus && focus.field === e.field) focus = { field: e.field, state: e.state || "", since: e.at };
      activity(e.at);
      return [];
    },
    blur(e) {
      if (focus && focus.field === e.field) focus = null;
      return [];
    },
    error(e) {
      const known = errors.get(e.field);
      if (!e.error) errors.delete(e.field);
      else if (!known || known.error !== e.error) errors.set(e.field, { error: e.error, since: e.at });
      return [];
    },
    key(e) {
      activity(e.at);
      return [];
    },
    click(e) {
      activity(e.at);
      const rage = config.rage;
      if (!rage) return [];
      clicks = clicks.filter((c) => c.target === e.target && e.at - c.at <= rage.windowMs);
      clicks.push({ target: e.target, at: e.at });
      if (clicks.length < rage.clicks) return [];
      clicks = [];
      return fire("rage", e.target, e.state);
    },
    scroll(e) {
      activity(e.at);
      const thrash = config.scroll;
      if (lastY === null || !thrash) {
        lastY = e.y;
        return [];
      }
      const now = Math.sign(e.y - lastY);
      lastY = e.y;
      if (!now) return [];
      if (direction && now !== direction) turns.push(e.at);
      direction = now;
      turns = turns.filter((t) => e.at - t <= thrash.windowMs);
      if (turns.length <= thrash.changes) return [];
      turns = [];
      return fire("scroll", null, "");
    },
    exit(e) {
      const gate = config.exit;
      const pct = Math.round(e.completion);
      if (!gate || !(pct >= gate.min && pct <= gate.max)) return [];
      return fire("exit", null, "", { completion: pct });
    },
  };

  return {
    config,
    // One page event; returns the triggers it fires (usually none).
    handle(event) {
      if (lastActivity === null) lastActivity = event.at;
      const handler = on[event.type];
      return handler ? handler(event) : [];
    },
    // The time-based triggers at `at` (call it every second or so).
    tick(at) {
      if (lastActivity === null) lastActivity = at;
      const out = [];
      if (config.stall && focus && at - focus.since >= config.stall.ms) {
        out.push(...fire("stall", focus.field, focus.state));
      }
      if (config.validation) {
        for (const [field, { error, since }] of errors) {
          if (at - since >= config.validation.ms) out.push(...fire("validation", field, error, { error }));
        }
      }
      if (config.idle && at - lastActivity >= config.idle.ms) out.push(...fire("idle", null, ""));
      return out;
    },
  };
}
