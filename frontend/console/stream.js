// Decides what the agent's replayer may apply. A replay can only start from a Meta event followed
// by a FullSnapshot; after a lost batch (a hole in the batch numbers the widget puts in a custom
// event at the head of each batch) or on a new page, everything waits for the next full snapshot
// and the console asks for one (`resync`).
import { isBatchMarker } from "../common/batch_marker.js";

const EVENT_META = 4;

export function createStreamTracker() {
  let pageId = null;
  let lastBatch = -1;
  let waitingForSnapshot = true;

  // data: an `rrweb` message's data. Returns {events, restart, needResync}: the rrweb events to
  // apply, whether they start a new replay, and whether a full snapshot must be requested.
  return function accept(data) {
    const received = Array.isArray(data.events) ? data.events : [];
    const marker = received.find(isBatchMarker);
    const events = received.filter((event) => !isBatchMarker(event));
    if (data.page_id !== pageId) {
      pageId = data.page_id;
      lastBatch = -1;
      waitingForSnapshot = true;
    }
    const batch = marker && marker.data.payload && marker.data.payload.batch;
    if (Number.isInteger(batch)) {
      if (batch <= lastBatch) return { events: [], restart: false, needResync: false };
      if (lastBatch >= 0 && batch !== lastBatch + 1) waitingForSnapshot = true;
      lastBatch = batch;
    }
    if (!waitingForSnapshot) return { events, restart: false, needResync: false };
    const metaAt = events.findIndex((event) => event.type === EVENT_META);
    if (metaAt < 0) return { events: [], restart: false, needResync: true };
    waitingForSnapshot = false;
    return { events: events.slice(metaAt), restart: true, needResync: false };
  };
}
