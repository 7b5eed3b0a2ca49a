// Loads tandem-guide.js (overlay, prompts, agent actions) the first time the session needs it and
// hands it every guidance message in arrival order. Kept out of tandem-recorder.js: most sessions
// stay view-only and the recorder has a strict size budget.
import { loadChunk } from "./chunk.js";

export function createGuideLoader({ src, context, onError = () => {} }) {
  let loading = null;
  let destroyed = false;

  function load() {
    if (!loading) {
      loading = loadChunk(src, "TandemGuide").then(
        (guide) => guide.create(context()),
        (error) => {
          loading = null; // try again with the next message
          throw error;
        },
      );
    }
    return loading;
  }

  return {
    get started() {
      return loading !== null;
    },
    deliver(type, data) {
      // One promise for all messages: .then callbacks run in the order they were added.
      load().then((guide) => !destroyed && guide.handle(type, data), onError);
    },
    destroy() {
      destroyed = true;
      if (loading) loading.then((guide) => guide.destroy(), () => {});
    },
  };
}
