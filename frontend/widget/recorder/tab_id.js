// The tab id sent in hello: one tab shares a session at a time (docs/relay.md, "One tab shares").
// It lives in sessionStorage, so every page of the tab keeps it. The browser copies sessionStorage
// into a duplicated tab or one opened from the page, so a stored id is checked at each load: the page
// asks on a BroadcastChannel whether a live page has its id. The earlier page of the same tab is gone
// by then, and a page stops answering once hidden for good (pagehide), so only another tab answers;
// the page then takes a fresh id. Of two copies asking at once, one hears the other's question and
// takes a fresh id. Without
// BroadcastChannel (or storage) the stored id, or a fresh one, is used as is.
export const TAB_KEY = "tandem.tab";

// storage: a function returning the tab's sessionStorage (reading it throws where storage is disabled).
export function claimTabId({ storage, channel, newId, waitMs = 150, onHide = () => {} }) {
  let id = null;
  try {
    id = storage().getItem(TAB_KEY);
  } catch {
    // Storage disabled: this page is a tab of its own.
  }
  let copied = false;
  let settled = false;
  if (channel) {
    channel.onmessage = ({ data }) => {
      if (!data || data.id !== id) return;
      if (settled && data.ask) channel.postMessage({ id });
      else if (!settled) copied = true;
    };
    onHide(() => channel.close());
  }
  return new Promise((resolve) => {
    const done = () => {
      if (!id || copied) id = newId();
      settled = true;
      try {
        storage().setItem(TAB_KEY, id);
      } catch {
        // as above
      }
      resolve(id);
    };
    if (!id || !channel) return done();
    channel.postMessage({ id, ask: 1 });
    setTimeout(done, waitMs);
  });
}
