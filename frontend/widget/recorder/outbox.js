// The customer's outgoing stream. Stream messages (rrweb batches, page context, signals) are
// numbered 0, 1, 2… per page load and kept until the server acknowledges them, so a reconnect can
// resend exactly what the server lacks; the server checks them for duplicates and gaps.
// Out-of-band messages (hello, pong, stop, decision) belong to the moment they are sent: they are
// not numbered in the stream, not kept, and carry the latest stream seq (never below 0).
//
// The agent only sees the rrweb part of the stream, so each rrweb batch starts with a batch marker
// (common/batch_marker.js); the server relays rrweb events whole.
import { batchMarker } from "../../common/batch_marker.js";

const EVENT_FULL_SNAPSHOT = 2;

export class Outbox {
  // Unacknowledged messages are kept up to maxPending of them and maxPendingChars of JSON (a page
  // offline for long, or a large page, must not grow the tab's memory without end); beyond either,
  // the oldest go and the next welcome asks for a full snapshot instead.
  constructor({
    transmit,
    pageId,
    maxEvents = 64,
    maxDelayMs = 100,
    maxPending = 500,
    maxPendingChars = 2000000,
    now = Date.now,
  }) {
    this.transmit = transmit;
    this.pageId = pageId;
    this.maxEvents = maxEvents;
    this.maxDelayMs = maxDelayMs;
    this.maxPending = maxPending;
    this.maxPendingChars = maxPendingChars;
    this.pendingChars = 0;
    this.now = now;
    this.nextSeq = 0;
    this.nextBatch = 0;
    this.lastAckedSeq = -1;
    this.pending = [];
    this.pendingSizes = []; // the JSON length of each pending message's data
    this.events = [];
    this.flushTimer = null;
    this.online = false;
    this.historyLost = false;
  }

  // rrweb events leave in batches: at most maxEvents (the batch marker included), at most
  // maxDelayMs after the first one.
  // A full snapshot travels in a batch of its own: it can be large (the server caps frames).
  addEvent(event) {
    const isFullSnapshot = event.type === EVENT_FULL_SNAPSHOT;
    if (isFullSnapshot) this.flush();
    this.events.push(event);
    if (isFullSnapshot) this.flush();
    if (this.events.length >= this.maxEvents - 1) this.flush();
    else if (this.flushTimer === null) this.flushTimer = setTimeout(() => this.flush(), this.maxDelayMs);
  }

  flush() {
    clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (!this.events.length) return;
    const events = [batchMarker(this.nextBatch++, this.now()), ...this.events];
    this.events = [];
    this.send("rrweb", { events, page_id: this.pageId });
  }

  // A numbered stream message; rrweb events buffered before it go first.
  send(type, data) {
    if (type !== "rrweb") this.flush();
    const message = { type, seq: this.nextSeq++, ts: this.now(), data };
    const chars = JSON.stringify(data).length;
    this.pending.push(message);
    this.pendingSizes.push(chars);
    this.pendingChars += chars;
    while (
      this.pending.length > this.maxPending ||
      (this.pendingChars > this.maxPendingChars && this.pending.length > 1)
    ) {
      this.dropOldest();
      this.historyLost = true;
    }
    if (this.online) this.transmit(message);
    return message.seq;
  }

  sendOutOfBand(type, data) {
    this.flush();
    return this.transmit({ type, seq: Math.max(0, this.nextSeq - 1), ts: this.now(), data });
  }

  acknowledge(seq) {
    if (seq > this.lastAckedSeq) this.lastAckedSeq = Math.min(seq, this.nextSeq - 1);
    while (this.pending.length && this.pending[0].seq <= seq) this.dropOldest();
  }

  dropOldest() {
    this.pending.shift();
    this.pendingChars -= this.pendingSizes.shift();
  }

  // After the server's welcome: resend everything after last_seq. Returns true when the server is
  // missing messages that are no longer kept, so the caller must send a fresh full snapshot.
  resume(lastSeq) {
    this.acknowledge(lastSeq);
    const firstKept = this.pending.length ? this.pending[0].seq : this.nextSeq;
    const missing = this.historyLost || lastSeq < firstKept - 1;
    this.historyLost = false;
    this.online = true;
    for (const message of this.pending) this.transmit(message);
    return missing;
  }

  pause() {
    this.online = false;
  }

  close() {
    this.pause();
    clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.events = [];
    this.pending = [];
    this.pendingSizes = [];
    this.pendingChars = 0;
  }
}
