// Large messages (a full snapshot of a big page) travel as `part` frames: the JSON text of the
// whole envelope cut into bodies of at most PART_BODY_MAX characters, reassembled by the receiver.
// The server does the same towards the agent (cobrowse/protocol/messages.py keeps the same numbers).
export const PART_BODY_MAX = 128 * 1024;
const MAX_PARTS = 64;

// Returns the text frames to send for one envelope: itself, or its parts.
export function framesFor(message, bodyMax = PART_BODY_MAX) {
  const text = JSON.stringify(message);
  if (text.length <= bodyMax) return [text];
  const count = Math.ceil(text.length / bodyMax);
  if (count > MAX_PARTS) throw new Error(`message too large (${count} parts)`);
  const id = Math.random().toString(36).slice(2, 12);
  const frames = [];
  for (let index = 0; index < count; index++) {
    const body = text.slice(index * bodyMax, (index + 1) * bodyMax);
    frames.push(JSON.stringify({ type: "part", seq: message.seq, ts: message.ts, data: { id, index, count, body } }));
  }
  return frames;
}

// One message at a time, parts in order; anything else drops the unfinished message.
export function createAssembler() {
  let id = null;
  let bodies = [];
  return {
    add(data) {
      if (data.index === 0) {
        id = data.id;
        bodies = [];
      } else if (data.id !== id || data.index !== bodies.length) {
        id = null;
        bodies = [];
        return null;
      }
      bodies.push(String(data.body));
      if (bodies.length < data.count) return null;
      const text = bodies.join("");
      id = null;
      bodies = [];
      return text;
    },
  };
}
