// At most one call per interval, keeping the latest arguments: the first call goes at once, later
// ones within the interval collapse into one trailing call. Used for the agent's pointer, which
// the mouse moves far more often than the customer's page needs to hear (≤ 30 messages a second).

export function createThrottle(fn, intervalMs, { now = () => Date.now(), schedule = setTimeout, cancel = clearTimeout } = {}) {
  let last = -Infinity;
  let timer = null;
  let pending = null;

  function flush() {
    timer = null;
    last = now();
    const args = pending;
    pending = null;
    fn(...args);
  }

  function throttled(...args) {
    pending = args;
    const wait = last + intervalMs - now();
    if (wait <= 0 && timer === null) flush();
    else if (timer === null) timer = schedule(flush, wait);
  }

  throttled.cancel = () => {
    if (timer !== null) cancel(timer);
    timer = null;
    pending = null;
  };
  return throttled;
}

export const POINTER_INTERVAL_MS = Math.ceil(1000 / 30);
