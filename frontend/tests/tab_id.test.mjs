import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TAB_KEY, claimTabId } from "../widget/recorder/tab_id.js";

// sessionStorage as the browser keeps it per tab; a duplicated tab starts with a copy.
function storage(entries = {}) {
  const map = new Map(Object.entries(entries));
  return {
    getItem: (key) => (map.has(key) ? map.get(key) : null),
    setItem: (key, value) => map.set(key, String(value)),
    copy: () => storage(Object.fromEntries(map)),
  };
}

// claimTabId reads sessionStorage through a function (reading it throws where storage is off).
const of = (tab) => () => tab;
let serial = 0;
const newId = () => `tab-${String(++serial).padStart(8, "0")}`;
const channels = [];
function channel() {
  const c = new BroadcastChannel("tandem.tabs.test");
  channels.push(c);
  return c;
}
const closeAll = () => channels.splice(0).forEach((c) => c.close());

describe("the tab id", () => {
  it("is made once and kept by the next page of the same tab", async () => {
    const tab = storage();
    const first = await claimTabId({ storage: () => tab, channel: channel(), newId, waitMs: 30 });
    assert.match(first, /^[A-Za-z0-9_-]{8,64}$/);
    assert.equal(tab.getItem(TAB_KEY), first);
    closeAll(); // the first page is gone (pagehide)
    assert.equal(await claimTabId({ storage: () => tab, channel: channel(), newId, waitMs: 30 }), first);
    closeAll();
  });

  it("is fresh in a duplicated tab while the original page is alive", async () => {
    const original = storage();
    const id = await claimTabId({ storage: () => original, channel: channel(), newId, waitMs: 30 });
    const duplicate = original.copy();
    assert.equal(duplicate.getItem(TAB_KEY), id); // the browser copied it
    const copyId = await claimTabId({ storage: () => duplicate, channel: channel(), newId, waitMs: 100 });
    assert.notEqual(copyId, id);
    assert.equal(duplicate.getItem(TAB_KEY), copyId);
    assert.equal(original.getItem(TAB_KEY), id);
    // A duplicate of the duplicate is told apart the same way.
    const third = await claimTabId({ storage: of(duplicate.copy()), channel: channel(), newId, waitMs: 100 });
    assert.notEqual(third, copyId);
    assert.notEqual(third, id);
    closeAll();
  });

  it("differs between two copies loading at once", async () => {
    const tab = storage({ [TAB_KEY]: "tab-restored" });
    const [a, b] = await Promise.all([
      claimTabId({ storage: of(tab.copy()), channel: channel(), newId, waitMs: 60 }),
      claimTabId({ storage: of(tab.copy()), channel: channel(), newId, waitMs: 60 }),
    ]);
    assert.notEqual(a, b); // whichever heard the other's question took a fresh one
    closeAll();
  });

  it("stops answering once its page is hidden for good", async () => {
    let hide = null;
    const tab = storage();
    const id = await claimTabId({ storage: () => tab, channel: channel(), newId, waitMs: 30, onHide: (f) => (hide = f) });
    hide();
    assert.equal(await claimTabId({ storage: of(tab.copy()), channel: channel(), newId, waitMs: 60 }), id);
    closeAll();
  });

  it("works without BroadcastChannel or storage", async () => {
    const broken = { getItem: () => { throw new Error("denied"); }, setItem: () => { throw new Error("denied"); } };
    assert.match(await claimTabId({ storage: () => broken, channel: null, newId }), /^tab-/);
    const tab = storage({ [TAB_KEY]: "tab-kept-here" });
    assert.equal(await claimTabId({ storage: () => tab, channel: null, newId }), "tab-kept-here");
  });
});
