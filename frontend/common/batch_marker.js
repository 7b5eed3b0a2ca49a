// The custom rrweb event at the head of every rrweb batch: {type: 5, data: {tag, payload: {batch}}}.
// Batch numbers are contiguous per page load, so the agent's console can see a lost batch.
export const BATCH_TAG = "tandem/batch";
export const EVENT_CUSTOM = 5;

export function batchMarker(batch, timestamp) {
  return { type: EVENT_CUSTOM, timestamp, data: { tag: BATCH_TAG, payload: { batch } } };
}

export function isBatchMarker(event) {
  return Boolean(event && event.type === EVENT_CUSTOM && event.data && event.data.tag === BATCH_TAG);
}
