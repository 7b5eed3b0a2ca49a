// Decides what the agent's replayer may apply. A replay can only start from a Meta event followed
// by a FullSnapshot; after a lost batch (a hole in `batch`) or a new page, everything waits for the
// next full snapshot and the console asks for one (`resync`).

const EVENT_META = 4;

export function createStreamTracker() {
  let pageId = null;
  let lastBatch = -1;
  let waitingForSnapshot = true;

  // data: an `rrweb` message's data. Returns {events, restart, needResync}: the events to apply,
  // whether they start a new replay, and whether a full snapshot must be requested.
  return function accept(data) {
    const events = Array.isArray(data.events) ? data.events : [];
    if (data.page_id !== pageId) {
      pageId = data.page_id;
      lastBatch = -1;
      waitingForSnapshot = true;
    }
    if (Number.isInteger(data.batch)) {
      if (data.batch <= lastBatch) return { events: [], restart: false, needResync: false };
      if (lastBatch >= 0 && data.batch !== lastBatch + 1) waitingForSnapshot = true;
      lastBatch = data.batch;
    }
    if (!waitingForSnapshot) return { events, restart: false, needResync: false };
    const metaAt = events.findIndex((event) => event.type === EVENT_META);
    if (metaAt < 0) return { events: [], restart: false, needResync: true };
    waitingForSnapshot = false;
    return { events: events.slice(metaAt), restart: true, needResync: false };
  };
}
