// The ranged replay's loader: the small index first (each chunk's time range and size), then single
// chunks, each decrypted and verified on the server. The index opening is the audited view; its
// opening token goes with every chunk request so that chunks are not audited again.

export function chunkUrl(template, index, opening) {
  // The template is the URL of chunk 0 ("…/chunks/0/"): the number replaces its last segment.
  const base = template.replace(/0\/$/, `${index}/`);
  return opening ? `${base}?opening=${encodeURIComponent(opening)}` : base;
}

// Index of the chunk holding offset ``t``: the last one starting at or before it.
export function chunkAt(chunks, t) {
  let lo = 0;
  let hi = chunks.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (chunks[mid].from <= t) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

export function createChunkSource(config, fetchImpl = (...args) => fetch(...args)) {
  const pending = new Map();
  let opening = "";
  const get = (url) =>
    fetchImpl(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then((res) => {
      if (!res.ok && res.status !== 410) throw new Error(`HTTP ${res.status}`);
      return res.json();
    });
  return {
    async open() {
      const index = await get(config.indexUrl);
      opening = index.opening || "";
      return index;
    },
    // One chunk's {index, final, events, status}; a second call for the same chunk shares the first.
    load(index) {
      if (!pending.has(index)) {
        const p = get(chunkUrl(config.chunkUrl, index, opening));
        p.catch(() => pending.delete(index)); // a failed fetch may be tried again
        pending.set(index, p);
      }
      return pending.get(index);
    },
    forget(index) {
      pending.delete(index);
    },
  };
}

// Every chunk in order, a few requests at a time: what the rrweb replay needs (each DOM event
// depends on all before it). Stops at a chunk that failed verification and says which.
export async function loadAll(source, chunks, parallel = 6) {
  const results = new Array(chunks.length);
  let next = 0;
  async function worker() {
    while (next < chunks.length) {
      const position = next++;
      results[position] = await source.load(chunks[position].index);
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, chunks.length) }, worker));
  const events = [];
  for (const r of results) {
    if (!r || !Array.isArray(r.events)) return { chunks: events, failed: r ? r.status : null };
    events.push(r.events);
  }
  return { chunks: events, failed: null };
}
